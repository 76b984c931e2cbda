"""The indicator engine: one definition, computed per institution and month by DuckDB over the
Parquet facts (the embedded default), by Spark over the same Parquet (a province or the
nation), or by PostgreSQL straight on the operational store. All run the same SQL shape; only
the fact source, the month expression and the dialect of the filter differ. Higher levels sum
numerators and denominators separately (DHIS2)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

from caregrid.activity.parquet import glob
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


def days(period: Period) -> tuple[str, str]:
    """The first and last day of a span of months."""
    year, month = map(int, period[1].split("-"))
    after = date(year + month // 12, month % 12 + 1, 1)
    return f"{period[0]}-01", (after - timedelta(days=1)).isoformat()


def label(indicator: Indicator, period: Period) -> str | None:
    """Year indicators have one cell per unit for the whole period, labelled FIRST..LAST."""
    return f"{period[0]}..{period[1]}" if indicator.period == "year" else None


def _select(side: Side, source: str, dialect: str, indicator: Indicator, period: Period) -> str:
    """`source` yields the fact's fields plus `month` and `institution_level`. Parameters:
    :first and :last months (month indicators) or :label (year indicators)."""
    total = f"sum({side.sum})" if side.sum else "count(*)"
    if indicator.period == "month":
        return (
            f"SELECT month, {side.by} AS unit, coalesce({total}, 0) AS v FROM {source} AS f "
            f"WHERE ({side.filter_sql(dialect)}) AND month BETWEEN :first AND :last "
            f"GROUP BY month, {side.by}"
        )
    where = side.filter_sql(dialect, days(period))
    if side.distinct is None:
        return (
            f"SELECT :label AS month, {side.by} AS unit, coalesce({total}, 0) AS v "
            f"FROM {source} AS f WHERE ({where}) GROUP BY {side.by}"
        )
    return (
        f"SELECT :label AS month, unit, count(*) AS v FROM (SELECT {side.by} AS unit "
        f"FROM {source} AS f WHERE ({where}) GROUP BY {side.by}, {side.distinct} "
        f"HAVING ({side.having_sql(dialect)})) AS g GROUP BY unit"
    )


def _params(indicator: Indicator, period: Period) -> dict[str, str]:
    found = label(indicator, period)
    return {"label": found} if found else {"first": period[0], "last": period[1]}


def _cells(
    indicator: Indicator, rows: Mapping[str, Iterable[tuple[str, str, float]]]
) -> list[Cell]:
    numerators: dict[tuple[str, str], float] = defaultdict(float)
    denominators: dict[tuple[str, str], float] = defaultdict(float)
    for month, unit, v in rows["numerator"]:
        numerators[(month, unit)] += float(v)
    for month, unit, v in rows.get("denominator", []):
        denominators[(month, unit)] += float(v)
    keys = sorted(set(numerators) | set(denominators))
    has_denominator = indicator.denominator is not None
    return [
        Cell(
            indicator.id,
            month,
            unit,
            numerators.get((month, unit), 0.0),
            denominators.get((month, unit), 0.0) if has_denominator else None,
        )
        for month, unit in keys
    ]


def _sides(indicator: Indicator) -> dict[str, Side]:
    sides = {"numerator": indicator.numerator}
    if indicator.denominator is not None:
        sides["denominator"] = indicator.denominator
    return sides


def duckdb_cells(
    root: Path, levels: Mapping[str, str], indicators: Iterable[Indicator], period: Period
) -> list[Cell]:
    """Over `<root>/<fact>/month=YYYY-MM/*.parquet`; `levels` maps institution codes to their
    level (primary, secondary, tertiary) from the registry."""
    connection = duckdb.connect()
    dim = pa.table({"dim_code": list(levels), "dim_level": list(levels.values())})
    connection.register("dim", dim)
    out: list[Cell] = []
    for indicator in indicators:
        rows: dict[str, list[tuple[str, str, float]]] = {}
        for part, side in _sides(indicator).items():
            if not any(root.joinpath(side.fact.name).glob("month=*/*.parquet")):
                rows[part] = []
                continue
            source = (
                f"(SELECT p.*, d.dim_level AS institution_level FROM read_parquet("
                f"'{glob(root, side.fact)}', hive_partitioning = true) p "
                f"LEFT JOIN dim d ON d.dim_code = p.{side.by})"
            )
            sql = _select(side, source, "duckdb", indicator, period)
            params = _params(indicator, period)
            for name in params:
                sql = sql.replace(f":{name}", f"${name}")
            rows[part] = connection.execute(sql, params).fetchall()
        out += _cells(indicator, rows)
    connection.close()
    return out


def spark_cells(
    root: Path, levels: Mapping[str, str], indicators: Iterable[Indicator], period: Period
) -> list[Cell]:
    """The same query on Spark (local mode here; a cluster for a province or the nation)
    over the same Parquet layout."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("caregrid-indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    spark.createDataFrame(
        list(levels.items()), "dim_code string, dim_level string"
    ).createOrReplaceTempView("dim")
    out: list[Cell] = []
    for indicator in indicators:
        rows: dict[str, list[tuple[str, str, float]]] = {}
        for part, side in _sides(indicator).items():
            folder = root / side.fact.name
            if not any(folder.glob("month=*/*.parquet")):
                rows[part] = []
                continue
            spark.read.parquet(str(folder)).createOrReplaceTempView(f"fact_{side.fact.name}")
            source = (
                f"(SELECT p.*, d.dim_level AS institution_level FROM fact_{side.fact.name} p "
                f"LEFT JOIN dim d ON d.dim_code = p.{side.by})"
            )
            found = spark.sql(
                _select(side, source, "spark", indicator, period), args=_params(indicator, period)
            ).collect()
            rows[part] = [(str(r[0]), str(r[1]), float(r[2])) for r in found]
        out += _cells(indicator, rows)
    return out


def postgres_cells(session: Session, indicators: Iterable[Indicator], period: Period) -> list[Cell]:
    """Straight on the operational store's fact tables and the registry."""
    out: list[Cell] = []
    for indicator in indicators:
        rows: dict[str, list[tuple[str, str, float]]] = {}
        for part, side in _sides(indicator).items():
            source = (
                f"(SELECT p.*, to_char(p.{side.fact.date}, 'YYYY-MM') AS month, "
                f"d.level AS institution_level FROM fact_{side.fact.name} p "
                f"LEFT JOIN institution d ON d.code = p.{side.by})"
            )
            sql = _select(side, source, "postgres", indicator, period)
            result = session.execute(text(sql), _params(indicator, period))
            rows[part] = [(str(m), str(u), float(v)) for m, u, v in result]
        out += _cells(indicator, rows)
    return out


def roll_up(cells: Iterable[Cell], units: Mapping[str, Iterable[str]]) -> list[Cell]:
    """Sum institution cells into higher units (`units`: institution code -> the networks or
    city it counts towards), numerator and denominator apart."""
    numerators: dict[tuple[str, str, str], float] = defaultdict(float)
    denominators: dict[tuple[str, str, str], float | None] = {}
    for cell in cells:
        for unit in units.get(cell.unit, ()):
            key = (cell.indicator, cell.month, unit)
            numerators[key] += cell.numerator
            if cell.denominator is None:
                denominators[key] = None
            else:
                denominators[key] = (denominators.get(key) or 0.0) + cell.denominator
    return [
        Cell(i, m, u, numerators[(i, m, u)], denominators[(i, m, u)])
        for i, m, u in sorted(numerators)
    ]
