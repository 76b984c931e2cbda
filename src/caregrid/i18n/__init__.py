"""Message catalogues (zh_CN.po) and the number formatting the pages share."""

from __future__ import annotations


def amount(value: float | int | None) -> str:
    """A count or sum for people: thousands separated, cents only when there are any."""
    if value is None:
        return "–"
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"
