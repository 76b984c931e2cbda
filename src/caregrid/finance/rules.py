"""The global budget's rules as pure functions (I3): the DIP point value of a period, the
share of a surplus the network keeps and of an overspend the fund bears, band by band, and
the year-end forecast from the months settled. Money is Decimal, rounded to the fen last."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
Bands = tuple[tuple[Fraction, Fraction], ...]  # (upper edge as a share of the budget, share)


def cny(value: Fraction | Decimal | int) -> Decimal:
    """An exact amount to the fen, half up."""
    exact = Fraction(value)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class BandPart:
    """The part of an amount that fell in one band and what the band's share made of it."""

    low: Decimal  # the band's edges in CNY
    high: Decimal | None  # None: above the last edge
    amount: Decimal
    share: Fraction
    shared: Decimal


def split(amount: Decimal, budget: Decimal, bands: Bands) -> list[BandPart]:
    """`amount` (a surplus or an overspend, 0 or more) cut at each band's edge times the
    budget; each part times its band's share, the part above the last edge at none."""
    if amount < 0:
        raise ValueError("split takes a surplus or an overspend as an amount of 0 or more")
    parts: list[BandPart] = []
    low = Fraction(0)
    left = Fraction(amount)
    for edge, share in bands:
        high = edge * Fraction(budget)
        inside = max(Fraction(0), min(left, high - low))
        if inside > 0:
            parts.append(BandPart(cny(low), cny(high), cny(inside), share, cny(inside * share)))
        left -= inside
        low = high
    if left > 0:
        parts.append(BandPart(cny(low), None, cny(left), Fraction(0), Decimal("0.00")))
    return parts


@dataclass(frozen=True)
class YearResult:
    """The year's result against the lump sum: `result` > 0 a surplus, < 0 an overspend;
    `network` what the network keeps (> 0) or bears (< 0)."""

    lump_sum: Decimal
    spend: Decimal
    result: Decimal
    parts: list[BandPart]
    network: Decimal
    fund: Decimal  # what returns to the fund (surplus) or the fund bears (overspend)


def year_result(lump_sum: Decimal, spend: Decimal, surplus: Bands, overspend: Bands) -> YearResult:
    """I3 总额包干、结余留用、合理超支分担: the surplus kept by the surplus bands, the
    overspend shared by the overspend bands (the fund's share; the network bears the rest)."""
    result = lump_sum - spend
    if result >= 0:
        parts = split(result, lump_sum, surplus)
        kept = sum((p.shared for p in parts), Decimal("0.00"))
        return YearResult(lump_sum, spend, result, parts, kept, result - kept)
    parts = split(-result, lump_sum, overspend)
    borne = sum((p.shared for p in parts), Decimal("0.00"))
    return YearResult(lump_sum, spend, result, parts, -(-result - borne), borne)


def point_value(pool: Decimal, points: Decimal) -> Fraction | None:
    """The period's DIP point value: the pool over the points of its stays (none without)."""
    return None if points == 0 else Fraction(pool) / Fraction(points)


def pro_rata(amount: Decimal, days: int, year_days: int) -> Decimal:
    """A year's amount for a period of `days`."""
    return cny(Fraction(amount) * days / year_days)


def days_between(first: date, last: date) -> int:
    """A period's days, both ends counted."""
    return (last - first).days + 1


def year_days(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def budget_share(lump_sum: Decimal, year: int, first: date, last: date) -> Decimal:
    """The lump sum's share of a period's days: what the period may spend."""
    return pro_rata(lump_sum, days_between(first, last), year_days(year))


def forecast(spend_so_far: Decimal, days_so_far: int, year_days: int) -> Decimal:
    """The year's spend if the rest of it runs as the days settled so far did."""
    if days_so_far <= 0:
        raise ValueError("a forecast needs at least one day settled")
    return cny(Fraction(spend_so_far) * year_days / days_so_far)
