"""Tables for users, their roles, login/API tokens, care relationships, emergency grants and the
audit log with its Merkle tree (leaves and signed tree heads)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("network.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class UserRole(Base):
    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(30), primary_key=True)


class AuthToken(Base):
    """A browser session or an API bearer token; only the SHA-256 of the secret is stored."""

    __tablename__ = "auth_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # session | api
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class CareRelationship(Base):
    """An institution's care relationship with a resident, for as long as it lasts (DESIGN.md,
    security model): the one table `access.care_relationship` reads.

    The service owning the source record (a registration, a contract, a referral) writes it
    through `access.relate`, in the transaction that changes that record. Rows that are over
    stay as history.
    """

    __tablename__ = "care_relationship"
    __table_args__ = (
        Index("ix_care_relationship_resident_institution", "resident_id", "institution_id"),
        Index("ix_care_relationship_source", "kind", "source_id"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # access.Relationship
    # The source record's id in the table its kind names (resident, contract, referral).
    source_id: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None: until ended


class EmergencyGrant(Base):
    """A clinician's emergency access to one resident without a care relationship, for a
    limited time (`access.open_emergency_grant`): while `granted_at <= now < expires_at` the
    record opens unmasked for this account only. Rows stay as the auditors' evidence."""

    __tablename__ = "emergency_grant"
    __table_args__ = (
        Index("ix_emergency_grant_user_granted", "user_id", "granted_at"),
        Index("ix_emergency_grant_resident", "resident_id"),
        Index("ix_emergency_grant_granted", "granted_at"),
        CheckConstraint("expires_at > granted_at", name="period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    reason_code: Mapped[str] = mapped_column(String(40))  # data/catalogs/emergency-reasons.yaml
    reason_text: Mapped[str] = mapped_column(String(500))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One audited action. `seq` comes from the database's sequence, so a rolled-back write
    leaves a gap; `hash` covers every other field. Its place in the log is its leaf."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)
    hash: Mapped[str] = mapped_column(String(64))


class AuditPending(Base):
    """A row written and not yet sealed: the writer adds it in its own transaction, the sealer
    removes it when the row has its leaf. Writers share no row, so they take no common lock."""

    __tablename__ = "audit_pending"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class AuditLeaf(Base):
    """A row's position in the Merkle tree, given by the sealer, and its leaf hash then."""

    __tablename__ = "audit_leaf"
    leaf: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_seq: Mapped[int] = mapped_column(Integer, unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class AuditTreeHead(Base):
    """A signed tree head: the root of the first `size` leaves, signed with the audit key
    (kept outside the database). `frontier` is the tree's right edge, so that the next seal
    reads no old leaves; it is not trusted by the verifier."""

    __tablename__ = "audit_tree_head"
    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[list[str]] = mapped_column(JSON)


class LoginThrottle(Base):
    """Wrong passwords counted per account name or client address, in the database so that
    every process sees the same counts. The key is a SHA-256: a password typed into the name
    field is not kept."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_expires_at", "expires_at"),)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # account | address
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the row stops mattering (window over, cooldown over): rows past it are pruned.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
