"""Tables of teams, contracts, their package items and delivered services (E1-E5)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Team(Base):
    """A family-doctor team based at a primary institution of one network (E1)."""

    __tablename__ = "family_doctor_team"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    members: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TeamMember.position"
    )


class TeamMember(Base):
    __tablename__ = "family_doctor_team_member"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("family_doctor_team.id", ondelete="CASCADE"), primary_key=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(Integer, default=0)


class NetworkPackageSet(Base):
    """A network's own service-package menu (the YAML document, validated on save)."""

    __tablename__ = "network_package_set"
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class Contract(Base):
    """A resident's signing with a team, valid across the team's whole network (E2).

    The database allows one active contract per resident (partial unique index).
    """

    __tablename__ = "contract"
    __table_args__ = (
        Index(
            "uq_contract_active_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_team.id"), index=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(String(30))
    termination_note: Mapped[str | None] = mapped_column(Text)
    consent_method: Mapped[str] = mapped_column(String(20))
    consent_by: Mapped[str] = mapped_column(String(20))
    consent_signatory: Mapped[str] = mapped_column(String(100))
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    items: Mapped[list[ContractItem]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContractItem.id"
    )


class ContractItem(Base):
    """A package item as signed: a snapshot, so editing the menu never rewrites a contract."""

    __tablename__ = "contract_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    package_code: Mapped[str] = mapped_column(String(40))
    package_name_zh: Mapped[str] = mapped_column(String(100))
    package_name_en: Mapped[str] = mapped_column(String(100))
    service: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(30))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    times_per_year: Mapped[int] = mapped_column(Integer)
    price_cny: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    insurance_share: Mapped[Decimal] = mapped_column(Numeric(4, 3))


class ServiceDelivery(Base):
    """One delivered service, matched to the contract item with the same service code (E5)."""

    __tablename__ = "service_delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("contract_item.id"))
    service: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(30))
    delivered_on: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
