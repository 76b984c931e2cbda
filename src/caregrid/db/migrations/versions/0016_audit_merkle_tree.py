"""audit log sealed into a Merkle tree: rows keep their own hash, leaves and signed tree heads

The hash chain (each row linking to the one before, one head row that every writer locked) is
checked once more and then replaced: each row's hash now covers its own content only, every
existing row waits for the sealer (which holds the audit key; a migration has none), and the
head row goes. A broken chain stops the migration, since rewriting it would destroy the
evidence.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 21:40:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from caregrid.db.types import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CONTENT = (
    "at",
    "actor",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "purpose",
    "detail",
)
GENESIS = "0" * 64
APPEND_ONLY = ("audit_log", "audit_leaf", "audit_tree_head")
BATCH = 5000


def _columns(*, chained: bool) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=not chained),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=60), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
    ]
    if chained:
        columns.append(sa.Column("prev_hash", sa.String(length=64), nullable=False))
    columns.append(sa.Column("hash", sa.String(length=64), nullable=False))
    return columns


def _log_table(name: str, *, chained: bool) -> sa.Table:
    return sa.Table(name, sa.MetaData(), *_columns(chained=chained), sa.PrimaryKeyConstraint("seq"))


def _create_log(*, chained: bool) -> None:
    op.create_table(
        "audit_log",
        *_columns(chained=chained),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )


def _iso(at: datetime) -> str:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def _digest(payload: list[Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _content(row: Any) -> list[Any]:
    return [_iso(row.at), *(getattr(row, c) for c in CONTENT[1:])]


def _chained_hash(row: Any, prev: str) -> str:
    """The hash of revision 0001: seq, content and the previous row's hash."""
    return _digest([row.seq, *_content(row), prev])


def _rows(table: sa.Table) -> Iterator[Any]:
    result = op.get_bind().execute(sa.select(table).order_by(table.c.seq))
    while batch := result.fetchmany(BATCH):
        yield from batch


def _drop_guards(tables: tuple[str, ...], function: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if postgres:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")


def _guard(tables: tuple[str, ...]) -> None:
    """Refuse UPDATE and DELETE on each table, and TRUNCATE on PostgreSQL (a statement-level
    trigger; SQLite has no TRUNCATE, and its DELETE without WHERE fires the row trigger)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION caregrid_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql""")
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION caregrid_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION caregrid_append_only()"
            )
        return
    for table in tables:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _check_chain(old: sa.Table) -> None:
    prev, expected = GENESIS, 1
    for row in _rows(old):
        if row.seq != expected or row.prev_hash != prev or _chained_hash(row, prev) != row.hash:
            raise RuntimeError(
                f"the audit chain is broken at row {expected}: investigate before migrating, "
                "rewriting the log now would destroy the evidence"
            )
        prev, expected = row.hash, expected + 1
    head = op.get_bind().execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
    if (head.seq, head.hash) != (expected - 1, prev):
        raise RuntimeError(
            f"the audit chain ends at row {expected - 1} but its head says {head.seq}"
        )


def _copy(source: sa.Table, target: sa.Table, make: Any) -> None:
    batch: list[dict[str, Any]] = []
    for row in _rows(source):
        batch.append(make(row))
        if len(batch) == BATCH:
            op.get_bind().execute(sa.insert(target), batch)
            batch = []
    if batch:
        op.get_bind().execute(sa.insert(target), batch)


def _restart_sequence() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), "
            "COALESCE((SELECT max(seq) FROM audit_log), 0) + 1, false)"
        )


def upgrade() -> None:
    old = _log_table("audit_log", chained=True)
    _check_chain(old)
    _drop_guards(("audit_log",), "audit_log_append_only")
    op.rename_table("audit_log", "audit_log_chained")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE audit_log_chained RENAME CONSTRAINT pk_audit_log TO pk_audit_chained"
        )
    _create_log(chained=False)
    op.create_table(
        "audit_pending",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_pending")),
    )
    op.create_table(
        "audit_leaf",
        sa.Column("leaf", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("leaf", name=op.f("pk_audit_leaf")),
        sa.UniqueConstraint("entry_seq", name=op.f("uq_audit_leaf_entry_seq")),
    )
    op.create_table(
        "audit_tree_head",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_tree_head")),
    )
    _copy(
        _log_table("audit_log_chained", chained=True),
        _log_table("audit_log", chained=False),
        lambda row: {
            "seq": row.seq,
            **{c: getattr(row, c) for c in CONTENT},
            "hash": _digest(_content(row)),
        },
    )
    op.execute("INSERT INTO audit_pending (seq) SELECT seq FROM audit_log")
    _restart_sequence()
    op.drop_table("audit_log_chained")
    op.drop_table("audit_head")
    _guard(APPEND_ONLY)


def downgrade() -> None:
    """Back to one chain over the rows in seq order. Rows lost to rolled-back writes leave gaps
    that the old verifier reports as missing rows."""
    _drop_guards(APPEND_ONLY, "caregrid_append_only")
    op.drop_table("audit_tree_head")
    op.drop_table("audit_leaf")
    op.drop_table("audit_pending")
    op.rename_table("audit_log", "audit_log_sealed")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log_sealed RENAME CONSTRAINT pk_audit_log TO pk_audit_sealed")
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    _create_log(chained=True)
    link: dict[str, Any] = {"prev": GENESIS, "seq": 0}

    def rechain(row: Any) -> dict[str, Any]:
        digest = _chained_hash(row, link["prev"])
        values = {"seq": row.seq, **{c: getattr(row, c) for c in CONTENT}}
        values.update(prev_hash=link["prev"], hash=digest)
        link.update(prev=digest, seq=row.seq)
        return values

    _copy(
        _log_table("audit_log_sealed", chained=False),
        _log_table("audit_log", chained=True),
        rechain,
    )
    op.get_bind().execute(
        sa.text("INSERT INTO audit_head (id, seq, hash, note) VALUES (1, :s, :h, 'genesis')"),
        {"s": link["seq"], "h": link["prev"]},
    )
    op.drop_table("audit_log_sealed")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql""")
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
