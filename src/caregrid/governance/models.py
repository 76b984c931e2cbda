"""Tables of the governance domain (L1, L2): the management committee's seats, the group's
documents, its key tasks, its meetings and its reports to the health commission."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class CommitteeSeat(Base):
    """Who sits on the committee, for whom, from when to when (open: still sitting)."""

    __tablename__ = "governance_committee_seat"
    __table_args__ = (CheckConstraint("until_on IS NULL OR until_on >= from_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    from_on: Mapped[date] = mapped_column(Date)
    until_on: Mapped[date | None] = mapped_column(Date)


class Document(Base):
    """A charter, decision rules or plan as adopted; the latest adopted of a kind is in force."""

    __tablename__ = "governance_document"
    __table_args__ = (
        CheckConstraint("filed_on IS NULL OR filed_on >= adopted_on", name="filed_after"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    adopted_on: Mapped[date] = mapped_column(Date)
    filed_on: Mapped[date | None] = mapped_column(Date)  # filed with the commission (备案)
    body: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KeyTask(Base):
    """A line of the group's key-task list: what, who owns it, who works with them, by when,
    and whether it continues after its deadline (并持续实施)."""

    __tablename__ = "governance_key_task"
    __table_args__ = (UniqueConstraint("network_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    ref: Mapped[str] = mapped_column(String(20))
    task: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(300))
    partners: Mapped[list[str]] = mapped_column(JSON)
    due_on: Mapped[date | None] = mapped_column(Date)
    continuing: Mapped[bool] = mapped_column(Boolean)
    listed_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))


class Meeting(Base):
    """A meeting held: its kind, day, chair, minutes and decisions."""

    __tablename__ = "governance_meeting"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[date] = mapped_column(Date)
    chaired_by: Mapped[str] = mapped_column(String(100))
    minutes: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Report(Base):
    """A report to the health commission: what it covers (a month) and when it went."""

    __tablename__ = "governance_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    covers: Mapped[date] = mapped_column(Date)  # the first day of the month reported on
    submitted_on: Mapped[date] = mapped_column(Date)
    recipient: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
