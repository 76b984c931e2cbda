"""Indicators on a small hand-computed data set: the expected numbers are written here by
hand. DuckDB over the exported Parquet and PostgreSQL on the store agree cell for cell; a
network's value sums numerators and denominators of its members apart, divided last."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caregrid.activity.export import export
from caregrid.activity.facts import fact
from caregrid.activity.importer import import_file
from caregrid.config import get_settings
from caregrid.indicators import cluster, incremental, service
from caregrid.indicators.definitions import DefinitionError, catalogue, parse
from caregrid.indicators.engine import Cell
from tests.indicators.conftest import JINDONG, LEAD, NET, PRIMARY

CITY = "jinhua"


def _at(
    cells: list[Cell], indicator: str, month: str, unit: str
) -> tuple[float, float | None] | None:
    """The cell's numerator and denominator, or None when there is no cell."""
    found = [c for c in cells if (c.indicator, c.month, c.unit) == (indicator, month, unit)]
    assert len(found) <= 1, (indicator, month, unit)
    return (found[0].numerator, found[0].denominator) if found else None


def test_every_indicator_on_the_hand_computed_set(session: Session, facts: Path) -> None:
    cells = service.compute(session, ("2025-01", "2025-12"), facts_root=facts)
    jan, feb = "2025-01", "2025-02"
    assert _at(cells, "CC3", jan, PRIMARY) == (4, 4)
    assert _at(cells, "CC3", jan, LEAD) == (0, 2)
    assert _at(cells, "CC3", jan, NET) == (4, 6)  # summed apart: 4/6, not the mean of 1 and 0
    assert _at(cells, "CC3", feb, NET) == (1, 2)
    assert _at(cells, "CD7", jan, NET) == (2, 3)
    assert _at(cells, "CD7", feb, NET) == (1, 2)
    assert _at(cells, "CC6", jan, LEAD) == (1, 2)
    assert _at(cells, "UG4", jan, LEAD) == (199, 600)
    assert _at(cells, "UG5", jan, LEAD) == (10, 40)
    assert _at(cells, "CC7", jan, PRIMARY) == (2, None)
    assert _at(cells, "CC8", jan, LEAD) == (1, None)
    assert _at(cells, "RF1", jan, LEAD) == (1, 3)
    assert _at(cells, "RF2", jan, PRIMARY) == (2, 4)
    assert _at(cells, "RF4", jan, LEAD) == (1, 1)
    assert _at(cells, "RF4", feb, LEAD) == (0, 1)
    assert _at(cells, "MR2", jan, LEAD) == (2, 3)
    assert _at(cells, "MR3", jan, LEAD) == (65, None)
    assert _at(cells, "CC5", jan, NET) == (200, 3400)
    assert Fraction(199, 600) < Fraction(1, 3) <= Fraction(100, 300)  # the slot day edge
    year = "2025-01..2025-12"  # patient-year indicators: one cell for the whole period
    assert _at(cells, "CD1", year, PRIMARY) == (1, 2)  # P1's four; P2's fourth was in 2024
    assert _at(cells, "CD4", year, PRIMARY) == (1, 1)
    assert _at(cells, "FD1", year, PRIMARY) == (2, 5)  # exactly Jinhua's 40%
    assert _at(cells, "FD1", year, NET) == (2, 5)
    # the last follow-up decides: P1's on the last day is not at target, P2's in September is
    assert _at(cells, "CD2", year, PRIMARY) == (1, 2)
    assert _at(cells, "CD5", year, PRIMARY) == (1, 1)
    # estimated patients: the adults (P5 is 18 on the last day, P4 not yet) times prevalence
    assert _at(cells, "CD3", year, PRIMARY) == pytest.approx((2, 4 * 0.275))
    assert _at(cells, "CD6", year, PRIMARY) == pytest.approx((1, 4 * 0.119))
    assert _at(cells, "FD2", year, PRIMARY) == (1, 3)  # P1 of P1, P2, P5; P3 is not key
    assert _at(cells, "CC10", year, PRIMARY) == (1, None)  # s1's six months, not s2's five
    assert _at(cells, "F8", year, PRIMARY) == (1, 4)  # s4; s7 was on last year's list
    assert _at(cells, "F8", year, NET) == (1, 5)
    assert _at(cells, "H5", year, PRIMARY) == (1, 5)  # s1 once; s4 failed; s5, s7 outside;
    # s2's clinical course and s3's of no kind are not modular training
    assert _at(cells, "H5", year, LEAD) == (1, 1)  # trained on the period's last day
    assert _at(cells, "CC2", jan, NET) == (9, 9)  # every January encounter is at a member
    assert _at(cells, "RF3", jan, NET) == (0, 3)
    assert _at(cells, "UG11", jan, LEAD) == (1, 199)  # b1; b2 was cancelled, b3 is public
    assert _at(cells, "UG12", jan, LEAD) == (1, 199)  # b1, booked by the community centre
    assert _at(cells, "UG13", jan, LEAD) == (1, None)  # b2
    assert _at(cells, "UG15", jan, LEAD) == (2, 2)  # b1 and b3 attended, no no-show
    assert _at(cells, "RF9", jan, LEAD) == (2, None)  # r1, r2 received from the centre
    assert _at(cells, "RF10", jan, PRIMARY) == (1, None)  # r3
    assert _at(cells, "RF23", jan, LEAD) == (0, 1)  # r1 completed, not closed
    assert _at(cells, "DC1", jan, LEAD) == (2, 3)  # d1 on the promise, d4; d3 not reported
    assert _at(cells, "DC2", jan, LEAD) == (36, 3)  # 2 + 30 + 4 hours over three reports
    assert _at(cells, "DC3", jan, PRIMARY) == (2, 3)  # the ECG and the X-ray taken locally
    assert _at(cells, "DC3", jan, LEAD) is None  # primary members' orders only
    assert _at(cells, "RF5", jan, LEAD) == (1, 2)  # m1 answers r1
    assert _at(cells, "RF5", jan, PRIMARY) is None  # tertiary members only
    assert _at(cells, "RF6", jan, LEAD) == (1, None)  # r3, a hypertension patient
    assert _at(cells, "RF6", feb, NET) == (1, None)
    # WISN workloads (H1): counts at each member, the network summing them
    assert _at(cells, "WL1", jan, PRIMARY) == (4, None)  # e1-e3 and the emergency e4
    assert _at(cells, "WL1", jan, NET) == (6, None)  # with the lead's e5, e6; no discharges
    assert _at(cells, "WL1", feb, NET) == (2, None)
    assert _at(cells, "WL2", jan, LEAD) == (2, None)  # m1, m2; discharges are not admissions
    assert _at(cells, "WL2", feb, LEAD) is None
    follow_ups = {c.month: c.numerator for c in cells if c.indicator == "WL3" and c.unit == NET}
    assert follow_ups == {  # each follow-up of 2025 in its month; P2's of December 2024 is not
        "2025-01": 2, "2025-03": 1, "2025-04": 2, "2025-06": 1,
        "2025-07": 2, "2025-09": 1, "2025-10": 1, "2025-12": 1,
    }  # fmt: skip
    assert _at(cells, "WS1", year, PRIMARY) == (4, None)  # s1-s4; s7 was on last year's list
    assert _at(cells, "WS1", year, NET) == (5, None)
    assert _at(cells, "WS2", year, PRIMARY) == (1, None)  # s5
    others = [c for c in cells if c.month not in (jan, feb, year) and c.indicator != "WL3"]
    assert not others


def test_area_indicators_follow_where_patients_live(session: Session, facts: Path) -> None:
    cells = service.compute(session, ("2023-03", "2023-03"), facts_root=facts)
    mar, jd = "2023-03", JINDONG
    assert _at(cells, "CC2", mar, NET) == (2, 4)  # not the TCM hospital's visit and stay
    assert _at(cells, "CC2", mar, jd) == (1, 2)  # the lead is not a member of Jindong's group
    assert _at(cells, "CC2", mar, CITY) == (3, 6)  # the resident of no grid counts nowhere
    assert _at(cells, "CC2", mar, LEAD) is None  # attributed to areas, not institutions
    assert _at(cells, "CC1", mar, NET) == (1, 2)
    assert _at(cells, "RF3", mar, NET) == (1, 2)
    assert _at(cells, "CC3", mar, NET) == (1, 3)  # by institution: a7; a1 and a5 at the lead
    assert _at(cells, "CC4", mar, jd) == (30, 130)  # by the insurance pool
    assert _at(cells, "CC4", mar, NET) is None  # no pool recorded


def test_duckdb_and_postgresql_agree(session: Session, facts: Path) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the PostgreSQL engine runs in the PostgreSQL pass of the suite")
    period = ("2023-01", "2025-12")  # the area encounters of 2023 too
    on_parquet = service.compute(session, period, facts_root=facts)
    on_store = service.compute(session, period, using="postgres")
    assert sorted(on_parquet, key=repr) == sorted(on_store, key=repr)
    assert len(on_parquet) > 40


@pytest.mark.parametrize(
    ("numerator", "message"),
    [
        ("{fact: encounter, where: \"colour = 'red'\"}", "encounter has no field 'colour'"),
        ("{fact: encounter, where: 'lower(kind) = 1'}", "is not allowed in a filter"),
        ("{fact: encounter, where: 'kind in (select 1)'}", "is not allowed in a filter"),
        ("{fact: visits}", "numerator.fact: no fact 'visits'"),
        ("{fact: encounter, sum: kind}", "'kind' is not a number field"),
        ("{fact: encounter, by: patient_id}", "'patient_id' is not an institution, division or"),
        ("{fact: encounter, where: in_area}", "in_area needs `by` a division field"),
        ("{fact: encounter, min_age: 18}", "encounter has no birth_date"),
        ("{fact: resident, by: registered_institution_code, min_age: 18}", "`min_age` is for"),
        ("{fact: resident, by: registered_institution_code, weight: 0}", "weight: above 0"),
        (
            "{fact: chronic_follow_up, distinct: patient_id, last: condition, last_where: x}",
            "last: 'condition' is not a date field",
        ),
        (
            "{fact: chronic_follow_up, distinct: patient_id, last: date}",
            "last_where: what the last row must satisfy",
        ),
        ("{fact: contract, among: {fact: resident, field: staff_id}}", "contract has no field"),
        (
            '{fact: contract, among: {fact: resident, where: "colour = 1"}}',
            "among.where: resident has no field 'colour'",
        ),
    ],
)
def test_a_bad_definition_fails_when_loaded(numerator: str, message: str) -> None:
    text = (
        "indicators:\n  - {id: X1, name_zh: x, name_en: x, evidence: ours, source: s, "
        f"numerator: {numerator}}}\n"
    )
    with pytest.raises(DefinitionError, match=message):
        parse(text)


def test_both_sides_have_one_attribution() -> None:
    text = (
        "indicators:\n  - {id: X2, name_zh: x, name_en: x, evidence: ours, source: s, "
        "numerator: {fact: encounter, by: home_division_code}, denominator: {fact: encounter}}\n"
    )
    with pytest.raises(DefinitionError, match="X2: both sides are attributed"):
        parse(text)


def test_spark_reads_the_same_parquet_and_agrees(session: Session, facts: Path) -> None:
    period = ("2023-01", "2025-12")
    on_duckdb = service.compute(session, period, facts_root=facts)
    on_spark = service.compute(session, period, using="spark", facts_root=facts)
    assert sorted(on_spark, key=repr) == sorted(on_duckdb, key=repr)
    assert _at(on_spark, "CC3", "2025-01", NET) == (4, 6)


def test_a_standalone_cluster_reads_the_same_parquet_and_agrees(
    session: Session, facts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A master and two workers in their own JVMs on 127.0.0.1: the executors read the
    Parquet themselves, and every cell is DuckDB's."""
    if session.get_bind().dialect.name == "postgresql":
        pytest.skip("one cluster a run: the SQLite pass starts it (the engines read Parquet)")
    from pyspark.sql import SparkSession

    period = ("2025-01", "2025-02")
    # one of each shape: shares by level, an area, patient-years, a last value, a sum
    chosen = tuple(catalogue().get(i) for i in ("CC3", "CC4", "CD1", "FD1", "UG4", "MR3"))
    on_duckdb = service.compute(session, period, facts_root=facts, indicators=chosen, cached=False)
    with cluster.standalone(workers=2, cores=1) as url:
        monkeypatch.setattr(get_settings(), "spark_master", url)
        on_cluster = service.compute(
            session, period, using="spark", facts_root=facts, indicators=chosen, cached=False
        )
        running = SparkSession.getActiveSession()
        assert running is not None and running.sparkContext.master == url
        executors = running.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
        running.stop()
    assert executors == 3  # the driver and one executor on each worker
    assert sorted(on_cluster, key=repr) == sorted(on_duckdb, key=repr)
    assert _at(on_cluster, "CC3", "2025-01", NET) == (4, 6)


def test_a_changed_month_is_the_only_one_recomputed(
    session: Session, facts: Path, tmp_path: Path
) -> None:
    period = ("2025-01", "2025-12")
    first, again, after = (incremental.Stats() for _ in range(3))
    cells = service.compute(session, period, facts_root=facts, stats=first)
    assert first.reused == 0 and "CC3 2025-02" in first.computed
    assert service.compute(session, period, facts_root=facts, stats=again) == cells
    assert again.computed == [] and again.reused == len(first.computed)
    export(session, facts)  # the same store exported again: no file changes
    header = ",".join(fact("encounter").names)
    late = tmp_path / "late.csv"
    late.write_text(
        header + "\ne12,jh-wc-chengdong,,P9,330702-chengdong,outpatient,2025-02-20,I10,,,,0,10,,\n"
    )
    import_file(session, late, fact("encounter"))
    export(session, facts)
    changed = service.compute(session, period, facts_root=facts, stats=after)
    assert sorted(after.computed) == sorted(
        [
            *(
                f"{i} 2025-02"
                for i in ("CC1", "CC2", "CC3", "CC4", "CC5", "CC6", "CD7", "RF1", "RF2", "RF3")
            ),
            "RF5 2025-02",
            "RF24 2025-02",
            "WL1 2025-02",  # the visit itself
            "WL2 2025-02",  # the month's encounters changed; still no admission
            *(f"{i} 2025-01..2025-12" for i in ("DT1", "DT2", "K6")),  # the year's encounters
        ]
    )
    assert _at(changed, "CC3", "2025-02", NET) == (2, 3)
