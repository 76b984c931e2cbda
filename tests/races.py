"""Racing clients for the concurrency tests on SQLite and PostgreSQL.

Each client is its own thread, connection and unit of work (`session_scope`), as concurrent
requests are, so what they race over is committed (the `committed_world` fixture) and removed
afterwards. Every loser must get `Conflict`, never a driver error.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC
from typing import Any, TypeVar

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.sealer import seal_all
from caregrid.config import get_settings
from caregrid.db.session import session_scope
from caregrid.errors import Conflict
from tests.world import NOW

T = TypeVar("T")

RACE_SECONDS = 30.0  # bound on a whole race; a race takes well under a second

# The clock is pinned to tests.world.NOW given in UTC, as `clock.now()` is in production: the
# rows written here are committed, and audit_log.at keeps no offset on SQLite, so a +08:00
# "now" would read back eight hours off and the audit chain would no longer verify.
UTC_NOW = NOW.astimezone(UTC)


def race(attempts: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Run each attempt in its own thread, all released together by a barrier; what each
    returned or raised, in the order of `attempts`. Fails if a client is still running after
    RACE_SECONDS."""
    barrier = threading.Barrier(len(attempts))
    results: dict[int, T | BaseException] = {}
    lock = threading.Lock()

    def client(index: int, attempt: Callable[[], T]) -> None:
        outcome: T | BaseException
        try:
            barrier.wait(timeout=RACE_SECONDS)
            outcome = attempt()
        except BaseException as exc:  # reported to the test, which names it
            outcome = exc
        with lock:
            results[index] = outcome

    threads = [
        threading.Thread(target=client, args=(i, a), name=f"client-{i}", daemon=True)
        for i, a in enumerate(attempts)
    ]
    deadline = time.monotonic() + RACE_SECONDS
    with clock.frozen(UTC_NOW):  # process-wide: the clients' threads see the same "now"
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"still running after {RACE_SECONDS}s: {stuck}"
    return [results[i] for i in range(len(attempts))]


def winners(results: Sequence[T | BaseException]) -> list[T]:
    return [r for r in results if not isinstance(r, BaseException)]


def assert_all_conflicts(results: Sequence[object], expected: int) -> None:
    """Exactly `expected` attempts failed, each with Conflict (nothing else may leak)."""
    failures = [r for r in results if isinstance(r, BaseException)]
    others = [f"{type(e).__module__}.{type(e).__name__}: {e}" for e in failures]
    assert all(isinstance(e, Conflict) for e in failures), others
    assert len(failures) == expected, others


def assert_audit_chain_intact() -> None:
    """Concurrent writers append to the audit log; sealed, it must still verify."""
    key = get_settings().audit_key_bytes
    seal_all(key, rows=get_settings().audit_seal_rows, head_file=None)
    with session_scope() as session:
        result = audit.verify(session, key)
    assert result.ok, result


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion in a fresh event loop on its own thread: Playwright's sync
    API (the browser tests) leaves a loop running on the main thread, where asyncio.run fails."""
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(asyncio.run(make()))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="event-loop", daemon=True)
    thread.start()
    thread.join(timeout=RACE_SECONDS)
    assert not thread.is_alive(), f"still running after {RACE_SECONDS}s"
    if errors:
        raise errors[0]
    return box[0]
