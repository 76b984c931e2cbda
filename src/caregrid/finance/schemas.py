"""What the finance API takes and returns: budgets, periods, settlements with their inputs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from caregrid.indicators.schemas import FigureOut as IndicatorFigureOut

# Numeric(16, 2): fourteen digits before the point; beyond, the store would refuse the row.
MAX_CNY = Decimal("1e14")


class BudgetIn(BaseModel):
    """A year's lump sum (总额包干) and its DIP pool (I3); the service checks sign and fen."""

    model_config = ConfigDict(extra="forbid")

    lump_sum_cny: Decimal = Field(lt=MAX_CNY, allow_inf_nan=False)
    dip_pool_cny: Decimal = Field(lt=MAX_CNY, allow_inf_nan=False)


class PeriodIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: date
    ends_on: date


class AdjustmentIn(BaseModel):
    """A signed correction of a closed settlement (more paid > 0)."""

    model_config = ConfigDict(extra="forbid")

    amount_cny: Decimal = Field(gt=-MAX_CNY, lt=MAX_CNY, allow_inf_nan=False)
    reason: str = Field(max_length=2000)
    institution_code: str | None = Field(default=None, max_length=50)


class PeriodOut(BaseModel):
    id: int
    starts_on: date
    ends_on: date
    state: str | None  # open | closed, None before it is settled
    settlement_id: int | None


class BudgetOut(BaseModel):
    id: int
    network: str
    year: int
    lump_sum_cny: Decimal
    dip_pool_cny: Decimal
    created_by: str
    periods: list[PeriodOut]


class LineOut(BaseModel):
    institution_code: str
    claims: int
    points: Decimal
    dip_paid_cny: Decimal
    other_paid_cny: Decimal


class WaiverOut(BaseModel):
    patient_id: str
    stays: int
    amount_cny: Decimal


class AdjustmentOut(BaseModel):
    id: int
    institution_code: str | None
    amount_cny: Decimal
    reason: str
    created_by: str
    created_at: datetime


class SettlementOut(BaseModel):
    """A period's figures and, in `inputs`, what each came from (K9)."""

    id: int
    period_id: int
    network: str
    starts_on: date
    ends_on: date
    state: str
    engine: str
    claims: int
    spend_network_cny: Decimal
    spend_county_cny: Decimal
    spend_outside_cny: Decimal
    pool_cny: Decimal
    points: Decimal
    point_value_cny: Decimal | None
    waived_cny: Decimal
    waived_patients: int
    forecast_spend_cny: Decimal
    forecast_result_cny: Decimal  # + surplus, - overspend
    forecast_network_cny: Decimal  # + kept, - borne
    evaluation_id: int | None
    evaluation_period: str | None
    computed_by: str
    computed_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    lines: list[LineOut]
    waivers: list[WaiverOut]
    adjustments: list[AdjustmentOut]
    inputs: dict[str, object]


class CorrelationOut(BaseModel):
    """I5: performance pay against one revenue line over the months with a statement."""

    line: str = Field(description="FB7 drugs, FB8 consumables, FB9 tests")
    r: float | None = Field(description="Pearson's r; null with under 3 months or a flat line")
    months: int
    warned: bool


class FigureOut(BaseModel):
    indicator: str
    value: float | None
    state: str = Field(description="green, amber, red, or grey without a target")


class MemberBooksOut(BaseModel):
    institution_code: str
    name_zh: str
    months: int = Field(description="FB10: the months with a statement in the year")
    revenue_cny: float
    expenditure_cny: float
    surplus_cny: float | None
    figures: list[FigureOut] = Field(description="FB1 and FB3 over the year")
    latest_month: str | None
    balance: FigureOut | None = Field(description="FB2 at the latest month")
    correlations: list[CorrelationOut]
    warnings: list[str]


class BooksOut(BaseModel):
    network_code: str
    year: int
    correlation_max: float | None
    members: list[MemberBooksOut]


class StatementsImportOut(BaseModel):
    file: str
    rows: int
    stored: int = Field(description="rows new or changed")


class EvaluationRefOut(BaseModel):
    id: int
    period: str
    met: int
    criteria: int


class MemberGrowthOut(BaseModel):
    institution_code: str
    name_zh: str
    surplus_cny: Decimal | None
    previous_cny: Decimal | None
    growth_cny: Decimal | None
    counted_cny: Decimal


class SpecialFundsOut(BaseModel):
    """I4: the district fund and the lead's share of the members' surplus growth."""

    network_code: str
    year: int
    district_fund_cny: Decimal
    city_fund_cny: Decimal | None
    share: float
    pass_share: float
    evaluation: EvaluationRefOut | None
    passed: bool
    members: list[MemberGrowthOut]
    growth_total_cny: Decimal
    growth_share_cny: Decimal
    to_lead_cny: Decimal


class ConditionOut(BaseModel):
    name: str = Field(description="provided, inside_dip, criteria or in_substance")
    met: bool
    reason: str


class GateOut(BaseModel):
    """I3 (GZ-C 三(六)): whether the community may be paid as one bundle inside DIP."""

    network_code: str
    on: date
    open: bool
    conditions: list[ConditionOut]


class TierOut(BaseModel):
    level: str
    figure: IndicatorFigureOut = Field(description="insurance paid over total cost (FR1-FR3)")


class ReimbursementOut(BaseModel):
    """JH 8.2 and E6: what the fund reimbursed at each tier of the network and elsewhere in
    the county; I3 and B7: the year's closed settlements (FS1-FS4)."""

    network_code: str
    year: int
    differentiated: bool = Field(description="the profile sets differentiated reimbursement")
    tiers: list[TierOut]
    steers: bool | None = Field(
        description="each tier with claims reimburses a larger share than the one above it"
    )
    pooled_anywhere: bool = Field(description="the profile sets E6")
    pooled: IndicatorFigureOut
    unpaid: int = Field(description="outpatient claims elsewhere in the county not paid")
    settled: list[IndicatorFigureOut]
