"""Message catalogues (zh_CN.po) and the number formatting the pages share."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def amount(value: float | int | Decimal | None) -> str:
    """A count or sum for people: thousands separated, cents only when there are any."""
    if value is None:
        return "–"
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"


def money(value: float | int | Decimal | None, locale: str) -> str:
    """A sum in CNY for people: grouped, always with cents, and the currency as each language
    writes it (39,669.00 元; ¥39,669.00)."""
    if value is None:
        return "–"
    text = f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return f"¥{text}" if locale == "en" else f"{text} 元"
