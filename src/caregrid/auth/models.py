"""Tables for users, their roles, login/API tokens, care relationships and the hash-chained
audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
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


class AuditEntry(Base):
    """One audited action; its hash covers its fields and the previous row's hash."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's head (last seq and hash): removing the newest rows is detected too."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


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
