"""One operational table per fact (`fact_<name>`), built from its declaration, with its natural
key as a unique constraint so a repeated import updates rather than duplicates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Date, Float, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.types import TypeEngine

from caregrid.activity.facts import FACTS, Fact, Kind
from caregrid.db.base import Base

SQL: dict[Kind, TypeEngine[Any]] = {
    Kind.TEXT: String(200),
    Kind.INT: Integer(),
    Kind.NUMBER: Float(53),
    Kind.DATE: Date(),
    Kind.BOOL: Boolean(),
}


def _table(fact: Fact) -> Table:
    return Table(
        f"fact_{fact.name}",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        *(Column(f.name, SQL[f.kind], nullable=not f.required) for f in fact.fields),
        UniqueConstraint(*fact.key, name=f"uq_fact_{fact.name}_key"),
        Index(f"ix_fact_{fact.name}_{fact.date}", fact.date),
    )


TABLES: dict[str, Table] = {fact.name: _table(fact) for fact in FACTS}
