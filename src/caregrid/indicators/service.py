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
from caregrid.registry.models import (
    City,
    Division,
    Grid,
    Institution,
    Membership,
    Network,
    grid_division,
)

Engine = Literal["duckdb", "postgres", "spark"]


def levels(session: Session) -> dict[str, str]:
    return {
        code: level for code, level in session.execute(select(Institution.code, Institution.level))
    }


def _members(session: Session) -> list[tuple[str, str]]:
    return [
        (code, network)
        for code, network in session.execute(
            select(Institution.code, Network.code)
            .join(Membership, Membership.institution_id == Institution.id)
            .join(Network, Network.id == Membership.network_id)
        )
    ]


def dims(session: Session) -> engine.Dims:
    """The registry as the engines join it: levels, grids' divisions, memberships."""
    grids: dict[str, list[str]] = defaultdict(list)
    for network, division in session.execute(
        select(Network.code, grid_division.c.division_code).join(
            grid_division, grid_division.c.grid_id == Network.grid_id
        )
    ):
        grids[network].append(division)
    parents = {
        code: parent
        for code, parent in session.execute(select(Division.code, Division.parent_code))
    }
    return engine.Dims.build(levels(session), parents, grids, _members(session))


def units(session: Session, members: engine.Pairs) -> dict[str, list[str]]:
    """Institution code -> the networks it is a member of (`members`, from the dims) and its
    city."""
    found: dict[str, list[str]] = defaultdict(list)
    for code, network in members:
        found[code].append(network)
    for code, city in session.execute(
        select(Institution.code, City.code).join(City, City.id == Institution.city_id)
    ):
        found[code].append(city)
    return dict(found)


def cities(session: Session) -> dict[str, list[str]]:
    """Network code -> its city, where area cells (CC1, CC2) roll up."""
    found = session.execute(
        select(Network.code, City.code)
        .join(Grid, Grid.id == Network.grid_id)
        .join(City, City.id == Grid.city_id)
    )
    return {network: [city] for network, city in found}


def compute(
    session: Session,
    period: engine.Period,
    *,
    using: Engine = "duckdb",
    facts_root: Path | None = None,
    indicators: tuple[Indicator, ...] | None = None,
    stats: incremental.Stats | None = None,
) -> list[engine.Cell]:
    """Institution cells and their roll-ups; area indicators' network cells and theirs.
    DuckDB and Spark read the Parquet facts under `facts_root`, month by month, reusing what
    the facts have not changed since."""
    chosen = indicators or shipped()
    registry = dims(session)
    if using == "postgres":
        if session.get_bind().dialect.name != "postgresql":
            raise ValueError("the postgres engine runs on a PostgreSQL operational store")
        cells = engine.postgres_cells(session, registry, chosen, period)
    else:
        if facts_root is None:
            raise ValueError(f"the {using} engine reads a facts directory")
        run = engine.spark_cells if using == "spark" else engine.duckdb_cells
        cells = incremental.compute(facts_root, registry, chosen, period, run, stats)
    area = {i.id for i in chosen if i.numerator.area}
    by_institution = [c for c in cells if c.indicator not in area]
    by_network = [c for c in cells if c.indicator in area]
    return (
        cells
        + engine.roll_up(by_institution, units(session, registry.members))
        + engine.roll_up(by_network, cities(session))
    )


def refresh_facts(session: Session, root: Path) -> dict[str, int]:
    """Export the operational store's facts for DuckDB and Spark."""
    return export(session, root)
