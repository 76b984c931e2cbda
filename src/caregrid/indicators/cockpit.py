"""The cockpit (驾驶舱, J8): every indicator of a network's profile for a year on one screen,
with value, target, monthly trend and state; up- and down-referrals by month; referral flows
between tiers; the members ranked. A member's own view shows its statistics and nothing of
other members (J9); the commission compares a city's networks side by side."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.facts import fact
from caregrid.activity.parquet import glob, months
from caregrid.auth import access
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.errors import Forbidden, NotFound
from caregrid.indicators import service
from caregrid.indicators.definitions import Indicator, catalogue
from caregrid.indicators.engine import Cell
from caregrid.indicators.targets import Assessment, assess, target_for
from caregrid.policy import service as policy
from caregrid.registry import service as registry


@dataclass(frozen=True)
class Tile:
    indicator: Indicator
    numerator: float
    denominator: float | None
    assessment: Assessment
    trend: list[tuple[str, float | None]]  # month, value × factor

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return self.numerator
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def shown(self) -> float | None:
        value = self.value
        return None if value is None else round(value * self.indicator.factor, 6)


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    level: str
    values: dict[str, float | None]  # indicator id -> value × factor


@dataclass
class Cockpit:
    network: registry.Network
    year: int
    unit: str  # the network's code, or a member's on its own view
    tiles: list[Tile] = field(default_factory=list)
    referrals: list[tuple[str, float, float]] = field(default_factory=list)  # month, up, down
    flows: list[tuple[str, str, int]] = field(default_factory=list)  # from tier, to tier, n
    members: list[Member] = field(default_factory=list)
    ranked_by: str = "CC3"


def facts_root() -> Path:
    return get_settings().effective_facts_dir


def latest_year(root: Path) -> int | None:
    found = months(root, fact("encounter"))
    return int(found[-1][:4]) if found else None


def _ratio(numerator: float, denominator: float | None) -> Fraction | None:
    if denominator is None:
        return None
    if denominator == 0:
        return None
    return Fraction(numerator) / Fraction(denominator)


def _value(numerator: float, denominator: float | None) -> Fraction | None:
    """What a target is compared with: the ratio, or the count of an indicator without a
    denominator (only a rise on a year earlier applies to a count)."""
    return Fraction(numerator) if denominator is None else _ratio(numerator, denominator)


Index = dict[tuple[str, str], list[Cell]]


def index(cells: list[Cell]) -> Index:
    """Cells by (indicator, unit), in month order: a screen looks up hundreds of pairs, and
    scanning every cell for each made a warm load slow."""
    found: Index = defaultdict(list)
    for c in sorted(cells, key=lambda c: c.month):
        found[(c.indicator, c.unit)].append(c)
    return found


def _sum(cells: Index, indicator: Indicator, unit: str) -> tuple[float, float | None]:
    """Numerator and denominator summed apart over the unit's months; a ratio with no cells
    has a denominator of 0 (no value), a count has none."""
    mine = cells.get((indicator.id, unit), [])
    numerator = sum(c.numerator for c in mine)
    if indicator.denominator is None:
        return numerator, None
    return numerator, sum(c.denominator or 0.0 for c in mine)


def by_institution() -> list[Indicator]:
    """The indicators a member has its own figures for (the member table's columns)."""
    return [i for i in catalogue().indicators if not i.numerator.area]


def tiles(
    cells: Index, previous: Index, unit: str, network: registry.Network, on: date
) -> list[Tile]:
    """Each indicator for the unit over the cells' months, against its target on `on`;
    `previous`: the same months a year earlier, for "+N points a year" targets. A member's
    view leaves out what is attributed to where patients live, not to an institution."""
    profile = policy.get(network.profile)
    book = catalogue()
    found = []
    for indicator in book.indicators:
        if unit != network.code and indicator.numerator.area:
            continue
        numerator, denominator = _sum(cells, indicator, unit)
        before = _value(*_sum(previous, indicator, unit))
        target = target_for(profile, indicator, on)
        ratio = _value(numerator, denominator)
        trend = [
            (c.month, None if c.value is None else c.value * indicator.factor)
            for c in cells.get((indicator.id, unit), [])
        ]
        found.append(
            Tile(
                indicator,
                numerator,
                denominator,
                assess(ratio, target, book.amber_within_points, before),
                trend,
            )
        )
    return found


def _flows(
    root: Path, levels: dict[str, str], members: set[str], year: int
) -> list[tuple[str, str, int]]:
    """Referrals sent by the network's members in the year, by sending and receiving level,
    the largest first (ties by level, so that one screen reads the same on every load)."""
    referral = fact("referral")
    if not months(root, referral):
        return []
    connection = duckdb.connect()
    connection.register("dim", pa.table({"code": list(levels), "level": list(levels.values())}))
    rows = connection.execute(
        f"SELECT coalesce(a.level, 'outside'), coalesce(b.level, 'outside'), count(*) "
        f"FROM read_parquet('{glob(root, referral)}', hive_partitioning = true) r "
        "LEFT JOIN dim a ON a.code = r.from_institution_code "
        "LEFT JOIN dim b ON b.code = r.to_institution_code "
        "WHERE r.month BETWEEN $first AND $last AND list_contains($members, "
        "r.from_institution_code) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        {"first": f"{year}-01", "last": f"{year}-12", "members": sorted(members)},
    ).fetchall()
    connection.close()
    return [(str(a), str(b), int(n)) for a, b, n in rows]


def _year_cells(session: Session, root: Path, year: int, cached: bool) -> tuple[Index, Index]:
    """The year's cells and the year before's, from the monthly store (only stale months
    recomputed) or, with `cached=False`, computed afresh."""
    this, last = (
        index(service.compute(session, (f"{y}-01", f"{y}-12"), facts_root=root, cached=cached))
        for y in (year, year - 1)
    )
    return this, last


def build(
    session: Session,
    principal: Principal,
    network_code: str,
    year: int,
    member: str | None = None,
    *,
    cached: bool = True,
) -> Cockpit:
    """The network's screen, or one member's (its own, for a member's account)."""
    network = registry.get_network(session, network_code)
    codes = {
        i.code
        for i in (
            registry.get_institution_by_id(session, m)
            for m in access.network_institution_ids(session, network.id)
        )
        if i is not None
    }
    own = access.measure_scope(
        session,
        principal,
        network.id,
        "the cockpit is for the network's office, its members and the commission",
    )
    if own is not None:
        mine = registry.get_institution_by_id(session, own)
        if mine is None or mine.code not in codes:
            raise Forbidden("your institution is not a member of {code}", code=network.code)
        if member is not None and member != mine.code:
            raise Forbidden("a member sees its own statistics only (J9)")
        member = mine.code
    if member is not None and member not in codes:
        raise Forbidden("{member} is not a member of {code}", member=member, code=network.code)
    root = facts_root()
    cells, previous = _year_cells(session, root, year, cached)
    unit = member or network.code
    on = min(date(year, 12, 31), clock.today())
    found = Cockpit(network, year, unit, tiles(cells, previous, unit, network, on))
    by_month: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for side, referral in enumerate(("CC7", "CC8")):
        for c in cells.get((referral, unit), []):
            by_month[c.month][side] += c.numerator
    found.referrals = [(m, up, down) for m, (up, down) in sorted(by_month.items())]
    levels = service.levels(session)
    found.flows = _flows(root, levels, {member} if member else codes, year)
    if member is None:
        names = {i.code: i for i in (registry.get_institution(session, c) for c in codes) if i}
        for code in sorted(codes):
            values: dict[str, float | None] = {}
            for indicator in by_institution():
                numerator, denominator = _sum(cells, indicator, code)
                ratio = _ratio(numerator, denominator)
                if ratio is not None:
                    values[indicator.id] = float(ratio * indicator.factor)
                else:
                    values[indicator.id] = numerator if denominator is None else None
            found.members.append(Member(code, names[code].name_zh, names[code].level, values))
        key = found.ranked_by
        found.members.sort(
            key=lambda m: (m.values.get(key) is None, -(m.values.get(key) or 0), m.code)
        )
    return found


@dataclass(frozen=True)
class Comparison:
    city: str
    year: int
    networks: list[registry.Network]
    tiles: dict[str, list[Tile]]  # network code -> its tiles, in catalogue order


def compare(
    session: Session, principal: Principal, city_code: str, year: int, *, cached: bool = True
) -> Comparison:
    """The commission's side-by-side view of a city's networks (K1)."""
    access.require_role(principal, Role.REGULATOR)
    city = next((c for c in registry.cities(session) if c.code == city_code), None)
    if city is None:
        raise NotFound("no city {city_code!r}", city_code=city_code)
    networks = [n for grid in city.grids for n in grid.networks]
    root = facts_root()
    cells, previous = _year_cells(session, root, year, cached)
    return Comparison(
        city.code,
        year,
        networks,
        {
            n.code: tiles(cells, previous, n.code, n, min(date(year, 12, 31), clock.today()))
            for n in networks
        },
    )
