"""Plans the grid planner has drawn for a city, kept so a planner can view, compare and adopt
one later; adopting writes a new layout version through the registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class GridPlan(Base):
    __tablename__ = "grid_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    adopted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    adopted_by: Mapped[str | None] = mapped_column(String(200))
    layout_version: Mapped[int | None] = mapped_column(Integer)
