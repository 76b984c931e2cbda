"""Formula injection: text a spreadsheet would run gets an apostrophe; numbers, inner
signs and plain text are left as they are. A workbook is read as text as its CSV would be."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from caregrid.spreadsheet import safe_cell, safe_row, xlsx_rows


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1", "＋1", "－1", "＠A"],
)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["张三", "a=b", " =1", "'=1", "", "13912345678", "2025-01"])
def test_other_text_is_left_alone(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_and_empty_cells_are_left_alone() -> None:
    assert safe_row([-3, -0.5, 0, None, True]) == [-3, -0.5, 0, None, True]


def test_a_workbook_reads_as_its_csv_export_would() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["day", "at", "count", "amount", "flag", "code"])
    sheet.append([date(2025, 1, 31), datetime(2025, 1, 31, 8, 30), 12.0, 12.5, True, "007"])
    sheet.append([None, None, None, None, None, None])  # trailing blank rows are dropped
    data = io.BytesIO()
    book.save(data)
    rows = xlsx_rows(data.getvalue())
    assert rows[1] == ["2025-01-31", "2025-01-31T08:30:00", "12", "12.5", "true", "007"]
    assert len(rows) == 2
    with pytest.raises(ValueError, match="not a readable Excel workbook"):
        xlsx_rows(b"PK\x03\x04 not really a zip")
