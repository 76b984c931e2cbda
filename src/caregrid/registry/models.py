"""Registry tables (A1-A8). Codes are the natural keys used by layout files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class City(Base):
    """A jurisdiction whose layout is imported as one file (a city, or a county model)."""

    __tablename__ = "city"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    province_zh: Mapped[str | None] = mapped_column(String(100))
    pilot_level: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    grids: Mapped[list[Grid]] = relationship(back_populates="city", order_by="Grid.code")
    area: Mapped[list[CityArea]] = relationship(cascade="all, delete-orphan")
    divisions: Mapped[list[Division]] = relationship(secondary="city_division")


city_division = Table(
    "city_division",
    Base.metadata,
    Column("city_id", ForeignKey("city.id", ondelete="CASCADE"), primary_key=True),
    Column("division_code", ForeignKey("division.code"), primary_key=True),
)


class Division(Base):
    """An administrative division (GB/T 2260 code where one exists), shared between layouts."""

    __tablename__ = "division"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"))
    note: Mapped[str | None] = mapped_column(Text)
    # What the grid planner draws grids from (A1): residents, centroid and borders.
    population: Mapped[int | None] = mapped_column(BigInteger)
    population_source: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class DivisionAdjacency(Base):
    """Two divisions that share a border, or are joined by a named crossing (a bridge, a
    tunnel): a grid is contiguous over these pairs. Stored once, first_code < second_code."""

    __tablename__ = "division_adjacency"
    first_code: Mapped[str] = mapped_column(
        ForeignKey("division.code", ondelete="CASCADE"), primary_key=True
    )
    second_code: Mapped[str] = mapped_column(
        ForeignKey("division.code", ondelete="CASCADE"), primary_key=True
    )
    crossing: Mapped[str | None] = mapped_column(String(200))


class LayoutVersion(Base):
    """Every layout a city has had, numbered: each import or adopted plan adds one, so a
    planner can see and restore what the grids were."""

    __tablename__ = "layout_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("city_id", "number", name="uq_layout_version_number"),)


class CityArea(Base):
    """A1: a division the city's grids must together cover."""

    __tablename__ = "city_area"
    city_id: Mapped[int] = mapped_column(
        ForeignKey("city.id", ondelete="CASCADE"), primary_key=True
    )
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)


grid_division = Table(
    "grid_division",
    Base.metadata,
    Column("grid_id", ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True),
    Column("division_code", ForeignKey("division.code"), primary_key=True),
)


class Grid(Base):
    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    city: Mapped[City] = relationship(back_populates="grids")
    divisions: Mapped[list[Division]] = relationship(secondary=grid_division)
    networks: Mapped[list[Network]] = relationship(back_populates="grid")


class Institution(Base):
    __tablename__ = "institution"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    beds: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    parent: Mapped[Institution | None] = relationship(remote_side=[id])
    division: Mapped[Division] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="institution")


class Network(Base):
    """A medical network: an urban_group or a county_community, with its policy profile."""

    __tablename__ = "network"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))
    profile: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    grid: Mapped[Grid] = relationship(back_populates="networks")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="network", cascade="all, delete-orphan"
    )
    member_classes: Mapped[list[MemberClass]] = relationship(
        back_populates="network", cascade="all, delete-orphan", order_by="MemberClass.position"
    )


class Membership(Base):
    """An institution's role in a network (A5); one row per (network, institution)."""

    __tablename__ = "membership"
    network_id: Mapped[int] = mapped_column(
        ForeignKey("network.id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20))
    key_construction: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    network: Mapped[Network] = relationship(back_populates="memberships")
    institution: Mapped[Institution] = relationship(back_populates="memberships")


class MemberClass(Base):
    """Members a source names only as a class ("所辖公立社区卫生服务中心和乡镇卫生院")."""

    __tablename__ = "member_class"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    description_zh: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    categories: Mapped[str] = mapped_column(String(400))  # space-separated Category values
    tier: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(Text)
    network: Mapped[Network] = relationship(back_populates="member_classes")


cross_grid_institution = Table(
    "cross_grid_institution",
    Base.metadata,
    Column("service_id", ForeignKey("cross_grid_service.id", ondelete="CASCADE"), primary_key=True),
    Column("institution_id", ForeignKey("institution.id"), primary_key=True),
)

cross_grid_network = Table(
    "cross_grid_network",
    Base.metadata,
    Column("service_id", ForeignKey("cross_grid_service.id", ondelete="CASCADE"), primary_key=True),
    Column("network_id", ForeignKey("network.id", ondelete="CASCADE"), primary_key=True),
)


class CrossGridService(Base):
    """A6: MCH, TCM alliance and similar services that serve several grids."""

    __tablename__ = "cross_grid_service"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    lead: Mapped[Institution | None] = relationship()
    institutions: Mapped[list[Institution]] = relationship(secondary=cross_grid_institution)
    networks: Mapped[list[Network]] = relationship(secondary=cross_grid_network)


class Department(Base):
    __tablename__ = "department"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    specialty: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("institution_id", "code"),)


practice_site = Table(
    "practice_site",
    Base.metadata,
    Column("practitioner_id", ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
    Column("institution_id", ForeignKey("institution.id"), primary_key=True),
)


class Practitioner(Base):
    """A doctor, nurse or other professional; may practise at several sites (H6)."""

    __tablename__ = "practitioner"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    title_level: Mapped[str] = mapped_column(String(30))
    specialty: Mapped[str | None] = mapped_column(String(100))
    home_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    home_institution: Mapped[Institution] = relationship()
    sites: Mapped[list[Institution]] = relationship(secondary=practice_site)
