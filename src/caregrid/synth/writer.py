"""Writes the synthetic city's Parquet parts on worker threads while the next chunk is drawn
(Arrow releases the GIL), with a short queue so memory stays bounded at any city size."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from caregrid.activity.facts import FACTS, fact
from caregrid.activity.parquet import write_month
from caregrid.synth.draws import CHUNK, Array

QUEUED_ROWS = 3 * CHUNK  # rows drawn and waiting for a writer thread at most
PART = "synth"  # our files are part-synth-*.parquet: a new run replaces only them


class Writer:
    """Writes each part on a worker thread while the next is drawn; a short queue bounds the
    tables waiting in memory. Counts rows per fact; refuses to write one part twice."""

    def __init__(self, root: Path, threads: int) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="synth-write")
        self.waiting: deque[tuple[Future[Path], int]] = deque()
        self.queued = 0  # rows waiting to be written
        self.rows: dict[str, int] = {f.name: 0 for f in FACTS}
        self.parts: set[tuple[str, str, str]] = set()

    def put(self, fact_name: str, month: str, data: pa.Table, part: str) -> None:
        key = (fact_name, month, part)
        if key in self.parts:
            raise RuntimeError(f"part {key} written twice")
        self.parts.add(key)
        self.rows[fact_name] += data.num_rows
        future = self.pool.submit(
            write_month, self.root, fact(fact_name), month, data, f"{PART}-{part}"
        )
        self.waiting.append((future, data.num_rows))
        self.queued += data.num_rows
        while self.queued > QUEUED_ROWS:
            done, rows = self.waiting.popleft()
            done.result()
            self.queued -= rows

    def chunks(
        self, fact_name: str, month: str, rows: Array, make: Callable[[Array], pa.Table]
    ) -> None:
        """Write the rows `rows` of a month as parts of at most CHUNK rows."""
        for c, start in enumerate(range(0, len(rows), CHUNK)):
            self.put(fact_name, month, make(rows[start : start + CHUNK]), str(c))

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                while self.waiting:
                    self.waiting.popleft()[0].result()
            else:
                for future, _ in self.waiting:
                    future.cancel()
        finally:
            self.pool.shutdown(wait=True)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def remove_previous(root: Path) -> None:
    """Our parts from an earlier run, so months and parts it no longer writes do not linger;
    files written by anything else are left alone."""
    for f in FACTS:
        folder = root / f.name
        if not folder.is_dir():
            continue
        for path in folder.glob(f"month=*/part-{PART}-*.parquet"):
            path.unlink()
        for month in folder.glob("month=*"):
            if month.is_dir() and not any(month.iterdir()):
                month.rmdir()
