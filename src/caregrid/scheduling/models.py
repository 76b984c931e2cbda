"""Clinic sessions, their slots and bookings; beds and their stays (C1-C4).

The database guards the invariants: a partial unique index allows one live booking per slot
and one live stay per bed, whatever the code above it does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime

LIVE_BOOKING = "status <> 'cancelled'"
LIVE_STAY_STATUSES = ("reserved", "admitted")
LIVE_STAY = "status IN ('reserved', 'admitted')"


class ClinicSession(Base):
    """A department's outpatient session (出诊): date, doctor, capacity, reserved share."""

    __tablename__ = "clinic_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    reserved_count: Mapped[int] = mapped_column(Integer)
    reserved_share_target: Mapped[str | None] = mapped_column(String(20))
    # When reserved slots open to member units (C3) and when those still free return to the
    # public pool; stored at publication so the rules follow from stored times and "now".
    opens_to_members_at: Mapped[datetime] = mapped_column(UtcDateTime)
    returns_to_public_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str] = mapped_column(String(100))
    slots: Mapped[list[Slot]] = relationship(
        order_by="Slot.position", cascade="all, delete-orphan", back_populates="session"
    )
    __table_args__ = (Index("ix_clinic_session_dept_start", "department_id", "starts_at"),)


class Slot(Base):
    __tablename__ = "slot"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clinic_session.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reserved: Mapped[bool] = mapped_column(Boolean)
    session: Mapped[ClinicSession] = relationship(back_populates="slots")
    __table_args__ = (Index("uq_slot_session_position", "session_id", "position", unique=True),)


class Booking(Base):
    __tablename__ = "booking"
    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    booked_by: Mapped[str] = mapped_column(String(100))
    booked_by_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    pool: Mapped[str] = mapped_column(String(20))  # reserved | public
    status: Mapped[str] = mapped_column(String(20))  # booked | attended | no_show | cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index(
            "uq_booking_live_slot",
            "slot_id",
            unique=True,
            sqlite_where=text(LIVE_BOOKING),
            postgresql_where=text(LIVE_BOOKING),
        ),
        Index("ix_booking_referral", "referral_id"),
        Index("ix_booking_resident", "resident_id"),
    )


class Bed(Base):
    __tablename__ = "bed"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    label: Mapped[str] = mapped_column(String(40))
    reserved: Mapped[bool] = mapped_column(Boolean)
    __table_args__ = (Index("uq_bed_department_label", "department_id", "label", unique=True),)


class BedStay(Base):
    """A reserved bed for a referred patient, then the admission, then the discharge."""

    __tablename__ = "bed_stay"
    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(ForeignKey("bed.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    booked_by: Mapped[str] = mapped_column(String(100))
    booked_by_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    status: Mapped[str] = mapped_column(String(20))  # reserved | admitted | discharged | cancelled
    reserved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    admitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    discharged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index(
            "uq_bed_stay_live_bed",
            "bed_id",
            unique=True,
            sqlite_where=text(LIVE_STAY),
            postgresql_where=text(LIVE_STAY),
        ),
        Index("ix_bed_stay_referral", "referral_id"),
    )
