"""Indicator values for the registry's units: institution cells from an engine, rolled up to
the networks each institution belongs to and to its city."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import workflow
from caregrid.activity.export import DB_PART, export
from caregrid.activity.facts import Fact, fact
from caregrid.config import get_settings
from caregrid.indicators import engine, incremental
from caregrid.indicators.definitions import Indicator, shipped
from caregrid.registry import service as registry

Engine = Literal["duckdb", "postgres", "spark"]


def levels(session: Session) -> dict[str, str]:
    return registry.institution_levels(session)


def dims(session: Session) -> engine.Dims:
    """The registry as the engines join it: levels, grids' divisions, memberships."""
    grids: dict[str, list[str]] = defaultdict(list)
    for network, division in registry.network_division_codes(session):
        grids[network].append(division)
    parents = registry.division_parents(session)
    return engine.Dims.build(levels(session), parents, grids, registry.membership_codes(session))


def units(session: Session, members: engine.Pairs) -> dict[str, list[str]]:
    """Institution code -> the networks it is a member of (`members`, from the dims) and its
    city."""
    found: dict[str, list[str]] = defaultdict(list)
    for code, network in members:
        found[code].append(network)
    for code, city in registry.institution_city_codes(session).items():
        found[code].append(city)
    return dict(found)


def cities(session: Session) -> dict[str, list[str]]:
    """Network code -> its city, where area cells (CC1, CC2) roll up."""
    return {network: [city] for network, city in registry.network_city_codes(session).items()}


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
    registry_dims = dims(session)
    if using == "postgres":
        if session.get_bind().dialect.name != "postgresql":
            raise ValueError("the postgres engine runs on a PostgreSQL operational store")
        cells = engine.postgres_cells(session, registry_dims, chosen, period)
    else:
        if facts_root is None:
            raise ValueError(f"the {using} engine reads a facts directory")
        run = engine.spark_cells if using == "spark" else engine.duckdb_cells
        cells = incremental.compute(facts_root, registry_dims, chosen, period, run, stats)
    area = {i.id for i in chosen if i.numerator.area}
    by_institution = [c for c in cells if c.indicator not in area]
    by_network = [c for c in cells if c.indicator in area]
    lowest = [i.id for i in chosen if i.roll_up == "min"]
    return (
        cells
        + engine.roll_up(by_institution, units(session, registry_dims.members), lowest)
        + engine.roll_up(by_network, cities(session), lowest)
    )


def refresh_facts(session: Session, root: Path) -> dict[str, int]:
    """Export the operational store's facts for DuckDB and Spark."""
    return export(session, root)


def live(
    session: Session,
    period: engine.Period,
    indicators: tuple[Indicator, ...],
    *,
    using: Engine | None = None,
    store: Path | None = None,
) -> list[engine.Cell]:
    """The indicators over what the workflows have recorded up to this moment, as the measures
    pages show them, without writing anything.

    The workflows' records are collected into the fact tables inside a savepoint that is
    rolled back afterwards, so a page view leaves the store as it found it. PostgreSQL
    computes on those tables (the default there); DuckDB (the default on SQLite) reads them
    exported to a scratch directory beside the member systems' parts of the facts `store`
    (the analytics store, linked, not copied), so a member system's facts count as they do
    in the cockpit.
    """
    chosen = engine_for(session) if using is None else using
    savepoint = session.begin_nested()
    try:
        workflow.collect(session, clock.today())
        session.flush()
        if chosen != "duckdb":
            return compute(session, period, using=chosen, indicators=indicators)
        read = tuple(fact(name) for name in sorted(engine.read_facts(indicators)))
        with tempfile.TemporaryDirectory(prefix="caregrid-live-") as scratch:
            root = Path(scratch)
            export(session, root, read)
            _link_member_parts(store or get_settings().effective_facts_dir, root, read)
            return compute(session, period, facts_root=root, indicators=indicators)
    finally:
        savepoint.rollback()


def engine_for(session: Session) -> Engine:
    """PostgreSQL computes on its own fact tables; elsewhere DuckDB reads Parquet."""
    return "postgres" if session.get_bind().dialect.name == "postgresql" else "duckdb"


def _link_member_parts(store: Path, root: Path, facts: tuple[Fact, ...]) -> None:
    """Symlink the store's parts that member systems sent (every part but the operational
    store's export, which `live` writes fresh) into `root`, in the same layout."""
    for declared in facts:
        for part in (store / declared.name).glob("month=*/*.parquet"):
            if part.name == f"part-{DB_PART}.parquet":
                continue
            target = root / declared.name / part.parent.name / part.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(part.resolve())
