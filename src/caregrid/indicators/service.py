"""Indicator values for the registry's units: institution cells from an engine, rolled up to
the networks each institution belongs to and to its city."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import workflow
from caregrid.activity.export import DB_PART, export
from caregrid.activity.facts import Fact, fact
from caregrid.config import get_settings
from caregrid.indicators import engine, incremental
from caregrid.indicators.definitions import Indicator, catalogue, shipped
from caregrid.indicators.models import Evaluation
from caregrid.indicators.targets import Assessment, assess, target_for
from caregrid.policy import service as policy
from caregrid.registry import service as registry

Engine = Literal["duckdb", "postgres", "spark"]
Cell = engine.Cell


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
    cached: bool = True,
) -> list[engine.Cell]:
    """Institution cells and their roll-ups; area indicators' network cells and theirs.
    DuckDB and Spark read the Parquet facts under `facts_root`, month by month, reusing what
    the facts have not changed since; `cached=False` computes every month afresh without
    touching the store (the reference the stored cells are checked and timed against)."""
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
        cells = (
            incremental.compute(facts_root, registry_dims, chosen, period, run, stats)
            if cached
            else run(facts_root, registry_dims, chosen, period)
        )
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
    needed = engine.read_facts(indicators)
    savepoint = session.begin_nested()
    try:
        workflow.collect(session, clock.today(), only=needed)
        session.flush()
        if chosen != "duckdb":
            return compute(session, period, using=chosen, indicators=indicators)
        read = tuple(fact(name) for name in sorted(needed))
        with snapshot(session, read, store) as root:
            return compute(session, period, facts_root=root, indicators=indicators)
    finally:
        savepoint.rollback()


def monthly(session: Session, period: engine.Period, ids: tuple[str, ...]) -> list[Cell]:
    """The indicators `ids` month by month, as `live` computes them: a series to compare."""
    return live(session, period, tuple(catalogue().get(i) for i in ids))


@contextmanager
def snapshot(
    session: Session, facts: tuple[Fact, ...], store: Path | None = None
) -> Iterator[Path]:
    """A scratch facts directory for DuckDB: the operational store's rows of `facts` exported
    beside the member systems' parts of the analytics store `store` (linked, not copied)."""
    with tempfile.TemporaryDirectory(prefix="caregrid-live-") as scratch:
        root = Path(scratch)
        export(session, root, facts)
        _link_member_parts(store or get_settings().effective_facts_dir, root, facts)
        yield root


@dataclass(frozen=True)
class EvaluationInForce:
    """The network's latest evaluation whose period ended by a day: what funding and payment
    rest on (K9)."""

    id: int
    period: str
    ended_on: date
    met: int  # criteria the evaluator scored met (or CareGrid's check found met, unscored)
    criteria: int


def evaluation_in_force(session: Session, network_code: str, on: date) -> EvaluationInForce | None:
    from caregrid.indicators.evaluation import period_bounds

    network = registry.get_network(session, network_code)
    profile = policy.get(network.profile)
    found: EvaluationInForce | None = None
    for stored in session.scalars(select(Evaluation).where(Evaluation.network_id == network.id)):
        ended = period_bounds(profile, stored.period)[1]
        if ended > on or (found is not None and ended <= found.ended_on):
            continue
        met = sum(1 for i in stored.items if (i.verdict or i.automatic) == "met")
        found = EvaluationInForce(stored.id, stored.period, ended, met, len(stored.items))
    return found


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


# --- the measures pages: figures per member and for the network ------------------------------


@dataclass(frozen=True)
class Figure:
    """One indicator for one unit over a period: numerator and denominator summed over the
    months apart (DHIS2), the target it is assessed against and, for a target of a rise on a
    year earlier, the same months' numerator then."""

    indicator: Indicator
    numerator: float
    denominator: float | None
    assessment: Assessment
    previous: float | None = None

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return self.numerator
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def growth(self) -> float | None:
        """The rise on a year earlier (0.1 is +10%), for a count."""
        if not self.previous or self.denominator is not None:
            return None
        return self.numerator / self.previous - 1


@dataclass(frozen=True)
class Row:
    """A measures page's row: a member institution, or the network's total (code = the
    network's code)."""

    code: str
    name: str
    figures: dict[str, Figure]


def year_period(year: int, today: date) -> engine.Period:
    """A calendar year's months; the current year's up to this month (what has happened)."""
    last = 12 if year < today.year else today.month
    return f"{year}-01", f"{year}-{last:02d}"


def period_end(period: engine.Period) -> date:
    return date.fromisoformat(engine.days(period)[1])


def network_rows(
    session: Session,
    network_code: str,
    ids: tuple[str, ...],
    period: engine.Period,
    *,
    using: Engine | None = None,
    store: Path | None = None,
) -> list[Row]:
    """The indicators `ids` for each member institution, then the network's total, assessed
    against the network's profile targets on the earlier of today and the period's last day."""
    network = registry.get_network(session, network_code)
    members = sorted((m.institution for m in network.memberships), key=lambda i: i.code)
    units = [(i.code, i.name_zh) for i in members] + [(network.code, network.name_zh)]
    chosen = tuple(catalogue().get(i) for i in ids)
    cells = live(session, period, chosen, using=using, store=store)
    grown = tuple(i for i in chosen if i.target_growth)
    before = _year_earlier(period)
    earlier = live(session, before, grown, using=using, store=store) if grown else []
    profile = policy.get(network.profile)
    on = min(clock.today(), period_end(period))
    margin = catalogue().amber_within_points
    rows = []
    for code, name in units:
        found = {}
        for indicator in chosen:
            numerator, denominator = _summed(cells, indicator, code)
            previous = _summed(earlier, indicator, code)[0] if indicator in grown else None
            value = _exact(numerator, denominator)
            target = target_for(profile, indicator, on)
            prior = None if previous is None else Fraction(previous)
            found[indicator.id] = Figure(
                indicator, numerator, denominator, assess(value, target, margin, prior), previous
            )
        rows.append(Row(code, name, found))
    return rows


def _year_earlier(period: engine.Period) -> engine.Period:
    first, last = (f"{int(m[:4]) - 1}{m[4:]}" for m in period)
    return first, last


def _summed(
    cells: list[engine.Cell], indicator: Indicator, unit: str
) -> tuple[float, float | None]:
    """A unit's numerator and denominator summed over the months; a ratio without cells has
    a denominator of 0 (no value), a count none."""
    mine = [c for c in cells if c.indicator == indicator.id and c.unit == unit]
    numerator = sum(c.numerator for c in mine)
    if indicator.denominator is None:
        return numerator, None
    return numerator, sum(c.denominator or 0.0 for c in mine)


def _exact(numerator: float, denominator: float | None) -> Fraction | None:
    """What a target is compared with, exactly: 2 of 5 meets 40%."""
    if denominator is None:
        return Fraction(numerator)
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)
