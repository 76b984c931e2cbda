"""Indicators on a small hand-computed data set: the expected numbers are written here by
hand. DuckDB over the exported Parquet and PostgreSQL on the store agree cell for cell; a
network's value sums numerators and denominators of its members apart, divided last."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caregrid.activity.export import export
from caregrid.activity.facts import fact
from caregrid.activity.importer import import_file
from caregrid.indicators import service
from caregrid.indicators.definitions import DefinitionError, parse
from caregrid.indicators.engine import Cell

NET = "jh-rmyy-wucheng"  # both institutions below are its members
PRIMARY, LEAD = "jh-wc-chengdong", "jh-rmyy"
ENCOUNTERS = [
    # id, institution, kind, date, diagnosis, surgery level, insurance paid
    ("e1", PRIMARY, "outpatient", "2025-01-03", "I10", "", "50"),
    ("e2", PRIMARY, "outpatient", "2025-01-04", "I10", "", "50"),
    ("e3", PRIMARY, "outpatient", "2025-01-05", "J06.9", "", "50"),
    ("e4", PRIMARY, "emergency", "2025-01-06", "J06.9", "", "50"),
    ("e5", LEAD, "outpatient", "2025-01-07", "I10", "", "100"),
    ("e6", LEAD, "outpatient", "2025-01-08", "K29.7", "", "100"),
    ("e7", LEAD, "discharge", "2025-01-09", "I21.9", "3", "1000"),
    ("e8", LEAD, "discharge", "2025-01-10", "K80.2", "1", "1000"),
    ("e9", LEAD, "discharge", "2025-01-11", "J18.9", "", "1000"),
    ("e10", PRIMARY, "outpatient", "2025-02-03", "E11.9", "", "50"),
    ("e11", LEAD, "outpatient", "2025-02-04", "E11.9", "", "100"),
]
CAPACITY = [  # resource, institution, department, date, total, reserved
    ("slot", LEAD, "card", "2025-01-06", "300", "100"),  # exactly one third
    ("slot", LEAD, "card", "2025-01-07", "300", "99"),
    ("bed", LEAD, "card", "2025-01-06", "40", "10"),
]
REFERRALS = [  # id, from, to, direction, date, state, closed loop
    ("r1", PRIMARY, LEAD, "up", "2025-01-05", "completed", ""),
    ("r2", PRIMARY, LEAD, "up", "2025-01-20", "sent", ""),
    ("r3", LEAD, PRIMARY, "down", "2025-01-25", "completed", "true"),
    ("r4", LEAD, PRIMARY, "down", "2025-02-10", "completed", "false"),
]
RECOGNITIONS = [  # id, institution, item, date, decision, reason, price
    ("o1", LEAD, "lipid_panel", "2025-01-15", "reused", "", "40"),
    ("o2", LEAD, "ecg_12", "2025-01-16", "reused", "", "25"),
    ("o3", LEAD, "chest_xray", "2025-01-17", "repeated", "condition_changed", "80"),
]


def _write(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def facts(session: Session, tmp_path: Path) -> Path:
    files = {
        "encounter": _write(
            tmp_path / "enc.csv",
            ["encounter_id", "institution_code", "department_code", "patient_id",
             "home_division_code", "kind", "date", "diagnosis_code", "other_diagnosis_codes",
             "surgery_level", "drg_weight", "total_cost_cny", "insurance_paid_cny",
             "insured_division_code", "referral_id"],
            [(i, inst, "", "P1", "330702-chengdong", kind, day, dx, "", level, "", "0", paid,
              "", "") for i, inst, kind, day, dx, level, paid in ENCOUNTERS],
        ),
        "capacity": _write(
            tmp_path / "cap.csv",
            ["resource", "institution_code", "department_code", "date", "total", "reserved"],
            CAPACITY,  # type: ignore[arg-type]
        ),
        "referral": _write(
            tmp_path / "ref.csv",
            ["referral_id", "from_institution_code", "to_institution_code", "direction",
             "patient_id", "diagnosis_code", "date", "state", "closed_loop"],
            [(i, a, b, d, "P1", "I10", day, state, loop)
             for i, a, b, d, day, state, loop in REFERRALS],
        ),
        "recognition": _write(
            tmp_path / "rec.csv",
            ["order_id", "institution_code", "item_code", "date", "decision", "reason",
             "price_cny"],
            RECOGNITIONS,  # type: ignore[arg-type]
        ),
    }  # fmt: skip
    for name, path in files.items():
        import_file(session, path, fact(name))
    root = tmp_path / "facts"
    export(session, root)
    return root


def _at(cells: list[Cell], indicator: str, month: str, unit: str) -> tuple[float, float | None]:
    found = [c for c in cells if (c.indicator, c.month, c.unit) == (indicator, month, unit)]
    assert len(found) == 1, (indicator, month, unit)
    return found[0].numerator, found[0].denominator


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
    assert not [c for c in cells if c.month not in (jan, feb)]


def test_duckdb_and_postgresql_agree(session: Session, facts: Path) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the PostgreSQL engine runs in the PostgreSQL pass of the suite")
    period = ("2025-01", "2025-12")
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
        ("{fact: encounter, by: patient_id}", "'patient_id' is not an institution field"),
    ],
)
def test_a_bad_definition_fails_when_loaded(numerator: str, message: str) -> None:
    text = (
        "indicators:\n  - {id: X1, name_zh: x, name_en: x, evidence: ours, source: s, "
        f"numerator: {numerator}}}\n"
    )
    with pytest.raises(DefinitionError, match=message):
        parse(text)


def test_spark_reads_the_same_parquet_and_agrees(session: Session, facts: Path) -> None:
    period = ("2025-01", "2025-12")
    on_duckdb = service.compute(session, period, facts_root=facts)
    on_spark = service.compute(session, period, using="spark", facts_root=facts)
    assert sorted(on_spark, key=repr) == sorted(on_duckdb, key=repr)
    assert _at(on_spark, "CC3", "2025-01", NET) == (4, 6)
