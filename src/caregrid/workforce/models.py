"""Tables of the workforce domain: postings of professionals to members (H1, C6, H4), and the
network's first-post draws (H2), with the posts and candidates frozen when the seed was
committed and each candidate's place once revealed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Draw(Base):
    __tablename__ = "workforce_draw"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12))
    commitment: Mapped[str] = mapped_column(String(64))  # SHA-256 of the seed, hex
    seed: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(String(64))  # of the published draw
    committed_by: Mapped[str] = mapped_column(String(100))
    committed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revealed_by: Mapped[str | None] = mapped_column(String(100))
    revealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DrawPost(Base):
    """A post offered in the draw, its seats and its need (1 is the neediest)."""

    __tablename__ = "workforce_draw_post"
    __table_args__ = (UniqueConstraint("draw_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("workforce_draw.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    title: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)
    need: Mapped[int] = mapped_column(Integer)


class DrawCandidate(Base):
    """A new hire in the draw: the exam reference, the score, the posts preferred in order,
    and once revealed the lottery number, rank and post."""

    __tablename__ = "workforce_draw_candidate"
    __table_args__ = (UniqueConstraint("draw_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("workforce_draw.id"))
    position: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    preferences: Mapped[list[str]] = mapped_column(JSON)
    lottery: Mapped[str | None] = mapped_column(String(64))
    rank: Mapped[int | None] = mapped_column(Integer)
    post_code: Mapped[str | None] = mapped_column(String(40))


class Post(Base):
    """A post a member sets up with its seats (H1); its vacancies on a day are the seats its
    postings running that day do not fill."""

    __tablename__ = "workforce_post"
    __table_args__ = (
        UniqueConstraint("institution_id", "code"),
        CheckConstraint("seats > 0", name="seats"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    seats: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)


class Posting(Base):
    """A professional serving at a member from one day to another (open: still there). Two
    postings of one person never overlap (the service refuses it)."""

    __tablename__ = "workforce_posting"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("workforce_post.id"))  # the seat filled
    purpose: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # the last day served
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
