"""Fact import: every bad row reported with its row, column and reason and nothing stored;
`skip_bad` stores the good rows and writes the rejects; a second import changes nothing;
CSV and Parquet alike; the export writes one Parquet part per month."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid.activity.export import export
from caregrid.activity.facts import FACTS, fact
from caregrid.activity.importer import FactsRejected, import_file
from caregrid.activity.models import TABLES

ENCOUNTER = fact("encounter")
HEADER = [
    "encounter_id", "institution_code", "department_code", "patient_id", "home_division_code",
    "kind", "date", "diagnosis_code", "other_diagnosis_codes", "surgery_level", "drg_weight",
    "total_cost_cny", "insurance_paid_cny", "insured_division_code", "referral_id",
]  # fmt: skip
GOOD = [
    ["E1", "jh-wc-chengdong", "", "P1", "330702-chengdong", "outpatient", "2025-01-31", "I10",
     "", "", "", "85.50", "60", "330702", ""],
    ["E2", "jh-rmyy", "card", "P1", "330702-chengdong", "admission", "2025-02-01", "I21.9",
     "I10;E11.9", "3", "1.85", "23000", "15000", "330702", "R9"],
    ["E3", "jh-rmyy", "card", "P2", "330703", "discharge", "2025-02-07", "I21.9",
     "", "4", "2.1", "0", "0", "", ""],
]  # fmt: skip
PERIOD = (date(2025, 1, 1), date(2025, 12, 31))


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TABLES["encounter"])) or 0)


def test_a_good_file_is_stored_once_and_a_changed_row_updated(
    session: Session, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "enc.csv", GOOD)
    first = import_file(session, path, ENCOUNTER, period=PERIOD)
    assert (first.rows, first.stored, first.errors) == (3, 3, [])
    again = import_file(session, path, ENCOUNTER, period=PERIOD)
    assert (again.stored, _count(session)) == (0, 3)
    changed = [row.copy() for row in GOOD]
    changed[0][11] = "90.00"
    assert import_file(session, _csv(tmp_path / "b.csv", changed), ENCOUNTER).stored == 1
    cost = session.scalar(
        select(TABLES["encounter"].c.total_cost_cny).where(
            TABLES["encounter"].c.encounter_id == "E1"
        )
    )
    assert cost == 90.0 and _count(session) == 3


def test_every_bad_row_is_reported_and_nothing_is_stored(session: Session, tmp_path: Path) -> None:
    bad = [row.copy() for row in GOOD]
    bad[0][11] = "abc"  # line 2: not a number
    bad[1][1] = "nowhere"  # line 3: unknown institution
    bad[2][6] = "2026-01-01"  # line 4: outside the period
    more = [
        GOOD[0].copy(),  # line 5: duplicate of E1
        ["E5", "jh-rmyy", "", "P3", "330703", "visit", "2025-02-30", "X", "", "5", "", "1", "1",
         "", ""],  # line 6: kind, date, ICD-10, surgery level
        ["E6", "jh-rmyy", "", "", "330703", "outpatient", "2025-03-01", "J06.9", "", "", "", "-1",
         "0", "", ""],  # line 7: patient required, cost below 0
    ]  # fmt: skip
    path = _csv(tmp_path / "bad.csv", bad + more)
    with pytest.raises(FactsRejected) as refused:
        import_file(session, path, ENCOUNTER, period=PERIOD)
    found = {(e.row, e.column, e.reason) for e in refused.value.report.errors}
    assert found == {
        (2, "total_cost_cny", "not a number"),
        (3, "institution_code", "not an institution of the registry"),
        (4, "date", "outside the period 2025-01-01..2025-12-31"),
        (5, "institution_code,encounter_id", "duplicate of an earlier row"),
        (6, "kind", "not one of outpatient, emergency, admission, discharge"),
        (6, "date", "not a date (YYYY-MM-DD)"),
        (6, "diagnosis_code", "not an ICD-10 code"),
        (6, "surgery_level", "above 4"),
        (7, "patient_id", "required"),
        (7, "total_cost_cny", "below 0"),
    }
    assert all(e.file == "bad.csv" for e in refused.value.report.errors)
    assert _count(session) == 0


def test_skip_bad_stores_the_good_rows_and_writes_the_rejects(
    session: Session, tmp_path: Path
) -> None:
    bad = [row.copy() for row in GOOD]
    bad[1][1] = "nowhere"
    report = import_file(session, _csv(tmp_path / "mixed.csv", bad), ENCOUNTER, skip_bad=True)
    assert (report.stored, _count(session)) == (2, 2)
    assert report.rejects == tmp_path / "mixed.rejects.csv"
    rejects = report.rejects.read_text(encoding="utf-8").splitlines()
    assert rejects == [
        "file,row,column,reason",
        "mixed.csv,3,institution_code,not an institution of the registry",
    ]


def test_a_missing_column_refuses_the_file(session: Session, tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "kind"]
    rows = [[v for h, v in zip(HEADER, row, strict=True) if h != "kind"] for row in GOOD]
    with pytest.raises(FactsRejected) as refused:
        import_file(session, _csv(tmp_path / "short.csv", rows, header), ENCOUNTER)
    assert [(e.row, e.column, e.reason) for e in refused.value.report.errors] == [
        (1, "kind", "missing column")
    ]


def test_an_optional_column_left_out_imports_as_empty(session: Session, tmp_path: Path) -> None:
    """A file written before an optional field was declared still imports."""
    header = [h for h in HEADER if h != "referral_id"]
    rows = [[v for h, v in zip(HEADER, row, strict=True) if h != "referral_id"] for row in GOOD]
    report = import_file(session, _csv(tmp_path / "older.csv", rows, header), ENCOUNTER)
    assert (report.stored, report.errors) == (3, [])
    table = TABLES["encounter"]
    assert session.scalar(select(func.count()).where(table.c.referral_id.is_not(None))) == 0


def test_parquet_imports_like_csv_and_the_export_writes_months(
    session: Session, tmp_path: Path
) -> None:
    table = pacsv.read_csv(_csv(tmp_path / "enc.csv", GOOD))
    pq.write_table(table, tmp_path / "enc.parquet")
    report = import_file(session, tmp_path / "enc.parquet", ENCOUNTER, period=PERIOD)
    assert (report.stored, report.errors) == (3, [])
    written = export(session, tmp_path / "facts", (ENCOUNTER,))
    assert written == {"encounter": 3}
    months = sorted(p.parent.name for p in (tmp_path / "facts" / "encounter").rglob("*.parquet"))
    assert months == ["month=2025-01", "month=2025-02"]
    rows = duckdb.execute(
        f"select month, count(*), sum(total_cost_cny) from read_parquet("
        f"'{tmp_path}/facts/encounter/*/*.parquet', hive_partitioning=true) "
        "group by month order by month"
    ).fetchall()
    assert rows == [("2025-01", 1, 85.5), ("2025-02", 2, 23000.0)]


def test_the_export_keeps_the_parts_it_did_not_write(session: Session, tmp_path: Path) -> None:
    """The analytics store holds member systems' and the synthetic city's parts beside the
    operational store's: exporting again replaces only its own part, month by month."""
    root = tmp_path / "facts"
    import_file(session, _csv(tmp_path / "enc.csv", GOOD), ENCOUNTER, period=PERIOD)
    export(session, root, (ENCOUNTER,))
    sent = root / "encounter" / "month=2025-01" / "part-his.parquet"
    sent.write_bytes((root / "encounter" / "month=2025-01" / "part-db.parquet").read_bytes())
    session.execute(TABLES["encounter"].delete())
    assert export(session, root, (ENCOUNTER,)) == {"encounter": 0}
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))
    assert left == ["encounter/month=2025-01/part-his.parquet"]


def test_the_facts_page_names_every_declared_field() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "activity.md").read_text("utf-8")
    for declared in FACTS:
        assert f"### `{declared.name}`" in page
        for name in declared.names:
            assert f"| {name} |" in page, (declared.name, name)
