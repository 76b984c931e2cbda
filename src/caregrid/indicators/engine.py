"""The indicator engine: one definition, computed per institution and month by DuckDB over the
Parquet facts (the embedded default), by Spark over the same Parquet (a province or the
nation), or by PostgreSQL straight on the operational store. All run the same SQL shape; only
the fact source, the month expression and the dialect of the filter differ. Higher levels sum
numerators and denominators separately (DHIS2)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

from caregrid.activity.parquet import glob
from caregrid.config import get_settings
from caregrid.indicators.definitions import Indicator, Side


@dataclass(frozen=True)
class Cell:
    """One indicator's sums for one unit (an institution, a network, the city) and month."""

    indicator: str
    month: str
    unit: str
    numerator: float
    denominator: float | None

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return self.numerator
        return None if self.denominator == 0 else self.numerator / self.denominator


Period = tuple[str, str]  # first and last month, YYYY-MM
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Dims:
    """What the engines join from the registry: each institution's level; for indicators
    attributed to where patients live, the networks whose grid covers each division and the
    networks each institution is a member of."""

    levels: Mapping[str, str]
    areas: Pairs = ()  # (division code, network code), the grid's divisions and their children
    members: Pairs = ()  # (institution code, network code)

    @classmethod
    def build(
        cls,
        levels: Mapping[str, str],
        parents: Mapping[str, str | None],
        grids: Mapping[str, Iterable[str]],
        members: Iterable[tuple[str, str]],
    ) -> Dims:
        """`parents`: division -> parent division; `grids`: network -> its grid's divisions."""
        children: dict[str, list[str]] = defaultdict(list)
        for code, parent in parents.items():
            if parent is not None:
                children[parent].append(code)
        areas: set[tuple[str, str]] = set()
        for network, divisions in grids.items():
            todo = list(divisions)
            while todo:
                code = todo.pop()
                if (code, network) not in areas:
                    areas.add((code, network))
                    todo += children.get(code, [])
        return cls(dict(levels), tuple(sorted(areas)), tuple(sorted(set(members))))

    def key(self) -> str:
        """Changes when anything an indicator could join changes (the cache's fingerprint)."""
        text = json.dumps([sorted(self.levels.items()), self.areas, self.members])
        return hashlib.sha256(text.encode()).hexdigest()


def _joins(side: Side, level: bool, fact_rows: str, level_join: str, area: str, member: str) -> str:
    """The fact's rows with what a side's filter and unit read from the registry:
    `institution_level` (`level_join`, yielding `d.level`), and for an area side its network
    (`area_unit`) and whether the row's institution is a member of it (`in_area`)."""
    columns, joins = "", ""
    if level:
        columns += ", d.level AS institution_level"
        joins += f" {level_join} d ON d.code = p.{side.institution_field}"
    if side.division:
        columns += ", a.network AS area_unit, (m.network IS NOT NULL) AS in_area"
        joins += (
            f" JOIN {area} ON a.division = p.{side.by} LEFT JOIN {member} ON "
            "m.network = a.network AND m.institution = p.institution_code"
        )
    return f"(SELECT p.*{columns} FROM {fact_rows} p{joins})" if joins else fact_rows


def days(period: Period) -> tuple[str, str]:
    """The first and last day of a span of months."""
    year, month = map(int, period[1].split("-"))
    after = date(year + month // 12, month % 12 + 1, 1)
    return f"{period[0]}-01", (after - timedelta(days=1)).isoformat()


def label(indicator: Indicator, period: Period) -> str | None:
    """Year indicators have one cell per unit for the whole period, labelled FIRST..LAST."""
    return f"{period[0]}..{period[1]}" if indicator.period == "year" else None


def _year_select(
    side: Side, source: str, dialect: str, period: Period, among: str | None = None
) -> str:
    """A year indicator's side over the whole period (:label names its cell); `among` is the
    rows of the fact the side's semi-join reads."""
    span = days(period)
    where = side.filter_sql(dialect, span)
    if among is not None:
        where = f"({where}) AND {side.among_sql(dialect, span, among)}"
    if side.distinct is None:
        total = f"sum({side.sum})" if side.sum else f"max({side.max})" if side.max else "count(*)"
        return (
            f"SELECT :label AS month, {side.unit} AS unit, coalesce({total}, 0) AS v0 "
            f"FROM {source} AS f WHERE ({where}) GROUP BY {side.unit}"
        )
    if side.last is not None:
        # Each patient's last row by the date (ties broken by the fact's key), then its test.
        order = ", ".join(f"{c} DESC" for c in (side.last, *side.fact.key))
        return (
            f"SELECT :label AS month, unit, count(*) AS v0 FROM (SELECT {side.unit} AS unit, "
            f"({side.last_where_sql(dialect)}) AS passes, row_number() OVER (PARTITION BY "
            f"{side.unit}, {side.distinct_sql} ORDER BY {order}) AS n FROM {source} AS f "
            f"WHERE ({where})) AS g WHERE n = 1 AND passes GROUP BY unit"
        )
    return (
        f"SELECT :label AS month, unit, count(*) AS v0 FROM (SELECT {side.unit} AS unit "
        f"FROM {source} AS f WHERE ({where}) GROUP BY {side.unit}, {side.distinct_sql} "
        f"HAVING ({side.having_sql(dialect)})) AS g GROUP BY unit"
    )


Target = tuple[str, str]  # indicator id, numerator | denominator


@dataclass(frozen=True)
class Query:
    """One statement; its columns v0, v1, ... feed the targets in order."""

    sql: str
    params: dict[str, str]
    targets: list[Target]


def _queries(
    indicators: Iterable[Indicator],
    period: Period,
    dialect: str,
    source: Callable[[Side, bool], str],
    present: set[str] | None = None,
) -> list[Query]:
    """Month sides over the same fact and attribution share one scan, each its own
    conditional sum; year sides run alone. `source(side)` yields the fact's fields plus
    `month` and `institution_level`; sides over a fact not `present` (no files) are left out."""
    fused: dict[tuple[str, str], list[tuple[Target, Side]]] = defaultdict(list)
    found: list[Query] = []
    for indicator in indicators:
        for part, side in _sides(indicator).items():
            target = (indicator.id, part)
            if present is not None and side.fact.name not in present:
                continue
            if indicator.period == "month":
                fused[(side.fact.name, side.by)].append((target, side))
                continue
            among = None
            if side.among is not None:
                if present is not None and side.among.fact.name not in present:
                    continue
                among = source(Side(side.among.fact, "", None, None), False)
            sql = _year_select(side, source(side, side.uses_level), dialect, period, among)
            found.append(Query(sql, {"label": f"{period[0]}..{period[1]}"}, [target]))
    for members in fused.values():
        unit = members[0][1].unit
        sums = ", ".join(
            f"coalesce(sum(CASE WHEN ({side.filter_sql(dialect)}) THEN {side.sum or 1} "
            f"ELSE 0 END), 0) AS v{n}"
            for n, (_, side) in enumerate(members)
        )
        scanned = source(members[0][1], any(side.uses_level for _, side in members))
        sql = (
            f"SELECT month, {unit} AS unit, {sums} FROM {scanned} AS f "
            f"WHERE month BETWEEN :first AND :last GROUP BY month, {unit}"
        )
        found.append(Query(sql, {"first": period[0], "last": period[1]}, [t for t, _ in members]))
    return found


def _cells(
    indicators: Iterable[Indicator], rows: Mapping[Target, list[tuple[str, str, float]]]
) -> list[Cell]:
    """Cells from the targets' rows; a month and unit where both sides are zero has none."""
    out: list[Cell] = []
    for indicator in indicators:
        numerators: dict[tuple[str, str], float] = defaultdict(float)
        denominators: dict[tuple[str, str], float] = defaultdict(float)
        for month, unit, v in rows.get((indicator.id, "numerator"), []):
            numerators[(month, unit)] += float(v)
        for month, unit, v in rows.get((indicator.id, "denominator"), []):
            denominators[(month, unit)] += float(v)
        has_denominator = indicator.denominator is not None
        for month, unit in sorted(set(numerators) | set(denominators)):
            numerator = numerators.get((month, unit), 0.0) * _weight(indicator.numerator)
            denominator = denominators.get((month, unit), 0.0) * _weight(indicator.denominator)
            if numerator == 0 and denominator == 0 and indicator.roll_up != "min":
                continue  # a lowest value of 0 (an EMR level 0) is still a member's value
            out.append(
                Cell(
                    indicator.id,
                    month,
                    unit,
                    numerator,
                    denominator if has_denominator else None,
                )
            )
    return out


def _weight(side: Side | None) -> float:
    """A side's weight, applied to the engine's exact counts so every engine agrees."""
    return 1.0 if side is None or side.weight is None else float(side.weight)


def _sides(indicator: Indicator) -> dict[str, Side]:
    sides = {"numerator": indicator.numerator}
    if indicator.denominator is not None:
        sides["denominator"] = indicator.denominator
    return sides


def read_facts(indicators: Iterable[Indicator]) -> set[str]:
    """Every fact the indicators read, semi-joins included."""
    names = set()
    for indicator in indicators:
        for side in _sides(indicator).values():
            names.add(side.fact.name)
            if side.among is not None:
                names.add(side.among.fact.name)
    return names


def _collect(
    queries: list[Query], run: Callable[[Query], Iterable[tuple[object, ...]]]
) -> dict[Target, list[tuple[str, str, float]]]:
    """Each distinct statement runs once: sides written alike (CD1's and CD2's patients
    under management, CD3's and CD6's adults) share its result."""
    rows: dict[Target, list[tuple[str, str, float]]] = defaultdict(list)
    results: dict[str, list[tuple[object, ...]]] = {}
    for query in queries:
        key = json.dumps([query.sql, query.params], sort_keys=True)
        if key not in results:
            results[key] = list(run(query))
        for row in results[key]:
            month, unit = str(row[0]), str(row[1])
            for n, target in enumerate(query.targets):
                rows[target].append((month, unit, float(row[2 + n])))  # type: ignore[arg-type]
    return rows


def _pairs(pairs: Pairs, left: str) -> pa.Table:
    return pa.table(
        {left: [a for a, _ in pairs], "network": [b for _, b in pairs]},
        schema=pa.schema([(left, pa.string()), ("network", pa.string())]),
    )


def duckdb_cells(
    root: Path, dims: Dims, indicators: Iterable[Indicator], period: Period
) -> list[Cell]:
    """Over `<root>/<fact>/month=YYYY-MM/*.parquet`, joining `dims` from the registry."""
    chosen = list(indicators)
    present = {n for n in read_facts(chosen) if any(root.joinpath(n).glob("month=*/*.parquet"))}

    def source(side: Side, level: bool) -> str:
        files = f"read_parquet('{glob(root, side.fact)}', hive_partitioning = true)"
        return _joins(side, level, files, "LEFT JOIN dim", "area a", "member m")

    connection = duckdb.connect()
    connection.register(
        "dim", pa.table({"code": list(dims.levels), "level": list(dims.levels.values())})
    )
    connection.register("area", _pairs(dims.areas, "division"))
    connection.register("member", _pairs(dims.members, "institution"))

    def run(query: Query) -> list[tuple[object, ...]]:
        sql = query.sql
        for name in query.params:
            sql = sql.replace(f":{name}", f"${name}")
        return connection.execute(sql, query.params).fetchall()

    try:
        rows = _collect(_queries(chosen, period, "duckdb", source, present), run)
    finally:
        connection.close()
    return _cells(chosen, rows)


def _spark_session(master: str) -> SparkSession:
    """The process's Spark session on `master`; one left on another master is stopped first
    (a session outlives its caller, and getOrCreate would hand back the old one). A cluster
    on the loopback calls the driver back on the loopback."""
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    if running is not None and running.sparkContext.master != master:
        running.stop()
    builder = (
        SparkSession.builder.master(master)
        .appName("caregrid-indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    )
    if master.startswith(("spark://127.0.0.1:", "spark://localhost:")):
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    return builder.getOrCreate()


def spark_cells(
    root: Path, dims: Dims, indicators: Iterable[Indicator], period: Period
) -> list[Cell]:
    """The same queries on Spark over the same Parquet layout: in this process, or on the
    standalone cluster `spark_master` names (a province or the nation)."""
    spark = _spark_session(get_settings().spark_master)
    spark.createDataFrame(
        list(dims.levels.items()), "code string, level string"
    ).createOrReplaceTempView("dim")
    spark.createDataFrame(
        list(dims.areas), "division string, network string"
    ).createOrReplaceTempView("area")
    spark.createDataFrame(
        list(dims.members), "institution string, network string"
    ).createOrReplaceTempView("member")
    chosen = list(indicators)
    present = set()
    for name in read_facts(chosen):
        folder = root / name
        if any(folder.glob("month=*/*.parquet")):
            spark.read.parquet(str(folder)).createOrReplaceTempView(f"fact_{name}")
            present.add(name)

    def source(side: Side, level: bool) -> str:
        return _joins(side, level, f"fact_{side.fact.name}", "LEFT JOIN dim", "area a", "member m")

    def run(query: Query) -> list[tuple[object, ...]]:
        return [tuple(r) for r in spark.sql(query.sql, args=query.params).collect()]

    return _cells(chosen, _collect(_queries(chosen, period, "spark", source, present), run))


def _values(pairs: Pairs, alias: str, left: str) -> str:
    """Pairs as an inline PostgreSQL table (codes from the registry, quoted)."""
    if not pairs:
        return f"(SELECT NULL::text AS {left}, NULL::text AS network WHERE FALSE) AS {alias}"
    rows = ", ".join("({}, {})".format(*(_quote(v) for v in pair)) for pair in pairs)
    return f"(VALUES {rows}) AS {alias}({left}, network)"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def postgres_cells(
    session: Session, dims: Dims, indicators: Iterable[Indicator], period: Period
) -> list[Cell]:
    """Straight on the operational store's fact tables; levels from the registry's table."""
    chosen = list(indicators)
    area = _values(dims.areas, "a", "division")
    member = _values(dims.members, "m", "institution")

    def source(side: Side, level: bool) -> str:
        rows = (
            f"(SELECT q.*, to_char(q.{side.fact.date}, 'YYYY-MM') AS month "
            f"FROM fact_{side.fact.name} q)"
        )
        return _joins(side, level, rows, "LEFT JOIN institution", area, member)

    def run(query: Query) -> list[tuple[object, ...]]:
        return [tuple(r) for r in session.execute(text(query.sql), query.params)]

    return _cells(chosen, _collect(_queries(chosen, period, "postgres", source), run))


def roll_up(
    cells: Iterable[Cell], units: Mapping[str, Iterable[str]], lowest: Iterable[str] = ()
) -> list[Cell]:
    """Sum institution cells into higher units (`units`: institution code -> the networks or
    city it counts towards), numerator and denominator apart; the indicators in `lowest`
    take the lowest member's value instead ("every member at least level 3")."""
    numerators: dict[tuple[str, str, str], float] = defaultdict(float)
    denominators: dict[tuple[str, str, str], float | None] = {}
    minimum = set(lowest)
    for cell in cells:
        for unit in units.get(cell.unit, ()):
            key = (cell.indicator, cell.month, unit)
            if cell.indicator in minimum:
                found = numerators.get(key)
                numerators[key] = cell.numerator if found is None else min(found, cell.numerator)
                denominators[key] = None
                continue
            numerators[key] += cell.numerator
            if cell.denominator is None:
                denominators[key] = None
            else:
                denominators[key] = (denominators.get(key) or 0.0) + cell.denominator
    return [
        Cell(i, m, u, numerators[(i, m, u)], denominators[(i, m, u)])
        for i, m, u in sorted(numerators)
    ]
