"""Resident records and their key-population tags (F2)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Resident(Base):
    __tablename__ = "resident"
    id: Mapped[int] = mapped_column(primary_key=True)
    national_id: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(10))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    address_division_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    registered_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    tags: Mapped[list[ResidentTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class ResidentTag(Base):
    """A declared key-population tag (diagnoses and states that cannot be derived from age/sex)."""

    __tablename__ = "resident_tag"
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
