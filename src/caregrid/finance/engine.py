"""The settlement's sums over the claim facts, one SQL shape on two engines: DuckDB over the
Parquet facts (the embedded default) and PostgreSQL straight on the operational store, each
joining the registry as the indicator engines do (the network's pool area, its members, the
levels). Sums are exact decimals, so both engines give the same fen."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.parquet import glob
from caregrid.indicators.engine import Dims
from caregrid.registry.vocab import Level

Engine = Literal["duckdb", "postgres"]
Days = tuple[str, str]  # first and last day, ISO


@dataclass(frozen=True)
class ClaimGroup:
    """Claims of the network's insured alike in where and how they were paid."""

    institution_code: str | None
    kind: str
    dip_group: str | None
    out_of_county: bool
    member: bool  # the institution is a member of the network
    claims: int
    paid: Decimal


@dataclass(frozen=True)
class Sums:
    groups: list[ClaimGroup]
    waived: list[tuple[str, int, Decimal]]  # patient, stays, deductible not charged again


# The network's insured: those living in its grid, where the bureau's file says where they live;
# else those whose pool is one of the grid's divisions (a county community's pool is its county).
INSURED = "coalesce(c.home_division_code, c.insured_division_code)"


def _groups_sql(claims: str, area: str, member: str) -> str:
    return (
        "SELECT c.institution_code, c.kind, c.dip_group, c.out_of_county, "
        "(m.institution IS NOT NULL) AS member, count(*) AS claims, "
        "sum(CAST(c.insurance_paid_cny AS DECIMAL(18, 2))) AS paid "
        f"FROM {claims} c JOIN {area} ON a.division = {INSURED} "
        f"AND a.network = :network LEFT JOIN {member} ON m.network = a.network "
        "AND m.institution = c.institution_code "
        "WHERE c.date BETWEEN CAST(:first AS DATE) AND CAST(:last AS DATE) "
        "GROUP BY c.institution_code, c.kind, c.dip_group, c.out_of_county, "
        "(m.institution IS NOT NULL) "
        "ORDER BY 1, 2, 3, 4"
    )


def _waived_sql(claims: str, area: str, member: str, first: str, level: str) -> str:
    """B7: stays at a member, admitted on a referral, whose first visit was at a primary
    member of the same network."""
    return (
        "SELECT c.patient_id, count(*) AS stays, "
        "sum(CAST(coalesce(c.deductible_cny, 0) AS DECIMAL(18, 2))) AS amount "
        f"FROM {claims} c JOIN {area} ON a.division = {INSURED} "
        f"AND a.network = :network JOIN {member} ON m.network = a.network "
        f"AND m.institution = c.institution_code JOIN {first} ON f.network = a.network "
        f"AND f.institution = c.first_visit_institution_code JOIN {level} ON "
        "d.code = c.first_visit_institution_code "
        f"WHERE c.kind = 'inpatient' AND c.referral_id IS NOT NULL AND d.level = '{Level.PRIMARY}' "
        "AND c.date BETWEEN CAST(:first AS DATE) AND CAST(:last AS DATE) "
        "GROUP BY c.patient_id ORDER BY c.patient_id"
    )


def _unknown_sql(claims: str, area: str, groups: Iterable[str]) -> str:
    known = ", ".join(_quote(g) for g in sorted(groups)) or "NULL"
    return (
        f"SELECT c.claim_id, c.dip_group FROM {claims} c JOIN {area} ON "
        f"a.division = {INSURED} AND a.network = :network "
        f"WHERE c.dip_group IS NOT NULL AND c.dip_group NOT IN ({known}) "
        "AND c.date BETWEEN CAST(:first AS DATE) AND CAST(:last AS DATE) "
        "ORDER BY c.claim_id LIMIT 20"
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


Run = Callable[[str, dict[str, str]], list[tuple[object, ...]]]


@dataclass(frozen=True)
class Source:
    """The claim rows and the registry's tables as an engine names them."""

    claims: str
    area: str
    member: str
    first: str
    level: str
    run: Run


def _sums(source: Source, network: str, days: Days) -> Sums:
    params = {"network": network, "first": days[0], "last": days[1]}
    groups = [
        ClaimGroup(
            None if r[0] is None else str(r[0]),
            str(r[1]),
            None if r[2] is None else str(r[2]),
            bool(r[3]),
            bool(r[4]),
            int(r[5]),  # type: ignore[call-overload]
            Decimal(str(r[6])),
        )
        for r in source.run(_groups_sql(source.claims, source.area, source.member), params)
    ]
    sql = _waived_sql(source.claims, source.area, source.member, source.first, source.level)
    waived = [
        (str(r[0]), int(r[1]), Decimal(str(r[2])))  # type: ignore[call-overload]
        for r in source.run(sql, params)
    ]
    return Sums(groups, waived)


def _checked(
    source: Source, network: str, days: Days, known: Iterable[str]
) -> tuple[Sums, list[tuple[str, str]]]:
    """The sums and, only when a group of them has a DIP group not `known`, the claims that
    carry one (the refusal names them): a clean period costs no third scan."""
    sums = _sums(source, network, days)
    allowed = set(known)
    if all(g.dip_group is None or g.dip_group in allowed for g in sums.groups):
        return sums, []
    params = {"network": network, "first": days[0], "last": days[1]}
    rows = source.run(_unknown_sql(source.claims, source.area, allowed), params)
    return sums, [(str(r[0]), str(r[1])) for r in rows]


def _pairs(pairs: tuple[tuple[str, str], ...], left: str) -> pa.Table:
    return pa.table(
        {left: [a for a, _ in pairs], "network": [b for _, b in pairs]},
        schema=pa.schema([(left, pa.string()), ("network", pa.string())]),
    )


def duckdb_sums(
    root: Path, dims: Dims, network: str, days: Days, known: Iterable[str]
) -> tuple[Sums, list[tuple[str, str]]]:
    """Over `<root>/claim/month=*/*.parquet`; the claims with a group not `known` first."""
    declared = fact("claim")
    if not any((root / declared.name).glob("month=*/*.parquet")):
        return Sums([], []), []
    connection = duckdb.connect()
    connection.register(
        "dim",
        pa.table(
            {"code": list(dims.levels), "level": list(dims.levels.values())},
            schema=pa.schema([("code", pa.string()), ("level", pa.string())]),
        ),
    )
    connection.register("area", _pairs(dims.areas, "division"))
    connection.register("member", _pairs(dims.members, "institution"))

    def run(sql: str, params: dict[str, str]) -> list[tuple[object, ...]]:
        for name in params:
            sql = sql.replace(f":{name}", f"${name}")
        return connection.execute(sql, params).fetchall()

    files = f"read_parquet('{glob(root, declared)}', hive_partitioning = true)"
    source = Source(files, "area a", "member m", "member f", "dim d", run)
    try:
        return _checked(source, network, days, known)
    finally:
        connection.close()


def _values(pairs: tuple[tuple[str, str], ...], alias: str, left: str) -> str:
    if not pairs:
        return f"(SELECT NULL::text AS {left}, NULL::text AS network WHERE FALSE) AS {alias}"
    rows = ", ".join(f"({_quote(a)}, {_quote(b)})" for a, b in pairs)
    return f"(VALUES {rows}) AS {alias}({left}, network)"


def postgres_sums(
    session: Session, dims: Dims, network: str, days: Days, known: Iterable[str]
) -> tuple[Sums, list[tuple[str, str]]]:
    """Straight on the operational store's `fact_claim`; levels from the registry's table."""
    mine = tuple(p for p in dims.areas if p[1] == network)
    members = tuple(p for p in dims.members if p[1] == network)

    def run(sql: str, params: dict[str, str]) -> list[tuple[object, ...]]:
        return [tuple(r) for r in session.execute(text(sql), params)]

    source = Source(
        "fact_claim",
        _values(mine, "a", "division"),
        _values(members, "m", "institution"),
        _values(members, "f", "institution"),
        "institution d",
        run,
    )
    return _checked(source, network, days, known)
