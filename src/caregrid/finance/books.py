"""The members' books under central accounting (I1): each member's monthly statement, received
from its own system or uploaded by the network's finance centre, and what is read from them.

Every figure is an engine indicator over the `financial_statement` fact (FB1-FB10 in
`data/indicators/finance.yaml`), assessed against the profile's warning lines: personnel cost
share (I6), asset-liability ratio and expenditure against budget (I2). Pay decoupled from
drug, consumable and test revenue (I5) is reported as the Pearson correlation of the year's
monthly performance pay (FB6) with each of those revenue lines (FB7-FB9), warned above the
profile's `pay_revenue_correlation_max`.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import importer
from caregrid.activity.facts import fact
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.indicators import service as indicators
from caregrid.policy import service as policy
from caregrid.registry import service as registry

REFUSAL = (
    "a network's books are kept by its finance centre (the network's office) and the commission"
)
YEAR_IDS = ("FB10", "FB4", "FB5", "FB1", "FB3", "FB6", "FB7", "FB8", "FB9")
BALANCE_ID = "FB2"  # a balance-sheet ratio: read at the latest month, not summed over the year
PAY_ID, REVENUE_LINE_IDS = "FB6", ("FB7", "FB8", "FB9")
MIN_MONTHS = 3  # fewer months than this give no correlation worth reading


@dataclass(frozen=True)
class Correlation:
    """Performance pay against one revenue line over the months with a statement."""

    line: str  # the revenue line's indicator id
    r: float | None  # Pearson's r; None with fewer than MIN_MONTHS months or a flat series
    months: int
    warned: bool


@dataclass(frozen=True)
class MemberBooks:
    code: str
    name: str
    year: dict[str, indicators.Figure]  # YEAR_IDS over the year's months
    latest_month: str | None  # the last month with a statement
    balance: indicators.Figure | None  # FB2 at that month
    correlations: tuple[Correlation, ...]

    @property
    def surplus(self) -> float | None:
        """Revenue less expenditure (收支结余), when the year has statements."""
        if not self.year["FB10"].numerator:
            return None
        return self.year["FB4"].numerator - self.year["FB5"].numerator

    @property
    def warnings(self) -> list[str]:
        """The ids of what crosses its line: red or amber figures and warned correlations."""
        figures = [*self.year.values(), *([self.balance] if self.balance else [])]
        found = [f.indicator.id for f in figures if f.assessment.state in ("red", "amber")]
        return found + [f"I5:{c.line}" for c in self.correlations if c.warned]


@dataclass(frozen=True)
class Books:
    network_code: str
    year: int
    correlation_max: Fraction | None
    members: tuple[MemberBooks, ...]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r of two equally long series; None when too short or either is constant."""
    n = len(xs)
    if n < MIN_MONTHS or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _correlations(
    cells: list[indicators.Cell], code: str, limit: Fraction | None
) -> tuple[Correlation, ...]:
    by: dict[str, dict[str, float]] = {}
    for c in cells:
        if c.unit == code:
            by.setdefault(c.indicator, {})[c.month] = c.numerator
    months = sorted(by.get(PAY_ID, {}))
    pay = [by[PAY_ID][m] for m in months]
    found = []
    for line in REVENUE_LINE_IDS:
        revenue = [by.get(line, {}).get(m, 0.0) for m in months]
        r = pearson(pay, revenue)
        warned = r is not None and limit is not None and Fraction(r) > limit
        found.append(Correlation(line, r, len(months), warned))
    return tuple(found)


def network_books(session: Session, principal: Principal, network_code: str, year: int) -> Books:
    """Each member's year from its statements, its latest balance sheet and the I5 check."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    period = indicators.year_period(year, clock.today())
    rows = indicators.network_rows(session, network_code, YEAR_IDS, period)
    monthly = indicators.monthly(session, period, (PAY_ID, *REVENUE_LINE_IDS))
    reported: dict[str, str] = {}  # unit -> its latest month with a statement
    for c in sorted(monthly, key=lambda c: c.month):
        if c.indicator == PAY_ID:
            reported[c.unit] = c.month
    limit_raw = policy.get(network.profile).parameter(
        "pay_revenue_correlation_max", indicators.period_end(period)
    )
    limit = None if limit_raw is None else Fraction(str(limit_raw))
    balances: dict[str, indicators.Figure] = {}
    for month in sorted(set(reported.values())):
        for row in indicators.network_rows(session, network_code, (BALANCE_ID,), (month, month)):
            if reported.get(row.code) == month:
                balances[row.code] = row.figures[BALANCE_ID]
    members = tuple(
        MemberBooks(
            r.code,
            r.name,
            r.figures,
            reported.get(r.code),
            balances.get(r.code),
            _correlations(monthly, r.code, limit),
        )
        for r in rows
        if r.code != network.code
    )
    return Books(network.code, year, limit, members)


def import_statements(
    session: Session, principal: Principal, network_code: str, data: bytes, *, file: str
) -> importer.ImportReport:
    """The finance centre's file of members' statements (CSV or Excel, the columns of
    docs/activity.md): every row or none, a bad row named by its line and column. A row for an
    institution that is not a member of this network is refused: each network keeps its own
    members' books. A month sent again replaces the earlier statement."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    declared = fact("financial_statement")
    suffix = ".xlsx" if data[:4] == b"PK\x03\x04" else ".csv"
    with tempfile.TemporaryDirectory(prefix="caregrid-books-") as scratch:
        path = Path(scratch) / f"statements{suffix}"
        path.write_bytes(data)
        try:
            rows, report = importer.validate(
                path, declared, importer.registry_codes(session), None, None
            )
        except importer.FactsRejected as exc:
            raise InvalidInput(_problems(exc.report, file)) from None
    report.file = file
    if report.errors:
        raise InvalidInput(_problems(report, file))
    members = {m.institution.code for m in network.memberships}
    outside = [
        Problem(
            "institution_code",
            msg("{code} is not a member of this network", code=code),
            file,
            offset + 2,
        )
        for offset, code in enumerate(rows.column("institution_code").to_pylist())
        if code not in members
    ]
    if outside:
        raise InvalidInput(outside)
    report.stored = importer.store(session, declared, rows)
    audit.record_for(
        session,
        principal,
        "financial_statements.import",
        network.id,
        purpose="central accounting of the members' books (I1)",
        subject_type="network",
        detail={"file": file, "rows": report.rows, "stored": report.stored},
    )
    return report


def _problems(report: importer.ImportReport, file: str) -> list[Problem]:
    return [Problem(e.column, e.reason, file, e.row or None) for e in report.errors]
