"""The append-only audit log: every write and every read of personal data, sealed into a
Merkle tree in the manner of Certificate Transparency (RFC 9162).

A writer appends its row and a pending marker in its own transaction and shares no row with
other writers, so audits do not queue behind one another. The sealer, outside the writers'
transactions, gives pending rows their leaves and writes a tree head signed with the audit key,
which is kept outside the database. Triggers refuse UPDATE, DELETE (and TRUNCATE on
PostgreSQL) on the rows, leaves and heads; `verify` catches what a privileged user does around
them: an altered, removed, inserted or reordered row, a removed tail, a forged head. What it
cannot see is in docs/access.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, exists, func, insert, select, text
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.models import AuditEntry, AuditLeaf, AuditPending, AuditTreeHead
from caregrid.auth.roles import Principal

# A list read names at most this many of the records it showed.
READS_NAMED = 200
# The sealers of several processes take turns on this PostgreSQL advisory lock.
SEALER_LOCK = 0x63617265  # "care"
SIGNED = "caregrid-audit-tree-head-v1"
log = logging.getLogger(__name__)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def row_hash(
    at: datetime,
    actor: str,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str | None,
    purpose: str,
    detail: dict[str, object] | None,
) -> str:
    """SHA-256 of a row's content (its seq aside: the leaf binds the row to its place)."""
    payload = [
        _utc(at).isoformat(timespec="microseconds"),
        actor,
        actor_id,
        action,
        subject_type,
        subject_id,
        purpose,
        detail,
    ]
    text_ = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    return row_hash(
        entry.at,
        entry.actor,
        entry.actor_id,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.purpose,
        entry.detail,
    )


def leaf_hash(seq: int, content_hash: str) -> bytes:
    """RFC 9162 leaf hash, HASH(0x00 || entry), of the row's seq and content hash."""
    return hashlib.sha256(b"\x00" + f"{seq}:{content_hash}".encode("ascii")).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _push(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Add leaf number `size` to the tree's right edge (one perfect subtree per bit of size)."""
    frontier.append(leaf)
    while size & 1:
        right = frontier.pop()
        frontier.append(_node(frontier.pop(), right))
        size >>= 1


def _root(frontier: Sequence[bytes]) -> bytes:
    """RFC 9162 Merkle tree hash from the right edge; the empty tree hashes the empty string."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = _node(subtree, root)
    return root


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
    """Append one entry and its pending marker in the caller's transaction (they commit or roll
    back with the action). On PostgreSQL both go in one statement; every write pays for it."""
    entry = AuditEntry(
        at=clock.now(),
        actor=principal.username,
        actor_id=principal.user_id,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        purpose=purpose,
        detail=detail,
    )
    entry.hash = entry_hash(entry)
    row = {c: getattr(entry, c) for c in AUDIT_COLUMNS}
    appended = insert(AuditEntry).values(row).returning(AuditEntry.seq)
    if session.get_bind().dialect.name == "postgresql":
        written = appended.cte("written")
        marker = insert(AuditPending).from_select(["seq"], select(written.c.seq))
        entry.seq = session.execute(marker.returning(AuditPending.seq)).scalar_one()
    else:  # SQLite allows no INSERT inside a WITH
        entry.seq = session.execute(appended).scalar_one()
        session.execute(insert(AuditPending).values(seq=entry.seq))
    return entry  # not attached to the session: the row is written, this is its copy


AUDIT_COLUMNS = (
    "at", "actor", "actor_id", "action", "subject_type", "subject_id", "purpose", "detail", "hash",
)  # fmt: skip


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
class SignedHead:
    """A tree head as exported outside the database (a file, a log line)."""

    size: int
    root: str
    sealed_at: datetime
    key_id: str
    signature: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "size": self.size,
                "root": self.root,
                "sealed_at": _utc(self.sealed_at).isoformat(timespec="microseconds"),
                "key_id": self.key_id,
                "signature": self.signature,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text_: str) -> SignedHead:
        """Read an exported head; a malformed one raises ValueError naming the field."""
        try:
            data = json.loads(text_)
        except json.JSONDecodeError as exc:
            raise ValueError(f"exported tree head is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("exported tree head must be a JSON object")
        try:
            return cls(
                size=int(data["size"]),
                root=str(data["root"]),
                sealed_at=datetime.fromisoformat(str(data["sealed_at"])),
                key_id=str(data["key_id"]),
                signature=str(data["signature"]),
            )
        except KeyError as exc:
            raise ValueError(f"exported tree head lacks {exc.args[0]}") from exc
        except ValueError as exc:
            raise ValueError(f"exported tree head has a malformed field: {exc}") from exc


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _signature(key: bytes, size: int, root: str, sealed_at: datetime) -> str:
    message = f"{SIGNED}\n{size}\n{root}\n{_utc(sealed_at).isoformat(timespec='microseconds')}"
    return hmac.new(key, message.encode("ascii"), "sha256").hexdigest()


def signed_correctly(head: SignedHead | AuditTreeHead, key: bytes) -> bool:
    expected = _signature(key, head.size, head.root, head.sealed_at)
    return hmac.compare_digest(expected, head.signature)


def _exported(head: AuditTreeHead) -> SignedHead:
    return SignedHead(head.size, head.root, head.sealed_at, head.key_id, head.signature)


def latest_head(session: Session) -> SignedHead | None:
    head = session.scalars(
        select(AuditTreeHead).order_by(AuditTreeHead.size.desc()).limit(1)
    ).first()
    return None if head is None else _exported(head)


def seal(session: Session, key: bytes, *, rows: int) -> SignedHead | None:
    """Give up to `rows` pending rows their leaves, in seq order, and sign the new tree head in
    the caller's transaction; None when nothing waits. Sealers take turns (an advisory lock on
    PostgreSQL; SQLite has one writer at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEALER_LOCK})
    pending = list(session.scalars(select(AuditPending.seq).order_by(AuditPending.seq).limit(rows)))
    if not pending:
        return None
    last = session.scalars(
        select(AuditTreeHead).order_by(AuditTreeHead.size.desc()).limit(1)
    ).first()
    size = 0 if last is None else last.size
    frontier = [] if last is None else [bytes.fromhex(h) for h in last.frontier]
    if last is not None and _root(frontier).hex() != last.root:
        raise RuntimeError(f"the tree head at size {size} does not match its stored right edge")
    found = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.seq.in_(pending))
        .order_by(AuditEntry.seq)
    ).all()
    leaves = []
    for seq, content_hash in found:
        digest = leaf_hash(seq, content_hash)
        leaves.append({"leaf": size, "entry_seq": seq, "hash": digest.hex()})
        _push(frontier, size, digest)
        size += 1
    if len(found) < len(pending):
        lost = sorted(set(pending) - {seq for seq, _ in found})
        log.warning("audit rows %s were pending and are gone: removed before sealing", lost)
    if leaves:
        session.execute(insert(AuditLeaf), leaves)
    session.execute(delete(AuditPending).where(AuditPending.seq.in_(pending)))
    if not leaves:
        return None
    root = _root(frontier).hex()
    sealed_at = clock.now()
    head = AuditTreeHead(
        size=size,
        root=root,
        sealed_at=sealed_at,
        key_id=key_id(key),
        signature=_signature(key, size, root, sealed_at),
        frontier=[h.hex() for h in frontier],
    )
    session.add(head)
    session.flush()
    return _exported(head)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int  # rows in the log
    sealed: int = 0  # rows checked against a signed tree head
    unsealed: int = 0  # rows still waiting for the sealer
    bad_seq: int | None = None
    reason: str | None = None


def _leaves(session: Session) -> Iterator[tuple[int, int, str, str | None, str | None]]:
    """(leaf, seq, leaf hash, the row's stored hash, its recomputed hash) in leaf order; the two
    row hashes are None when the row is gone."""
    query = (
        select(
            AuditLeaf.leaf,
            AuditLeaf.entry_seq,
            AuditLeaf.hash,
            AuditEntry.hash,
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.actor_id,
            AuditEntry.action,
            AuditEntry.subject_type,
            AuditEntry.subject_id,
            AuditEntry.purpose,
            AuditEntry.detail,
        )
        .outerjoin(AuditEntry, AuditEntry.seq == AuditLeaf.entry_seq)
        .order_by(AuditLeaf.leaf)
        .execution_options(yield_per=5000)
    )
    for leaf, seq, sealed, stored, *content in session.execute(query):
        recomputed = None if stored is None else row_hash(*content)
        yield leaf, seq, sealed, stored, recomputed


def verify(session: Session, key: bytes, *, anchor: SignedHead | None = None) -> VerifyResult:
    """Check every signed head, every leaf against its row and every root against the leaves;
    report the first fault. `anchor`, a head exported earlier, must still be in the tree: a
    database restored to an older state, or a tail cut off with its heads, fails here."""
    rows = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    heads = list(session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.size)))

    def fail(reason: str, seq: int | None = None, sealed: int = 0) -> VerifyResult:
        return VerifyResult(False, rows, sealed, bad_seq=seq, reason=reason)

    for head in heads:
        if not signed_correctly(head, key):
            return fail(f"the tree head at size {head.size} is not signed with this audit key")
    if anchor is not None and not signed_correctly(anchor, key):
        return fail("the exported tree head is not signed with this audit key")
    twice = session.scalar(
        select(AuditLeaf.entry_seq).group_by(AuditLeaf.entry_seq).having(func.count() > 1).limit(1)
    )
    if twice is not None:
        return fail(f"row {twice} is sealed at more than one leaf", twice)
    frontier: list[bytes] = []
    size, next_head = 0, 0
    for leaf, seq, sealed, stored, recomputed in _leaves(session):
        if leaf != size:
            return fail(f"leaf {size} is missing", None, size)
        if stored is None:
            return fail(f"row {seq}, sealed at leaf {leaf}, is missing", seq, size)
        if recomputed != stored:
            return fail("row content does not match its hash", seq, size)
        digest = leaf_hash(seq, recomputed)
        if digest.hex() != sealed:
            return fail(f"row {seq} does not match leaf {leaf} as sealed", seq, size)
        _push(frontier, size, digest)
        size += 1
        if next_head < len(heads) and heads[next_head].size == size:
            if _root(frontier).hex() != heads[next_head].root:
                return fail(
                    f"the tree head at size {size} does not match the sealed rows: a row "
                    "before it was altered, removed, inserted or reordered",
                    None,
                    size,
                )
            next_head += 1
        if anchor is not None and anchor.size == size and _root(frontier).hex() != anchor.root:
            return fail(
                f"the exported tree head at size {size} does not match this log: sealed rows "
                "were rewritten",
                None,
                size,
            )
    if next_head < len(heads):
        return fail(
            f"the tree head at size {heads[next_head].size} covers rows beyond the last leaf "
            f"({size}): sealed rows were removed",
            None,
            size,
        )
    if heads and heads[-1].size != size:
        return fail(f"leaves {heads[-1].size} to {size - 1} are not under a signed head")
    if not heads and size:
        return fail(f"leaves 0 to {size - 1} are not under a signed head")
    if anchor is not None and anchor.size > size:
        return fail(
            f"the log holds {size} sealed rows but the exported head of "
            f"{_utc(anchor.sealed_at).isoformat(timespec='seconds')} covered {anchor.size}: "
            "rows were removed or the database was restored to an older state",
            None,
            size,
        )
    unsealed = select(AuditEntry.seq).where(~exists().where(AuditLeaf.entry_seq == AuditEntry.seq))
    stray = session.scalar(
        unsealed.where(~exists().where(AuditPending.seq == AuditEntry.seq))
        .order_by(AuditEntry.seq)
        .limit(1)
    )
    if stray is not None:
        return fail(
            f"row {stray} is neither sealed nor waiting for the sealer: it was not written by "
            "CareGrid",
            stray,
            size,
        )
    waiting = session.scalar(select(func.count()).select_from(unsealed.subquery())) or 0
    return VerifyResult(True, rows, size, waiting)


@dataclass(frozen=True)
class Proof:
    """Row `seq` is leaf `leaf` of the tree under `head`: `path` leads from its hash to the
    signed root (RFC 9162 section 2.1.3)."""

    seq: int
    leaf: int
    leaf_hash: str
    head: SignedHead
    path: list[str]

    def holds(self) -> bool:
        return proves_inclusion(
            self.leaf,
            bytes.fromhex(self.leaf_hash),
            self.head.size,
            [bytes.fromhex(p) for p in self.path],
            bytes.fromhex(self.head.root),
        )


def inclusion_proof(session: Session, seq: int) -> Proof:
    """Row `seq`'s proof against the latest signed head; LookupError when not yet sealed."""
    head = latest_head(session)
    leaf = session.execute(
        select(AuditLeaf.leaf, AuditLeaf.hash).where(AuditLeaf.entry_seq == seq)
    ).first()
    if head is None or leaf is None or leaf.leaf >= head.size:
        raise LookupError(f"row {seq} is not sealed yet")
    hashes = [
        bytes.fromhex(h)
        for h in session.scalars(
            select(AuditLeaf.hash).where(AuditLeaf.leaf < head.size).order_by(AuditLeaf.leaf)
        )
    ]
    path = [p.hex() for p in _path(leaf.leaf, hashes)]
    return Proof(seq, leaf.leaf, leaf.hash, head, path)


def _mth(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node(_mth(hashes[:k]), _mth(hashes[k:]))


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return [*_path(m, hashes[:k]), _mth(hashes[k:])]
    return [*_path(m - k, hashes[k:]), _mth(hashes[:k])]


def proves_inclusion(
    leaf: int, digest: bytes, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does `path` lead from leaf `leaf` to `root`?"""
    if leaf >= size:
        return False
    fn, sn, r = leaf, size - 1, digest
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


@dataclass(frozen=True)
class EntryFilter:
    """What the auditor narrows the log to; every field is optional and they combine (AND).
    `action` matches a prefix ("referral." for every referral action); the days are local
    calendar days, `until` included."""

    actor: str | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: date | None = None
    until: date | None = None


def entries(
    session: Session,
    *,
    limit: int = 100,
    before: int | None = None,
    where: EntryFilter | None = None,
) -> list[AuditEntry]:
    """The newest entries first, `limit` of them below `before` (the seq of the last one a
    page showed), narrowed by `where`."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    f = where or EntryFilter()
    if f.actor:
        query = query.where(AuditEntry.actor == f.actor)
    if f.action:
        query = query.where(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.subject_type:
        query = query.where(AuditEntry.subject_type == f.subject_type)
    if f.subject_id:
        query = query.where(AuditEntry.subject_id == f.subject_id)
    if f.since:
        query = query.where(AuditEntry.at >= clock.start_of(f.since))
    if f.until:
        query = query.where(AuditEntry.at < clock.start_of(f.until + timedelta(days=1)))
    return list(session.scalars(query))


@dataclass(frozen=True)
class SealState:
    """How far the sealer has come: the latest signed head (None before the first), whether
    its signature holds under the key, and how many rows wait for a head."""

    head: SignedHead | None
    signature_ok: bool
    pending: int


def seal_state(session: Session, key: bytes) -> SealState:
    head = latest_head(session)
    pending = session.scalar(select(func.count()).select_from(AuditPending)) or 0
    return SealState(head, head is not None and signed_correctly(head, key), pending)
