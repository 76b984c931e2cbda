"""Tables of the insurance global budget (I3): a network's budget for a year, its settlement
periods, each period's settlement with its lines, waivers and later adjustments (K9)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime

MONEY = Numeric(16, 2)
POINTS = Numeric(16, 4)
RATE = Numeric(18, 8)  # a point value in CNY


class Budget(Base):
    """The lump sum (总额包干) insurance pays a network for a year's care of its pool's
    insured, and the part of it paid for in-network stays by DIP points."""

    __tablename__ = "finance_budget"
    __table_args__ = (UniqueConstraint("network_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    year: Mapped[int] = mapped_column(Integer)
    lump_sum_cny: Mapped[Decimal] = mapped_column(MONEY)
    dip_pool_cny: Mapped[Decimal] = mapped_column(MONEY)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    periods: Mapped[list[Period]] = relationship(
        cascade="all, delete-orphan",
        order_by="Period.starts_on",
        lazy="selectin",
        back_populates="budget",
    )


class Period(Base):
    """A settlement period of the budget's year (a month, as a rule); periods never overlap."""

    __tablename__ = "finance_period"
    __table_args__ = (UniqueConstraint("budget_id", "starts_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("finance_budget.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    budget: Mapped[Budget] = relationship(back_populates="periods")
    settlement: Mapped[Settlement | None] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="period"
    )


class Settlement(Base):
    """A period's settlement: the figures, and in `inputs` (JSON) everything they came from:
    the engine, the claims counted, the DIP table, the profile's rules and the evaluation in
    force (K9)."""

    __tablename__ = "finance_settlement"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(
        ForeignKey("finance_period.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(10))
    engine: Mapped[str] = mapped_column(String(20))
    claims: Mapped[int] = mapped_column(Integer)
    spend_network_cny: Mapped[Decimal] = mapped_column(MONEY)
    spend_county_cny: Mapped[Decimal] = mapped_column(MONEY)
    spend_outside_cny: Mapped[Decimal] = mapped_column(MONEY)
    pool_cny: Mapped[Decimal] = mapped_column(MONEY)
    points: Mapped[Decimal] = mapped_column(POINTS)
    point_value_cny: Mapped[Decimal | None] = mapped_column(RATE)
    waived_cny: Mapped[Decimal] = mapped_column(MONEY)
    waived_patients: Mapped[int] = mapped_column(Integer)
    forecast_spend_cny: Mapped[Decimal] = mapped_column(MONEY)
    forecast_result_cny: Mapped[Decimal] = mapped_column(MONEY)  # + surplus, - overspend
    forecast_network_cny: Mapped[Decimal] = mapped_column(MONEY)  # + kept, - borne
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id"))
    evaluation_period: Mapped[str | None] = mapped_column(String(7))
    inputs: Mapped[str] = mapped_column(Text)
    computed_by: Mapped[str] = mapped_column(String(100))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    period: Mapped[Period] = relationship(back_populates="settlement")
    lines: Mapped[list[SettlementLine]] = relationship(
        cascade="all, delete-orphan", order_by="SettlementLine.institution_code", lazy="selectin"
    )
    waivers: Mapped[list[Waiver]] = relationship(
        cascade="all, delete-orphan", order_by="Waiver.patient_id", lazy="selectin"
    )
    adjustments: Mapped[list[Adjustment]] = relationship(
        cascade="all, delete-orphan", order_by="Adjustment.id", lazy="selectin"
    )


class SettlementLine(Base):
    """A member's share of the period: its DIP points and what they are worth, and the
    fund's other payments to it."""

    __tablename__ = "finance_settlement_line"
    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("finance_settlement.id", ondelete="CASCADE"), primary_key=True
    )
    institution_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    claims: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal] = mapped_column(POINTS)
    dip_paid_cny: Mapped[Decimal] = mapped_column(MONEY)
    other_paid_cny: Mapped[Decimal] = mapped_column(MONEY)


class Waiver(Base):
    """The second inpatient deductible not charged to a patient in the period (B7)."""

    __tablename__ = "finance_waiver"
    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("finance_settlement.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    stays: Mapped[int] = mapped_column(Integer)
    amount_cny: Mapped[Decimal] = mapped_column(MONEY)


class Adjustment(Base):
    """A correction to a closed settlement: a signed amount and why; the settlement itself is
    never changed once closed."""

    __tablename__ = "finance_adjustment"
    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("finance_settlement.id", ondelete="CASCADE")
    )
    institution_code: Mapped[str | None] = mapped_column(String(50))
    amount_cny: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
