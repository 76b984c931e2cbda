"""Referrals, their timeline, and networks' own disease catalogs (B1-B8, F6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Referral(Base):
    __tablename__ = "referral"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("network.id"))
    direction: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    from_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    from_practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    to_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    diagnosis_code: Mapped[str] = mapped_column(String(20))
    diagnosis_title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(20))
    clinical_summary: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent: Mapped[bool] = mapped_column(Boolean)
    consent_note: Mapped[str | None] = mapped_column(Text)
    admission_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    justification: Mapped[str | None] = mapped_column(Text)
    catalog_hit: Mapped[str | None] = mapped_column(String(200))
    patient_choice_reason: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[str] = mapped_column(String(20))
    approval_by: Mapped[str | None] = mapped_column(String(100))
    green_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    deductible_rule: Mapped[str] = mapped_column(String(40))
    discharge_summary: Mapped[str | None] = mapped_column(Text)
    follow_up_plan: Mapped[str | None] = mapped_column(Text)
    rejection_code: Mapped[str | None] = mapped_column(String(40))
    rejection_note: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_follow_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_follow_up_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    events: Mapped[list[ReferralEvent]] = relationship(
        order_by="ReferralEvent.id", cascade="all, delete-orphan", lazy="selectin"
    )

    # Optimistic locking: an UPDATE carrying a stale version matches no row and fails.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_referral_to_state", "to_institution_id", "state"),
        Index("ix_referral_from_state", "from_institution_id", "state"),
    )


class ReferralEvent(Base):
    """One step of a referral's timeline: who did what, when, from which state to which."""

    __tablename__ = "referral_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class NetworkCatalogEntry(Base):
    """A network's own disease catalog (B2), replacing its profile's catalog of that kind."""

    __tablename__ = "network_catalog_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    entry: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(300))
    __table_args__ = (Index("ix_network_catalog", "network_id", "kind"),)
