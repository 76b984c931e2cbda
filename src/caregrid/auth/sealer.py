"""The background sealer `caregrid serve` runs: every interval it seals what waits, in its own
transactions, and exports each new signed head to a file and the log."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from sqlalchemy.orm import Session

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


def verify_with_export(session: Session, key: bytes, head_file: Path) -> audit.VerifyResult:
    """`audit.verify` anchored on the head exported to `head_file` when there is one, as the
    page and the API run it; an unreadable export is itself a fault."""
    anchor = None
    if head_file.is_file():
        try:
            anchor = audit.SignedHead.from_json(head_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            rows = audit.verify(session, key).rows
            return audit.VerifyResult(ok=False, rows=rows, reason=f"exported head: {exc}")
    return audit.verify(session, key, anchor=anchor)


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
