"""Tables of shared centres, orders, results and recognition decisions (D1-D3)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Centre(Base):
    """A network's shared centre of one kind, run by one institution (D1)."""

    __tablename__ = "diagnostic_centre"
    __table_args__ = (UniqueConstraint("network_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    kind: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    members: Mapped[list[CentreMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    items: Mapped[list[CentreItem]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    readers: Mapped[list[CentreReader]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class CentreMember(Base):
    """An institution the centre serves."""

    __tablename__ = "diagnostic_centre_member"
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_centre.id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)


class CentreItem(Base):
    """An item the centre offers, with the turnaround it promises."""

    __tablename__ = "diagnostic_centre_item"
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_centre.id", ondelete="CASCADE"), primary_key=True
    )
    item_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    turnaround_hours: Mapped[int] = mapped_column(Integer)


class CentreReader(Base):
    """An account qualified to sign the centre's reports."""

    __tablename__ = "diagnostic_centre_reader"
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_centre.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(100), primary_key=True)


class QualityAssessment(Base):
    """An institution's external quality assessment for a category over a period (from the
    day it was assessed): only results from within a passed one's period are eligible for
    recognition (D3)."""

    __tablename__ = "quality_assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(200))
    # A failed assessment is kept as the commission recorded it; it makes nothing eligible.
    passed: Mapped[bool] = mapped_column(default=True, server_default=true())


class Order(Base):
    """An examination or test ordered for a resident (D2)."""

    __tablename__ = "diagnostic_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    ordering_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    ordered_by: Mapped[str] = mapped_column(String(100))
    centre_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_centre.id"), index=True)
    acquired_at_member: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(20))
    ordered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("diagnostic_result.id"))
    events: Mapped[list[OrderEvent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OrderEvent.id"
    )


class OrderEvent(Base):
    __tablename__ = "diagnostic_order_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_order.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))


class Result(Base):
    """A signed result: values (tests) or findings (exams), and the reader's conclusion, which
    is never part of what another institution recognises."""

    __tablename__ = "diagnostic_result"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    # The institution that issues (reads and signs) the result: the one recognition rules judge.
    performed_at_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    # Where the image or sample was taken, when a member acquired it for the centre (D2).
    acquired_at_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    observed_on: Mapped[date] = mapped_column(Date)
    findings: Mapped[str | None] = mapped_column(Text)
    conclusion: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    values: Mapped[list[ResultValue]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ResultValue.id"
    )


class ResultValue(Base):
    __tablename__ = "diagnostic_result_value"
    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_result.id", ondelete="CASCADE"))
    component: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(20))
    low: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    high: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    flag: Mapped[str] = mapped_column(String(1))  # L, N or H


class Recognition(Base):
    """What the clinician did with a valid prior result: reused it, or repeated the item with
    one of the six coded reasons (D3)."""

    __tablename__ = "recognition"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_order.id"), unique=True)
    prior_result_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_result.id"))
    decision: Mapped[str] = mapped_column(String(20))  # reused | repeated
    reason: Mapped[str | None] = mapped_column(String(30))
    reason_text: Mapped[str | None] = mapped_column(Text)
    price_cny: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Teleconsultation(Base):
    """A member department asks a lead department, or a named expert there, for an opinion
    (D4); scheduled with a meeting link and answered in writing."""

    __tablename__ = "teleconsultation"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    to_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    question: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meeting_link: Mapped[str | None] = mapped_column(String(500))
    opinion: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SterileSupply(Base):
    """Instrument packages a member requests from the sterilisation supply centre (D1)."""

    __tablename__ = "sterile_supply"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_centre.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    package: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_back_on: Mapped[date | None] = mapped_column(Date)
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
