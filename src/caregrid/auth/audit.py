"""The append-only audit log: every write and every read of personal data, hash-chained.

A trigger refuses UPDATE and DELETE on the table; the chain catches what a privileged user does
around it: `verify` names the first row whose hash, link or sequence is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.models import AuditEntry, AuditHead
from caregrid.auth.roles import Principal

GENESIS = "0" * 64
# A list read names at most this many of the records it showed.
READS_NAMED = 200


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def entry_hash(entry: AuditEntry) -> str:
    payload = [
        entry.seq,
        _utc(entry.at).isoformat(timespec="microseconds"),
        entry.actor,
        entry.actor_id,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.purpose,
        entry.detail,
        entry.prev_hash,
    ]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(
    session: Session,
    principal: Principal,
    *,
    action: str,
    subject_type: str,
    subject_id: str | int | None,
    purpose: str,
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the action)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    entry = AuditEntry(
        seq=head.seq + 1,
        at=clock.now(),
        actor=principal.username,
        actor_id=principal.user_id,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        purpose=purpose,
        detail=detail,
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.add(entry)
    session.flush()
    return entry


def record_for(
    session: Session,
    principal: Principal,
    action: str,
    subject_id: str | int | None,
    *,
    purpose: str,
    subject_type: str = "resident",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """`record` as the domain services write it: one action on one subject, a resident unless
    `subject_type` says otherwise, under the domain's purpose."""
    return record(
        session,
        principal,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        purpose=purpose,
        detail=detail,
    )


def record_reads(
    session: Session, principal: Principal, subject_type: str, ids: Sequence[int], *, purpose: str
) -> AuditEntry | None:
    """One entry (`<subject_type>.list`) for records read together in a list, naming the first
    `READS_NAMED` of them; an empty list reads nothing and writes nothing."""
    if not ids:
        return None
    return record(
        session,
        principal,
        action=f"{subject_type}.list",
        subject_type=subject_type,
        subject_id=None,
        purpose=purpose,
        detail={f"{subject_type}s": list(ids[:READS_NAMED])},
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session) -> VerifyResult:
    """Recompute the chain from the first row; report the first row that does not fit."""
    expected_prev, expected_seq, rows = GENESIS, 1, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000):
        rows += 1
        if entry.seq != expected_seq:
            return VerifyResult(False, rows, expected_seq, f"row {expected_seq} is missing")
        if entry.prev_hash != expected_prev:
            return VerifyResult(False, rows, entry.seq, "link to the previous row is broken")
        if entry_hash(entry) != entry.hash:
            return VerifyResult(False, rows, entry.seq, "row content does not match its hash")
        expected_prev, expected_seq = entry.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != expected_seq - 1 or head.hash != expected_prev:
        last = head.seq if head is not None else None
        return VerifyResult(
            False,
            rows,
            expected_seq,
            f"chain ends at row {expected_seq - 1} but the head records row {last}",
        )
    return VerifyResult(True, rows)


def entries(session: Session, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return list(session.scalars(query))
