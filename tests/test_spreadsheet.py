"""Formula injection: text a spreadsheet would run gets an apostrophe; numbers, inner
signs and plain text are left as they are."""

from __future__ import annotations

import pytest

from caregrid.spreadsheet import safe_cell, safe_row


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
