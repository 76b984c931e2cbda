"""Indicator values for the registry's units: institution cells from an engine, rolled up to
the networks each institution belongs to and to its city."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid.activity.export import export
from caregrid.indicators import engine, incremental
from caregrid.indicators.definitions import Indicator, shipped
from caregrid.registry.models import City, Institution, Membership, Network

Engine = Literal["duckdb", "postgres", "spark"]


def levels(session: Session) -> dict[str, str]:
    return {
        code: level for code, level in session.execute(select(Institution.code, Institution.level))
    }


def units(session: Session) -> dict[str, list[str]]:
    """Institution code -> the networks it is a member of and its city."""
    found: dict[str, list[str]] = defaultdict(list)
    for code, network in session.execute(
        select(Institution.code, Network.code)
        .join(Membership, Membership.institution_id == Institution.id)
        .join(Network, Network.id == Membership.network_id)
    ):
        found[code].append(network)
    for code, city in session.execute(
        select(Institution.code, City.code).join(City, City.id == Institution.city_id)
    ):
        found[code].append(city)
    return dict(found)


def compute(
    session: Session,
    period: engine.Period,
    *,
    using: Engine = "duckdb",
    facts_root: Path | None = None,
    indicators: tuple[Indicator, ...] | None = None,
    stats: incremental.Stats | None = None,
) -> list[engine.Cell]:
    """Institution cells and their roll-ups. DuckDB and Spark read the Parquet facts under
    `facts_root`, month by month, reusing what the facts have not changed since."""
    chosen = indicators or shipped()
    if using == "postgres":
        if session.get_bind().dialect.name != "postgresql":
            raise ValueError("the postgres engine runs on a PostgreSQL operational store")
        cells = engine.postgres_cells(session, chosen, period)
    else:
        if facts_root is None:
            raise ValueError(f"the {using} engine reads a facts directory")
        run = engine.spark_cells if using == "spark" else engine.duckdb_cells
        cells = incremental.compute(facts_root, levels(session), chosen, period, run, stats)
    return cells + engine.roll_up(cells, units(session))


def refresh_facts(session: Session, root: Path) -> dict[str, int]:
    """Export the operational store's facts for DuckDB and Spark."""
    return export(session, root)
