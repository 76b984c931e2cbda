"""The audit chain: appends link up; any altered, removed or re-ordered row is found."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from caregrid.auth import audit
from caregrid.auth.models import AuditEntry, AuditHead
from caregrid.auth.roles import SYSTEM


def _append(session: Session, n: int) -> list[int]:
    return [
        audit.record(
            session,
            SYSTEM,
            action="test.write",
            subject_type="thing",
            subject_id=i,
            purpose="testing",
            detail={"n": i, "名": "值"},
        ).seq
        for i in range(n)
    ]


def _disable_guard(session: Session) -> None:
    """What a privileged user could do: drop the append-only guard (rolled back afterwards)."""
    if session.bind is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
        session.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_chain_verifies(session: Session) -> None:
    _append(session, 5)
    result = audit.verify(session)
    assert result.ok and result.rows >= 5


def test_database_refuses_update_and_delete(session: Session) -> None:
    seq = _append(session, 1)[0]
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE audit_log SET purpose = 'x' WHERE seq = :s"), {"s": seq})
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})


def test_altered_row_is_named(session: Session) -> None:
    seqs = _append(session, 4)
    _disable_guard(session)
    session.execute(
        text("UPDATE audit_log SET purpose = 'cover-up' WHERE seq = :s"), {"s": seqs[1]}
    )
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok and result.bad_seq == seqs[1]
    assert result.reason == "row content does not match its hash"


def test_removed_row_is_named(session: Session) -> None:
    seqs = _append(session, 4)
    _disable_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[2]})
    result = audit.verify(session)
    assert not result.ok and result.bad_seq == seqs[2] and "missing" in (result.reason or "")


def test_removed_newest_row_is_caught_by_the_head(session: Session) -> None:
    seqs = _append(session, 3)
    _disable_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[-1]})
    result = audit.verify(session)
    assert not result.ok and result.bad_seq == seqs[-1]


def test_rehashed_row_breaks_the_next_link(session: Session) -> None:
    """Rewriting a row and its own hash still breaks the link held by the row after it."""
    seqs = _append(session, 3)
    _disable_guard(session)
    row = session.get(AuditEntry, seqs[0])
    assert row is not None
    row.purpose = "forged"
    row.hash = audit.entry_hash(row)
    session.flush()
    result = audit.verify(session)
    assert not result.ok and result.bad_seq == seqs[1]
    assert result.reason == "link to the previous row is broken"


def test_a_domain_write_is_about_a_resident_unless_said_otherwise(session: Session) -> None:
    about_resident = audit.record_for(
        session, SYSTEM, "test.write", 7, purpose="testing", detail={"n": 1}
    )
    about_team = audit.record_for(
        session, SYSTEM, "test.write", 8, purpose="testing", subject_type="team"
    )
    assert (about_resident.subject_type, about_resident.subject_id) == ("resident", "7")
    assert about_resident.detail == {"n": 1} and about_resident.purpose == "testing"
    assert (about_team.subject_type, about_team.subject_id, about_team.detail) == (
        "team",
        "8",
        None,
    )


def test_a_list_read_names_its_first_records_and_an_empty_one_writes_nothing(
    session: Session,
) -> None:
    head = session.get(AuditHead, 1)
    assert head is not None
    before = head.seq
    assert audit.record_reads(session, SYSTEM, "referral", [], purpose="testing") is None
    assert head.seq == before
    ids = list(range(audit.READS_NAMED + 1))
    entry = audit.record_reads(session, SYSTEM, "referral", ids, purpose="testing")
    assert entry is not None
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "referral.list",
        "referral",
        None,
    )
    assert entry.detail == {"referrals": ids[: audit.READS_NAMED]}
