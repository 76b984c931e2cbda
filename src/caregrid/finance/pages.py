"""HTML pages of the insurance global budget (I3): a network's year (its lump sum and DIP pool,
the months with their settlements, settling and closing them) and one settlement with every
figure's inputs (K9), its members' lines, the deductible waived (B7) and its adjustments.
Thin: the service decides who may and what is refused."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.errors import NotFound
from caregrid.finance import books, exports, funds, gate, reimbursement, rules
from caregrid.finance import service as finance
from caregrid.finance.api import budget_out, settlement_out
from caregrid.finance.schemas import AdjustmentIn, BudgetIn, BudgetOut, SettlementOut
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User, locale_of
from caregrid.web.forms import FormError, cleaned, submit
from caregrid.web.i18n import translator
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


def _year(request: Request, session: Session, code: str) -> int:
    """The year asked for (`?year=`, 2000 to next year); else the last year with a budget up
    to this one, else this year."""
    text, this_year = request.query_params.get("year", ""), clock.today().year
    if len(text) == 4 and text.isdigit() and 2000 <= int(text) <= this_year + 1:
        return int(text)
    return finance.latest_budget_year(session, code, this_year) or this_year


def _budget_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    year: int,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    network = registry.get_network(session, code)
    try:
        budget = budget_out(code, finance.read_budget(session, user, code, year))
    except NotFound:
        budget = None
    settled = {}
    if budget is not None:
        for period in budget.periods:
            if period.settlement_id is not None:
                found_code, found = finance.settlement_by_id(session, user, period.settlement_id)
                settled[period.id] = settlement_out(found_code, found.period, found)
    chart = _spend_against_budget(budget, settled) if budget else []
    return render(
        request,
        "finance/budget.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        year=year,
        this_year=clock.today().year,
        budget=budget,
        settled=settled,
        chart=chart,
        peak=max((max(b.spend, b.budget) for b in chart), default=Decimal(0)),
        funds=funds.special_funds(session, user, code, year),
        paid=reimbursement.reimbursement(session, user, code, year),
        gate=gate.bundled_payment(
            session, user, code, year, dip_pool=bool(budget and budget.dip_pool_cny > 0)
        ),
    )


@dataclass(frozen=True)
class Bar:
    label: str
    spend: Decimal
    budget: Decimal


def _spend_against_budget(budget: BudgetOut, settled: dict[int, SettlementOut]) -> list[Bar]:
    """Each settled period's spend for the pool's insured (inside the network, elsewhere in
    the county and outside it) beside the lump sum's share of its days."""
    found: list[Bar] = []
    for period in budget.periods:
        s = settled.get(period.id)
        if s is None:
            continue
        spend = s.spend_network_cny + s.spend_county_cny + s.spend_outside_cny
        share = rules.budget_share(
            budget.lump_sum_cny, budget.year, period.starts_on, period.ends_on
        )
        found.append(Bar(f"{period.starts_on:%m-%d}", spend, share))
    return found


@router.get("/networks/{code}/finance", response_class=HTMLResponse)
def budget_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The network's global budget for a year (`?year=`): the lump sum and DIP pool, the
    settlement periods with their state and headline figures, and the forms that set,
    settle and close them."""
    return _budget_page(request, session, user, code, _year(request, session, code))


class BudgetForm(BaseModel):
    year: str = ""
    lump_sum_cny: str = ""
    dip_pool_cny: str = ""


@router.post("/networks/{code}/finance/budget", response_class=HTMLResponse)
def set_budget(
    code: str, request: Request, session: DB, user: User, form: Annotated[BudgetForm, Form()]
) -> Response:
    typed = form.model_dump()
    year = int(form.year) if form.year.isdigit() and len(form.year) == 4 else clock.today().year
    return submit(
        session,
        "budget",
        lambda: BudgetIn.model_validate(cleaned({k: typed[k] for k in BudgetIn.model_fields})),
        lambda data: finance.set_budget(
            session,
            user,
            code,
            year,
            lump_sum_cny=data.lump_sum_cny,
            dip_pool_cny=data.dip_pool_cny,
        ),
        refused=lambda error: _budget_page(request, session, user, code, year, error, typed),
        done=lambda _: f"/networks/{code}/finance?year={year}",
    )


@router.post("/networks/{code}/finance/{year}/months", response_class=HTMLResponse)
def add_months(code: str, year: int, request: Request, session: DB, user: User) -> Response:
    return submit(
        session,
        "months",
        lambda: year,
        lambda y: finance.add_months(session, user, code, y),
        refused=lambda error: _budget_page(request, session, user, code, year, error),
        done=lambda _: f"/networks/{code}/finance?year={year}",
    )


def _period_action(
    request: Request, session: Session, user: Principal, period_id: int, action: str
) -> Response:
    """Settle or close a period from the budget page, back to it (or to its refusal)."""
    code, period = finance.period_by_id(session, user, period_id)
    year = period.starts_on.year
    work = finance.settle if action == "settle" else finance.close
    return submit(
        session,
        f"{action}-{period_id}",
        lambda: period.starts_on,
        lambda starts_on: work(session, user, code, starts_on),
        refused=lambda error: _budget_page(request, session, user, code, year, error),
        done=lambda s: f"/settlements/{s.id}",
    )


@router.post("/periods/{period_id}/settle", response_class=HTMLResponse)
def settle(period_id: int, request: Request, session: DB, user: User) -> Response:
    return _period_action(request, session, user, period_id, "settle")


@router.post("/periods/{period_id}/close", response_class=HTMLResponse)
def close(period_id: int, request: Request, session: DB, user: User) -> Response:
    return _period_action(request, session, user, period_id, "close")


def _settlement_page(
    request: Request,
    session: Session,
    user: Principal,
    settlement_id: int,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    code, found = finance.settlement_by_id(session, user, settlement_id)
    return render(
        request,
        "finance/settlement.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=registry.get_network(session, code),
        s=settlement_out(code, found.period, found),
        names=registry.institution_names(session),
        current=found.period.settlement is not None and found.period.settlement.id == found.id,
    )


@router.get("/settlements/{settlement_id}", response_class=HTMLResponse)
def settlement_page(settlement_id: int, request: Request, session: DB, user: User) -> Response:
    """A settlement's figures, each member's line, the deductible waived per patient, the
    adjustments and the inputs it was computed from."""
    return _settlement_page(request, session, user, settlement_id)


@router.get("/settlements/{settlement_id}/workbook.xlsx")
def settlement_excel(settlement_id: int, request: Request, session: DB, user: User) -> Response:
    """The settlement as a workbook: figures, members' lines, waivers, adjustments, inputs."""
    code, found = finance.settlement_by_id(session, user, settlement_id)
    data = exports.workbook(
        settlement_out(code, found.period, found),
        registry.institution_names(session),
        translator(locale_of(request)),
    )
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{code}-{found.period.starts_on}.xlsx"'
        },
    )


class AdjustmentForm(BaseModel):
    amount_cny: str = ""
    reason: str = ""
    institution_code: str = ""


@router.post("/settlements/{settlement_id}/adjustments", response_class=HTMLResponse)
def adjust(
    settlement_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[AdjustmentForm, Form()],
) -> Response:
    typed = form.model_dump()
    code, found = finance.settlement_by_id(session, user, settlement_id)
    return submit(
        session,
        "adjustment",
        lambda: AdjustmentIn.model_validate(cleaned(typed, ("institution_code",))),
        lambda data: finance.adjust(
            session,
            user,
            code,
            found.period.starts_on,
            amount_cny=data.amount_cny,
            reason=data.reason,
            institution_code=data.institution_code,
        ),
        refused=lambda error: _settlement_page(request, session, user, settlement_id, error, typed),
        done=lambda _: f"/settlements/{settlement_id}#adjustments",
    )


def _books_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    year: int,
    error: FormError | None = None,
) -> Response:
    return render(
        request,
        "finance/books.html",
        user,
        status=error.status if error else 200,
        error=error,
        network=registry.get_network(session, code),
        year=year,
        this_year=clock.today().year,
        books=books.network_books(session, user, code, year),
    )


@router.get("/networks/{code}/finance/books", response_class=HTMLResponse)
def books_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The members' books for a year (`?year=`): each member's revenue, expenditure and
    surplus, the warning lines (I2, I6), the pay-revenue correlations (I5), and the upload."""
    return _books_page(request, session, user, code, _year(request, session, code))


@router.post("/networks/{code}/finance/books", response_class=HTMLResponse)
async def import_statements(
    code: str, request: Request, session: DB, user: User, file: UploadFile
) -> Response:
    """The finance centre uploads members' statements (CSV or Excel): all rows or none."""
    data = await file.read()
    year = _year(request, session, code)
    return submit(
        session,
        "statements",
        lambda: data,
        lambda body: books.import_statements(
            session, user, code, body, file=file.filename or "statements"
        ),
        refused=lambda error: _books_page(request, session, user, code, year, error),
        done=lambda _: f"/networks/{code}/finance/books?year={year}",
    )
