"""Stored evaluations against the 15 criteria (K7, K8): one per network and half-year, each
criterion with what CareGrid's data proved and the evaluator's verdict and evidence note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Evaluation(Base):
    __tablename__ = "evaluation"
    __table_args__ = (UniqueConstraint("network_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    period: Mapped[str] = mapped_column(String(7))  # 2025H1
    criteria: Mapped[str] = mapped_column(String(64))  # the catalogue used
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    items: Mapped[list[EvaluationItem]] = relationship(
        cascade="all, delete-orphan", order_by="EvaluationItem.criterion"
    )


class EvaluationItem(Base):
    __tablename__ = "evaluation_item"
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation.id", ondelete="CASCADE"), primary_key=True
    )
    criterion: Mapped[int] = mapped_column(Integer, primary_key=True)
    automatic: Mapped[str | None] = mapped_column(String(20))  # met | not_met | None
    automatic_detail: Mapped[str | None] = mapped_column(Text)
    verdict: Mapped[str | None] = mapped_column(String(20))  # met | partly | not_met
    note: Mapped[str | None] = mapped_column(Text)
    scored_by: Mapped[str | None] = mapped_column(String(100))
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
