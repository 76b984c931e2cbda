"""The background sealer `caregrid serve` runs: every interval it seals what waits, in its own
transactions, and exports each new signed head to a file and the log."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from caregrid.auth import audit
from caregrid.db.session import session_scope

log = logging.getLogger(__name__)


def seal_all(key: bytes, *, rows: int, head_file: Path | None) -> audit.SignedHead | None:
    """Seal every pending row, `rows` to a head; export the last head; None if none waited."""
    latest = None
    while True:
        with session_scope() as session:
            head = audit.seal(session, key, rows=rows)
        if head is None:
            break
        latest = head
        log.info("audit tree head %s", head.to_json())
    if latest is not None and head_file is not None:
        export(latest, head_file)
    return latest


def export(head: audit.SignedHead, path: Path) -> None:
    """Write the head beside the database, replacing the previous one in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(head.to_json() + "\n", encoding="utf-8")
    os.replace(partial, path)


class Sealer(threading.Thread):
    """Seals every `interval` seconds until stopped; a failed round is logged and retried."""

    def __init__(self, key: bytes, *, rows: int, interval: float, head_file: Path | None) -> None:
        super().__init__(name="audit-sealer", daemon=True)
        self._key, self._rows, self._interval, self._head_file = key, rows, interval, head_file
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                seal_all(self._key, rows=self._rows, head_file=self._head_file)
            except Exception:  # the next round tries again; writers are never held up
                log.exception("audit sealing failed")

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)
