"""REST API of the insurance global budget (I3): budgets, periods, settling, closing and
adjusting a period, and a settlement with its inputs (K9). Thin: the service decides who
may (the commission or the network's office) and what is refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from caregrid.errors import NotFound
from caregrid.finance import books, funds, gate, reimbursement
from caregrid.finance import service as finance
from caregrid.finance.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    BooksOut,
    BudgetIn,
    BudgetOut,
    ConditionOut,
    CorrelationOut,
    EvaluationRefOut,
    FigureOut,
    GateOut,
    LineOut,
    MemberBooksOut,
    MemberGrowthOut,
    PeriodIn,
    PeriodOut,
    ReimbursementOut,
    SettlementOut,
    SpecialFundsOut,
    StatementsImportOut,
    TierOut,
    WaiverOut,
)
from caregrid.indicators import service as indicators
from caregrid.indicators.schemas import FigureOut as IndicatorFigureOut
from caregrid.web.deps import DB, RowId, User
from caregrid.web.inputs import SHEET_BODY

router = APIRouter(prefix="/api", tags=["finance"])

BudgetYear = Annotated[int, Path(ge=2000, le=2100, description="the budget's calendar year")]


def _period(period: finance.Period) -> PeriodOut:
    s = period.settlement
    return PeriodOut(
        id=period.id,
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        state=None if s is None else s.state,
        settlement_id=None if s is None else s.id,
    )


def budget_out(code: str, budget: finance.Budget) -> BudgetOut:
    return BudgetOut(
        id=budget.id,
        network=code,
        year=budget.year,
        lump_sum_cny=budget.lump_sum_cny,
        dip_pool_cny=budget.dip_pool_cny,
        created_by=budget.created_by,
        periods=[_period(p) for p in budget.periods],
    )


def _adjustment(a: finance.Adjustment) -> AdjustmentOut:
    return AdjustmentOut(
        id=a.id,
        institution_code=a.institution_code,
        amount_cny=a.amount_cny,
        reason=a.reason,
        created_by=a.created_by,
        created_at=a.created_at,
    )


def settlement_out(code: str, period: finance.Period, s: finance.Settlement) -> SettlementOut:
    return SettlementOut(
        id=s.id,
        period_id=period.id,
        network=code,
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        state=s.state,
        engine=s.engine,
        claims=s.claims,
        spend_network_cny=s.spend_network_cny,
        spend_county_cny=s.spend_county_cny,
        spend_outside_cny=s.spend_outside_cny,
        pool_cny=s.pool_cny,
        points=s.points,
        point_value_cny=s.point_value_cny,
        waived_cny=s.waived_cny,
        waived_patients=s.waived_patients,
        forecast_spend_cny=s.forecast_spend_cny,
        forecast_result_cny=s.forecast_result_cny,
        forecast_network_cny=s.forecast_network_cny,
        evaluation_id=s.evaluation_id,
        evaluation_period=s.evaluation_period,
        computed_by=s.computed_by,
        computed_at=s.computed_at,
        closed_by=s.closed_by,
        closed_at=s.closed_at,
        lines=[
            LineOut(
                institution_code=line.institution_code,
                claims=line.claims,
                points=line.points,
                dip_paid_cny=line.dip_paid_cny,
                other_paid_cny=line.other_paid_cny,
            )
            for line in s.lines
        ],
        waivers=[
            WaiverOut(patient_id=w.patient_id, stays=w.stays, amount_cny=w.amount_cny)
            for w in s.waivers
        ],
        adjustments=[_adjustment(a) for a in s.adjustments],
        inputs=finance.inputs(s),
    )


@router.put("/networks/{code}/budgets/{year}", response_model=BudgetOut)
def set_budget(code: str, year: BudgetYear, body: BudgetIn, session: DB, user: User) -> BudgetOut:
    """Set (or, before a period is closed, change) the year's lump sum and DIP pool."""
    budget = finance.set_budget(
        session, user, code, year, lump_sum_cny=body.lump_sum_cny, dip_pool_cny=body.dip_pool_cny
    )
    return budget_out(code, budget)


@router.get("/networks/{code}/budgets/{year}", response_model=BudgetOut)
def get_budget(code: str, year: BudgetYear, session: DB, user: User) -> BudgetOut:
    return budget_out(code, finance.read_budget(session, user, code, year))


@router.post("/networks/{code}/budgets/{year}/months", response_model=BudgetOut, status_code=201)
def add_months(code: str, year: BudgetYear, session: DB, user: User) -> BudgetOut:
    """The year's twelve calendar months as settlement periods."""
    finance.add_months(session, user, code, year)
    return budget_out(code, finance.read_budget(session, user, code, year))


@router.post("/networks/{code}/periods", response_model=PeriodOut, status_code=201)
def add_period(code: str, body: PeriodIn, session: DB, user: User) -> PeriodOut:
    return _period(finance.add_period(session, user, code, body.starts_on, body.ends_on))


@router.post("/periods/{period_id}/settlement", response_model=SettlementOut)
def settle(period_id: RowId, session: DB, user: User) -> SettlementOut:
    """Settle the period from the claims (again, while it is open); 409 once closed."""
    code, period = finance.period_by_id(session, user, period_id)
    settled = finance.settle(session, user, code, period.starts_on)
    return settlement_out(code, period, settled)


@router.get("/periods/{period_id}/settlement", response_model=SettlementOut)
def period_settlement(period_id: RowId, session: DB, user: User) -> SettlementOut:
    code, period = finance.period_by_id(session, user, period_id)
    if period.settlement is None:
        raise NotFound(
            "period {period_id} ({starts_on}) is not settled yet",
            period_id=period_id,
            starts_on=period.starts_on,
        )
    return settlement_out(code, period, period.settlement)


@router.post("/periods/{period_id}/close", response_model=SettlementOut)
def close(period_id: RowId, session: DB, user: User) -> SettlementOut:
    """Close the period's settlement: immutable from now on, corrected by adjustments."""
    code, period = finance.period_by_id(session, user, period_id)
    return settlement_out(code, period, finance.close(session, user, code, period.starts_on))


@router.post("/periods/{period_id}/adjustments", response_model=AdjustmentOut, status_code=201)
def adjust(period_id: RowId, body: AdjustmentIn, session: DB, user: User) -> AdjustmentOut:
    code, period = finance.period_by_id(session, user, period_id)
    made = finance.adjust(
        session,
        user,
        code,
        period.starts_on,
        amount_cny=body.amount_cny,
        reason=body.reason,
        institution_code=body.institution_code,
    )
    return _adjustment(made)


@router.get("/settlements/{settlement_id}", response_model=SettlementOut)
def get_settlement(settlement_id: RowId, session: DB, user: User) -> SettlementOut:
    """A settlement with its inputs: the claims, DIP table, profile rules and evaluation."""
    code, found = finance.settlement_by_id(session, user, settlement_id)
    return settlement_out(code, found.period, found)


def _figure(f: indicators.Figure) -> FigureOut:
    return FigureOut(indicator=f.indicator.id, value=f.value, state=f.assessment.state)


def books_out(found: books.Books) -> BooksOut:
    return BooksOut(
        network_code=found.network_code,
        year=found.year,
        correlation_max=None if found.correlation_max is None else float(found.correlation_max),
        members=[
            MemberBooksOut(
                institution_code=m.code,
                name_zh=m.name,
                months=int(m.year["FB10"].numerator),
                revenue_cny=m.year["FB4"].numerator,
                expenditure_cny=m.year["FB5"].numerator,
                surplus_cny=m.surplus,
                figures=[_figure(m.year[i]) for i in ("FB1", "FB3")],
                latest_month=m.latest_month,
                balance=None if m.balance is None else _figure(m.balance),
                correlations=[CorrelationOut(**vars(c)) for c in m.correlations],
                warnings=m.warnings,
            )
            for m in found.members
        ],
    )


@router.get("/networks/{code}/books", response_model=BooksOut)
def network_books(
    code: str,
    session: DB,
    user: User,
    year: Annotated[int, Query(ge=2000, le=2100, description="the calendar year")],
) -> BooksOut:
    """Each member's year from its monthly statements (I1): revenue, expenditure, surplus,
    personnel cost share (I6), expenditure against budget and the latest asset-liability
    ratio (I2) with their warning states, and the pay-revenue correlations (I5)."""
    return books_out(books.network_books(session, user, code, year))


@router.post(
    "/networks/{code}/financial-statements",
    response_model=StatementsImportOut,
    status_code=201,
    openapi_extra=SHEET_BODY,
)
async def import_statements(
    request: Request, code: str, session: DB, user: User
) -> StatementsImportOut:
    """Members' monthly statements as CSV or Excel (the `financial_statement` columns of
    docs/activity.md): every row or none, each bad cell with its row and column; a row for
    an institution outside the network is refused."""
    report = books.import_statements(
        session, user, code, await request.body(), file="financial-statements"
    )
    return StatementsImportOut(file=report.file, rows=report.rows, stored=report.stored)


def funds_out(found: funds.SpecialFunds) -> SpecialFundsOut:
    e = found.evaluation
    return SpecialFundsOut(
        network_code=found.network_code,
        year=found.year,
        district_fund_cny=found.district_fund,
        city_fund_cny=found.city_fund,
        share=float(found.share),
        pass_share=float(found.pass_share),
        evaluation=None
        if e is None
        else EvaluationRefOut(id=e.id, period=e.period, met=e.met, criteria=e.criteria),
        passed=found.passed,
        members=[
            MemberGrowthOut(
                institution_code=m.code,
                name_zh=m.name,
                surplus_cny=m.surplus,
                previous_cny=m.previous,
                growth_cny=m.growth,
                counted_cny=m.counted,
            )
            for m in found.members
        ],
        growth_total_cny=found.growth_total,
        growth_share_cny=found.growth_share,
        to_lead_cny=found.to_lead,
    )


@router.get("/networks/{code}/special-funds/{year}", response_model=SpecialFundsOut)
def special_funds(code: str, year: BudgetYear, session: DB, user: User) -> SpecialFundsOut:
    """I4 (Jinhua): what the district pays the lead for the year, with every input: the
    evaluation in force at the year's end against the pass mark, each member's surplus a
    year apart, the growth counted and the share. 404 where the profile sets no fund."""
    found = funds.special_funds(session, user, code, year)
    if found is None:
        raise NotFound("the {code} network's profile sets no special funds (I4)", code=code)
    return funds_out(found)


@router.get("/networks/{code}/bundled-payment/{year}", response_model=GateOut)
def bundled_payment(code: str, year: BudgetYear, session: DB, user: User) -> GateOut:
    """Whether the community may be paid as one bundle (打包) inside DIP at the year's end, each
    condition with its reason. 404 where the profile does not provide for it."""
    try:
        pool = finance.get_budget(session, code, year).dip_pool_cny > 0
    except NotFound:
        pool = False
    found = gate.bundled_payment(session, user, code, year, dip_pool=pool)
    if found is None:
        raise NotFound("the {code} network's profile has no bundled payment (I3)", code=code)
    return GateOut(
        network_code=found.network_code,
        on=found.on,
        open=found.open,
        conditions=[
            ConditionOut(name=c.name, met=c.met, reason=str(c.reason)) for c in found.conditions
        ],
    )


@router.get("/networks/{code}/reimbursement/{year}", response_model=ReimbursementOut)
def reimbursement_figures(code: str, year: BudgetYear, session: DB, user: User) -> ReimbursementOut:
    """The share of cost the fund reimbursed at each tier of the network's members (FR1-FR3)
    and whether it falls tier by tier (JH 8.2), the outpatient claims elsewhere in the county
    the pool paid (FE1, E6), and the year's closed settlements (FS1-FS4)."""
    found = reimbursement.reimbursement(session, user, code, year)
    return ReimbursementOut(
        network_code=found.network_code,
        year=found.year,
        differentiated=found.differentiated,
        tiers=[TierOut(level=t.level, figure=IndicatorFigureOut.of(t.figure)) for t in found.tiers],
        steers=found.steers,
        pooled_anywhere=found.pooled_anywhere,
        pooled=IndicatorFigureOut.of(found.pooled),
        unpaid=found.unpaid,
        settled=[IndicatorFigureOut.of(f) for f in found.settled.values()],
    )
