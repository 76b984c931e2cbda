"""Tables of the hypertension and diabetes registry and its visits (F1, F2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Enrolment(Base):
    """A resident in the registry for one condition: suspected, confirmed (managed) or ruled
    out. One row per resident and condition."""

    __tablename__ = "chronic_enrolment"
    __table_args__ = (UniqueConstraint("resident_id", "condition"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    condition: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    suspected_on: Mapped[date | None] = mapped_column(Date)
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    confirmed_by: Mapped[str | None] = mapped_column(String(20))
    ruled_out_on: Mapped[date | None] = mapped_column(Date)
    confirmation_referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Visit(Base):
    """One measurement: a screening, a confirmation reading or a face-to-face follow-up, with
    what the standard decided from it (assessment, action, next due date)."""

    __tablename__ = "chronic_visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("chronic_enrolment.id"), index=True)
    condition: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    visited_on: Mapped[date] = mapped_column(Date)
    sbp: Mapped[int | None] = mapped_column(Integer)
    dbp: Mapped[int | None] = mapped_column(Integer)
    fpg: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    heart_rate: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    symptoms: Mapped[str] = mapped_column(String(400), default="")
    side_effects: Mapped[bool] = mapped_column(Boolean, default=False)
    side_effects_intolerable: Mapped[bool] = mapped_column(Boolean, default=False)
    new_or_worse_complication: Mapped[bool] = mapped_column(Boolean, default=False)
    assessment: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str | None] = mapped_column(String(30))
    next_due_on: Mapped[date | None] = mapped_column(Date)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
