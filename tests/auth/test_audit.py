"""The audit log sealed into a Merkle tree: sealed rows verify against signed tree heads, and
every kind of tampering (alter, remove, insert, reorder, truncate the tail, forge a head,
restore an older database) is named by the verifier."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from caregrid.auth import audit
from caregrid.auth.models import AuditEntry
from caregrid.auth.roles import SYSTEM
from caregrid.config import get_settings

# The deployment's key: tests that commit for real (the concurrency races) leave heads sealed
# with it, and the log is one log, so these tests must verify with the same key.
KEY = get_settings().audit_key_bytes


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


def _sealed(session: Session, n: int, *, rows: int = 1000) -> list[int]:
    """n new rows, sealed with everything else waiting (a head every `rows` rows)."""
    seqs = _append(session, n)
    while audit.seal(session, KEY, rows=rows) is not None:
        pass
    return seqs


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _unguard(session: Session, *tables: str) -> None:
    """What a privileged user could do: drop the append-only guards (rolled back afterwards)."""
    for table in tables:
        if _postgres(session):
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_change"))
        else:
            session.execute(text(f"DROP TRIGGER {table}_no_update"))
            session.execute(text(f"DROP TRIGGER {table}_no_delete"))


def _leaf_of(session: Session, seq: int) -> int:
    leaf = session.scalar(text("SELECT leaf FROM audit_leaf WHERE entry_seq = :s"), {"s": seq})
    assert isinstance(leaf, int)
    return leaf


def test_sealed_rows_verify_and_waiting_rows_are_counted(session: Session) -> None:
    _sealed(session, 5, rows=2)
    waiting = _append(session, 3)
    result = audit.verify(session, KEY)
    assert result.ok, result
    assert result.unsealed == 3 and result.sealed >= 5
    assert result.rows == result.sealed + result.unsealed
    assert all(_has_no_leaf(session, seq) for seq in waiting)


def _has_no_leaf(session: Session, seq: int) -> bool:
    found = session.scalar(text("SELECT count(*) FROM audit_leaf WHERE entry_seq = :s"), {"s": seq})
    return int(found) == 0


def test_a_head_covers_at_most_the_batch_and_heads_chain_up(session: Session) -> None:
    before = audit.latest_head(session)
    start = 0 if before is None else before.size
    waiting = session.scalar(text("SELECT count(*) FROM audit_pending")) or 0
    _append(session, 5)
    first = audit.seal(session, KEY, rows=waiting + 2)
    second = audit.seal(session, KEY, rows=2)
    third = audit.seal(session, KEY, rows=2)
    assert first is not None and second is not None and third is not None
    assert (first.size, second.size, third.size) == (
        start + waiting + 2,
        start + waiting + 4,
        start + waiting + 5,
    )
    assert audit.seal(session, KEY, rows=2) is None
    assert audit.latest_head(session) == third
    assert audit.signed_correctly(third, KEY) and not audit.signed_correctly(third, b"other")


def test_a_rolled_back_write_leaves_a_gap_that_is_no_fault(session: Session) -> None:
    first = _append(session, 1)[0]
    with session.begin_nested() as savepoint:
        _append(session, 1)
        savepoint.rollback()
    after = _append(session, 1)[0]
    assert after > first + 1 or session.get_bind().dialect.name == "sqlite"
    _sealed(session, 0)
    assert audit.verify(session, KEY).ok


def test_the_database_refuses_update_delete_and_truncate(session: Session) -> None:
    seq = _sealed(session, 1)[0]
    for statement in (
        "UPDATE audit_log SET purpose = 'x' WHERE seq = :s",
        "DELETE FROM audit_log WHERE seq = :s",
        "UPDATE audit_leaf SET hash = 'x' WHERE entry_seq = :s",
        "DELETE FROM audit_leaf WHERE entry_seq = :s",
        "DELETE FROM audit_tree_head WHERE size >= :s - :s",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement), {"s": seq})
    if _postgres(session):
        for table in ("audit_log", "audit_leaf", "audit_tree_head"):
            with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
                session.execute(text(f"TRUNCATE {table} CASCADE"))


def test_an_altered_row_is_named(session: Session) -> None:
    seqs = _sealed(session, 4)
    _unguard(session, "audit_log")
    session.execute(
        text("UPDATE audit_log SET purpose = 'cover-up' WHERE seq = :s"), {"s": seqs[1]}
    )
    result = audit.verify(session, KEY)
    assert not result.ok and result.bad_seq == seqs[1]
    assert result.reason == "row content does not match its hash"


def test_an_altered_row_with_its_hash_recomputed_is_named_by_its_leaf(session: Session) -> None:
    seqs = _sealed(session, 3)
    _unguard(session, "audit_log")
    row = session.get(AuditEntry, seqs[0])
    assert row is not None
    row.purpose = "forged"
    row.hash = audit.entry_hash(row)
    session.flush()
    result = audit.verify(session, KEY)
    assert not result.ok and result.bad_seq == seqs[0]
    assert (
        result.reason == f"row {seqs[0]} does not match leaf {_leaf_of(session, seqs[0])} as sealed"
    )


def test_a_rewritten_leaf_breaks_the_signed_root(session: Session) -> None:
    """Rewriting the row, its hash and its leaf hash leaves only the signed root to catch it."""
    seqs = _sealed(session, 3)
    _unguard(session, "audit_log", "audit_leaf")
    row = session.get(AuditEntry, seqs[1])
    assert row is not None
    row.purpose = "forged"
    row.hash = audit.entry_hash(row)
    session.flush()
    forged = audit.leaf_hash(row.seq, row.hash).hex()
    session.execute(
        text("UPDATE audit_leaf SET hash = :h WHERE entry_seq = :s"), {"h": forged, "s": row.seq}
    )
    result = audit.verify(session, KEY)
    assert not result.ok and result.bad_seq is None
    assert "does not match the sealed rows" in (result.reason or "")


def test_a_removed_row_is_named(session: Session) -> None:
    seqs = _sealed(session, 4)
    _unguard(session, "audit_log")
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[2]})
    result = audit.verify(session, KEY)
    assert not result.ok and result.bad_seq == seqs[2]
    assert (
        result.reason == f"row {seqs[2]}, sealed at leaf {_leaf_of(session, seqs[2])}, is missing"
    )


def test_a_removed_row_with_its_leaf_is_a_missing_leaf(session: Session) -> None:
    seqs = _sealed(session, 4)
    leaf = _leaf_of(session, seqs[1])
    _unguard(session, "audit_log", "audit_leaf")
    session.execute(text("DELETE FROM audit_leaf WHERE entry_seq = :s"), {"s": seqs[1]})
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[1]})
    result = audit.verify(session, KEY)
    assert not result.ok and result.reason == f"leaf {leaf} is missing"


def test_a_row_inserted_outside_caregrid_is_named(session: Session) -> None:
    _sealed(session, 2)
    at = "2026-01-01 00:00:00+00:00"
    session.execute(
        text(
            "INSERT INTO audit_log (at, actor, action, subject_type, purpose, hash) "
            "VALUES (:at, 'ghost', 'x', 'y', 'z', :h)"
        ),
        {"at": at, "h": "0" * 64},
    )
    ghost = session.scalar(select(func.max(AuditEntry.seq)))
    result = audit.verify(session, KEY)
    assert not result.ok and result.bad_seq == ghost
    assert "neither sealed nor waiting" in (result.reason or "")


def test_a_leaf_slipped_into_the_tree_breaks_the_root(session: Session) -> None:
    _sealed(session, 2)
    size = session.scalar(text("SELECT max(leaf) + 1 FROM audit_leaf"))
    seq = _append(session, 1)[0]
    session.execute(text("DELETE FROM audit_pending WHERE seq = :s"), {"s": seq})
    row = session.get(AuditEntry, seq)
    assert row is not None
    session.execute(
        text("INSERT INTO audit_leaf (leaf, entry_seq, hash) VALUES (:l, :s, :h)"),
        {"l": size, "s": seq, "h": audit.leaf_hash(seq, row.hash).hex()},
    )
    result = audit.verify(session, KEY)
    assert not result.ok and "not under a signed head" in (result.reason or "")


def test_reordered_rows_are_caught(session: Session) -> None:
    """Swapping two sealed rows' contents, hashes included, moves them off their leaves."""
    a, b = _sealed(session, 2)
    _unguard(session, "audit_log")
    session.execute(
        text("UPDATE audit_log SET seq = CASE seq WHEN :a THEN -1 ELSE seq END WHERE seq = :a"),
        {"a": a},
    )
    session.execute(text("UPDATE audit_log SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    session.execute(text("UPDATE audit_log SET seq = :b WHERE seq = -1"), {"b": b})
    result = audit.verify(session, KEY)
    assert not result.ok and result.bad_seq == a
    assert result.reason == f"row {a} does not match leaf {_leaf_of(session, a)} as sealed"


def test_reordered_leaves_break_the_root(session: Session) -> None:
    a, b = _sealed(session, 2)
    la, lb = _leaf_of(session, a), _leaf_of(session, b)
    _unguard(session, "audit_leaf")
    session.execute(text("UPDATE audit_leaf SET leaf = -1 WHERE leaf = :la"), {"la": la})
    session.execute(text("UPDATE audit_leaf SET leaf = :la WHERE leaf = :lb"), {"la": la, "lb": lb})
    session.execute(text("UPDATE audit_leaf SET leaf = :lb WHERE leaf = -1"), {"lb": lb})
    result = audit.verify(session, KEY)
    assert not result.ok and "does not match the sealed rows" in (result.reason or "")


def test_a_cut_tail_is_caught_by_its_head_or_by_the_exported_head(session: Session) -> None:
    _sealed(session, 3, rows=1)
    exported = audit.latest_head(session)
    assert exported is not None
    seqs = _sealed(session, 2, rows=1)
    assert audit.verify(session, KEY, anchor=exported).ok
    _unguard(session, "audit_log", "audit_leaf", "audit_tree_head")
    session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[-1]})
    session.execute(text("DELETE FROM audit_leaf WHERE entry_seq = :s"), {"s": seqs[-1]})
    cut = audit.verify(session, KEY)
    assert not cut.ok and "covers rows beyond the last leaf" in (cut.reason or "")
    # Cutting the heads too leaves a consistent shorter log: only a head kept outside shows it.
    session.execute(text("DELETE FROM audit_tree_head WHERE size > :s"), {"s": exported.size})
    for seq in seqs:
        session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
        session.execute(text("DELETE FROM audit_leaf WHERE entry_seq = :s"), {"s": seq})
    assert audit.verify(session, KEY).ok
    later = audit.SignedHead.from_json(exported.to_json())
    assert audit.verify(session, KEY, anchor=later).ok
    session.execute(text("DELETE FROM audit_tree_head WHERE size = :s"), {"s": exported.size})
    session.execute(text("DELETE FROM audit_leaf WHERE leaf = :l"), {"l": exported.size - 1})
    rolled_back = audit.verify(session, KEY, anchor=exported)
    assert not rolled_back.ok
    assert "restored to an older state" in (rolled_back.reason or "")


def test_a_forged_head_or_another_key_fails(session: Session) -> None:
    _sealed(session, 2)
    assert not audit.verify(session, b"someone else's key").ok
    head = audit.latest_head(session)
    assert head is not None
    _unguard(session, "audit_tree_head")
    forged_root = hashlib.sha256(b"forged").hexdigest()
    session.execute(
        text("UPDATE audit_tree_head SET root = :r WHERE size = :s"),
        {"r": forged_root, "s": head.size},
    )
    result = audit.verify(session, KEY)
    assert not result.ok
    assert result.reason == f"the tree head at size {head.size} is not signed with this audit key"


def test_an_exported_head_from_another_log_is_refused(session: Session) -> None:
    _sealed(session, 2)
    head = audit.latest_head(session)
    assert head is not None
    other = audit.SignedHead(head.size, "ab" * 32, head.sealed_at, head.key_id, head.signature)
    result = audit.verify(session, KEY, anchor=other)
    assert not result.ok and "not signed" in (result.reason or "")


@pytest.mark.parametrize(
    ("text_", "reason"),
    [
        ("not json", "is not JSON"),
        ("[1]", "must be a JSON object"),
        ('{"size": 1}', "lacks root"),
        ('{"size": "x", "root": "", "sealed_at": "", "key_id": "", "signature": ""}', "malformed"),
    ],
)
def test_a_malformed_exported_head_names_what_is_wrong(text_: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        audit.SignedHead.from_json(text_)


def test_each_sealed_row_has_an_inclusion_proof_that_fails_when_altered(session: Session) -> None:
    seqs = _sealed(session, 11, rows=4)
    for seq in seqs:
        proof = audit.inclusion_proof(session, seq)
        assert proof.holds()
        assert proof.leaf == _leaf_of(session, seq)
    proof = audit.inclusion_proof(session, seqs[3])
    if proof.path:
        bent = [*proof.path[:-1], "00" * 32]
        assert not audit.Proof(proof.seq, proof.leaf, proof.leaf_hash, proof.head, bent).holds()
    other = audit.Proof(proof.seq, proof.leaf + 1, proof.leaf_hash, proof.head, proof.path)
    assert not other.holds()
    waiting = _append(session, 1)[0]
    with pytest.raises(LookupError, match=f"row {waiting} is not sealed yet"):
        audit.inclusion_proof(session, waiting)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_the_tree_hash_is_rfc_9162(n: int) -> None:
    """The right-edge root equals the recursive definition (MTH) for every shape of tree."""
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(n)]
    frontier: list[bytes] = []
    for size, leaf in enumerate(leaves):
        audit._push(frontier, size, leaf)
    assert audit._root(frontier) == audit._mth(leaves)


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
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    assert audit.record_reads(session, SYSTEM, "referral", [], purpose="testing") is None
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    ids = list(range(audit.READS_NAMED + 1))
    entry = audit.record_reads(session, SYSTEM, "referral", ids, purpose="testing")
    assert entry is not None
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "referral.list",
        "referral",
        None,
    )
    assert entry.detail == {"referrals": ids[: audit.READS_NAMED]}
