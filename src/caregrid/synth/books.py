"""The synthetic city's members' books (I1, I2, I5, I6): a statement per member and month for
the year and the one before (I4 compares a member's surplus a year apart). Revenue by beds
or drawn for a primary institution; its lines, expenses, personnel cost, pay, budget and
balance sheet by drawn shares; a drawn few members whose performance pay still follows their
drug revenue (all ours: no published figures)."""

from __future__ import annotations

import numpy as np

from caregrid.synth.columns import dates, numbers, table, take
from caregrid.synth.draws import PRIMARY, S_BOOKS, Array, Calendar, stream
from caregrid.synth.rates import ShareSpan
from caregrid.synth.year import Year


def _between(rng: np.random.Generator, span: ShareSpan, n: int) -> Array:
    return rng.uniform(span.low, span.high, n)


def financial_statement_facts(year: Year) -> None:
    rates, city = year.rates.books, year.city
    leads = np.zeros(len(city.level), dtype=bool)
    leads[city.lead_of[city.lead_of >= 0]] = True
    at = np.flatnonzero((city.network_of >= 0) | leads)  # every network's members and leads
    n = len(at)
    if not n:
        return
    rng = stream(year.seed, S_BOOKS)
    hospital = city.level[at] != PRIMARY
    span = rates.primary_revenue_month
    drawn = rng.integers(span.low, span.high + 1, n).astype(np.float64)
    revenue = np.where(
        hospital, np.maximum(city.beds[at], 1) * rates.revenue_per_bed_month.value, drawn
    )
    expenses = revenue * _between(rng, rates.expense_ratio, n)
    shares = {
        line: _between(rng, getattr(rates, f"{line}_share"), n)
        for line in ("drug", "consumable", "test", "business", "personnel", "performance")
    }
    tied = rng.random(n) < rates.pay_tied_share.value
    budgeted = rng.random(n) < rates.budget_share.value
    assets = revenue * rng.integers(rates.assets_months.low, rates.assets_months.high + 1, n)
    liabilities = assets * _between(rng, rates.liability_ratio, n)
    grown = 1 + _between(rng, rates.revenue_growth, n)
    spent = 1 + _between(rng, rates.expenditure_growth, n)
    before = Calendar.of(year.cal.year - 1)

    def wobble() -> Array:
        return np.clip(1 + rng.normal(0, rates.month_noise.value, n), 0.5, 1.5)

    for cal, scale_revenue, scale_expenses in ((before, 1 / grown, 1 / spent), (year.cal, 1, 1)):
        for m in range(12):
            month_revenue = revenue * scale_revenue * wobble()
            month_expenses = expenses * scale_expenses * wobble()
            drug = month_revenue * shares["drug"] * wobble()
            business = month_expenses * shares["business"]
            personnel = business * shares["personnel"]
            pay = np.where(
                tied,
                personnel * shares["performance"] * drug / (revenue * shares["drug"]),
                personnel * shares["performance"] * wobble(),
            )
            year.out.put(
                "financial_statement",
                cal.month(m),
                table(
                    "financial_statement",
                    {
                        "institution_code": take(city.institutions, at),
                        "month_end": dates(np.full(n, int(cal.month_starts[m + 1]) - 1)),
                        "revenue_cny": numbers(np.round(month_revenue, 2)),
                        "drug_revenue_cny": numbers(np.round(np.minimum(drug, month_revenue), 2)),
                        "consumable_revenue_cny": numbers(
                            np.round(month_revenue * shares["consumable"] * wobble(), 2)
                        ),
                        "test_revenue_cny": numbers(
                            np.round(month_revenue * shares["test"] * wobble(), 2)
                        ),
                        "expenditure_cny": numbers(np.round(month_expenses, 2)),
                        "business_expenditure_cny": numbers(np.round(business, 2)),
                        "personnel_cost_cny": numbers(np.round(personnel, 2)),
                        "performance_pay_cny": numbers(np.round(np.minimum(pay, personnel), 2)),
                        "budget_expenditure_cny": numbers(
                            np.round(expenses * scale_expenses, 2), budgeted
                        ),
                        "assets_cny": numbers(np.round(assets, 2)),
                        "liabilities_cny": numbers(np.round(liabilities, 2)),
                    },
                ),
                "0",
            )
