"""Audit log throughput: rows appended per second by concurrent writers, sealing and verifying.

On a scratch PostgreSQL database (caregrid_bench_audit, dropped and recreated each run):

1. Appending. For each number of writers in --writers (default 1, 8, 32), that many client
   processes each commit one audited action per transaction for --seconds, through
   `audit.record` as the services call it, while the background sealer of `caregrid serve`
   seals beside them. The floor, in the same run and from the same processes, commits the
   same row into a plain table of the same shape (no pending marker, no triggers, no sealer).
2. Sealing and verifying. --rows rows (default 1,000,000) are loaded with COPY, sealed into
   signed tree heads of the configured size, and `audit.verify` checks all of them, with the
   peak memory of this process.

    .venv/bin/python bench/audit.py [--writers 1,8,32] [--seconds 5] [--rows 1000000]

Ends with one JSON line: rows_per_s (audit and floor per number of writers), seal_rows_per_s,
verify_s_1m (seconds to verify the loaded rows, scaled to one million if --rows differs).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

DB_NAME = "caregrid_bench_audit"
PG = "postgresql://postgres@127.0.0.1:5432"
SA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
FLOOR_TABLE = """
CREATE TABLE audit_floor (
    seq serial PRIMARY KEY, at timestamptz NOT NULL, actor varchar(100) NOT NULL,
    actor_id integer, action varchar(60) NOT NULL, subject_type varchar(60) NOT NULL,
    subject_id varchar(100), purpose varchar(200) NOT NULL, detail json, hash varchar(64)
)
"""
FLOOR_INSERT = (
    "INSERT INTO audit_floor (at, actor, actor_id, action, subject_type, subject_id, purpose,"
    " detail, hash) VALUES (:at, :actor, :actor_id, :action, :subject_type, :subject_id,"
    " :purpose, CAST(:detail AS json), :hash) RETURNING seq"
)


def configure(workdir: str) -> None:
    """CAREGRID_* settings for this process and its writers (before any caregrid import)."""
    os.environ.update(
        {
            "CAREGRID_DATABASE_URL": SA_URL,
            "CAREGRID_ENVIRONMENT": "test",
            "CAREGRID_DATA_DIR": workdir,
        }
    )


def recreate_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    from sqlalchemy import text

    from caregrid.db.migrate import upgrade
    from caregrid.db.session import get_engine

    engine = get_engine()
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(FLOOR_TABLE))


def _writer(kind: str, seconds: float, sync: Any) -> None:
    """One client process: commit one audited row per transaction until the time is up."""
    from sqlalchemy import text

    from caregrid.auth import audit
    from caregrid.auth.roles import SYSTEM
    from caregrid.db.session import get_engine, session_scope

    ready, go, out = sync
    engine = get_engine()
    with engine.connect() as conn:  # open the connection before the clock starts
        conn.execute(text("SELECT 1"))
    ready.wait()
    go.wait()
    deadline = time.perf_counter() + seconds
    rows = 0
    pid = os.getpid()
    while time.perf_counter() < deadline:
        detail: dict[str, object] = {"slot": rows, "pool": "reserved", "writer": pid}
        if kind == "audit":
            with session_scope() as session:
                audit.record_for(session, SYSTEM, "booking.create", rows, purpose="booking",
                                 detail=detail)  # fmt: skip
        else:
            at = datetime.now(UTC)
            content = (at, "system", None, "booking.create", "resident", str(rows), "booking")
            with engine.begin() as conn:
                conn.execute(
                    text(FLOOR_INSERT),
                    {
                        "at": at, "actor": "system", "actor_id": None,
                        "action": "booking.create", "subject_type": "resident",
                        "subject_id": str(rows), "purpose": "booking",
                        "detail": json.dumps(detail), "hash": audit.row_hash(*content, detail),
                    },
                )  # fmt: skip
        rows += 1
    out.put(rows)


def race(kind: str, writers: int, seconds: float) -> float:
    """Rows committed per second by `writers` processes of one kind; the sealer runs beside
    the audit writers, as in `caregrid serve`."""
    from caregrid.auth.sealer import Sealer, seal_all
    from caregrid.config import get_settings

    settings = get_settings()
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Barrier(writers + 1), ctx.Barrier(writers + 1)
    out: Any = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(kind, seconds, (ready, go, out))) for _ in range(writers)
    ]
    for proc in procs:
        proc.start()
    ready.wait(timeout=120)
    sealer = None
    if kind == "audit":
        sealer = Sealer(
            settings.audit_key_bytes,
            rows=settings.audit_seal_rows,
            interval=settings.audit_seal_interval_ms / 1000,
            head_file=settings.effective_audit_head_file,
        )
        sealer.start()
    go.wait(timeout=120)
    started = time.perf_counter()
    total = sum(int(out.get(timeout=seconds + 120)) for _ in procs)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=30)
    if sealer is not None:
        sealer.stop()
        seal_all(settings.audit_key_bytes, rows=settings.audit_seal_rows, head_file=None)
    return total / elapsed


def load(rows: int) -> float:
    """COPY `rows` audit rows, each waiting for the sealer, after those already there;
    returns the seconds taken (hashing included)."""
    from caregrid.auth import audit

    started = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        first = conn.execute("SELECT nextval('audit_log_seq_seq')").fetchone()
        assert first is not None
        start = int(first[0]) + 1
        conn.execute(f"SELECT setval('audit_log_seq_seq', {start + rows})")
        with conn.cursor().copy(
            "COPY audit_log (seq, at, actor, actor_id, action, subject_type, subject_id, "
            "purpose, detail, hash) FROM STDIN"
        ) as copy:
            for i in range(rows):
                at = base + timedelta(milliseconds=i)
                detail: dict[str, object] = {"slot": i, "pool": "reserved"}
                digest = audit.row_hash(
                    at, "bench", None, "booking.create", "resident", str(i), "booking", detail
                )
                copy.write_row(
                    (start + i, at, "bench", None, "booking.create", "resident", str(i),
                     "booking", json.dumps(detail), digest)
                )  # fmt: skip
        with conn.cursor().copy("COPY audit_pending (seq) FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((start + i,))
        conn.execute("ANALYZE audit_log")
        conn.execute("ANALYZE audit_pending")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--writers", default="1,8,32", help="numbers of concurrent writers")
    parser.add_argument("--seconds", type=float, default=5.0, help="per race")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to seal and verify")
    args = parser.parse_args()
    counts = [int(n) for n in args.writers.split(",") if n.strip()]
    if not counts or min(counts) < 1 or args.rows < 1 or args.seconds <= 0:
        parser.error("--writers, --seconds and --rows must be positive")

    workdir = tempfile.mkdtemp(prefix="caregrid-bench-audit-")
    configure(workdir)
    recreate_database()
    from caregrid.auth import audit
    from caregrid.auth.sealer import seal_all
    from caregrid.config import get_settings
    from caregrid.db.session import session_scope

    settings = get_settings()
    with psycopg.connect(f"{PG}/postgres") as conn:
        version = conn.execute("SHOW server_version").fetchone()
    print(
        f"PostgreSQL {version[0] if version else '?'} on 127.0.0.1, {os.cpu_count()} CPUs; "
        f"one row per transaction, {args.seconds:g} s per race; sealer every "
        f"{settings.audit_seal_interval_ms} ms, up to {settings.audit_seal_rows} rows a head"
    )
    rates: dict[str, dict[str, float]] = {}
    for writers in counts:
        floor = race("floor", writers, args.seconds)
        sealed = race("audit", writers, args.seconds)
        rates[str(writers)] = {"audit": round(sealed, 1), "floor": round(floor, 1)}
        print(
            f"{writers:>3} writers: audit.record {sealed:8.1f} rows/s, plain insert (floor) "
            f"{floor:8.1f} rows/s, ratio {sealed / floor:.2f}"
        )
    with session_scope() as session:
        appended = audit.verify(session, settings.audit_key_bytes)
    print(
        f"after the races: {appended.rows} rows, {appended.sealed} sealed, intact {appended.ok}"
        + ("" if appended.ok else f" ({appended.reason})")
    )

    load_s = load(args.rows)
    print(f"loaded {args.rows} rows with COPY in {load_s:.1f} s")
    started = time.perf_counter()
    seal_all(settings.audit_key_bytes, rows=settings.audit_seal_rows, head_file=None)
    seal_s = time.perf_counter() - started
    seal_rate = args.rows / seal_s
    print(
        f"sealed {args.rows} rows in {seal_s:.1f} s ({seal_rate:.0f} rows/s, "
        f"{-(-args.rows // settings.audit_seal_rows)} signed heads)"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with session_scope() as session:
        result = audit.verify(session, settings.audit_key_bytes)
    verify_s = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"verified {result.rows} rows ({result.sealed} sealed) in {verify_s:.1f} s: intact "
        f"{result.ok}{'' if result.ok else f' ({result.reason})'}; peak RSS {rss_before // 1024}"
        f" MiB before, {rss_after // 1024} MiB after"
    )
    print(
        json.dumps(
            {
                "rows_per_s": rates,
                "seal_rows_per_s": round(seal_rate),
                "verify_s_1m": round(verify_s * 1_000_000 / result.rows, 2),
                "verified_rows": result.rows,
                "intact": result.ok and appended.ok,
                "peak_rss_mib": rss_after // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
