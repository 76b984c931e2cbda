"""API input and output of centres, orders, reports and recognition."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from caregrid.diagnostics.vocab import AssessmentResult, CentreKind, RepeatReason


class CentreItemIn(BaseModel):
    item_code: str
    turnaround_hours: int = Field(ge=1, le=24 * 60)


class CentreIn(BaseModel):
    network_code: str
    kind: CentreKind
    institution_code: str
    name: str = Field(min_length=1, max_length=200)
    members: list[str] | None = Field(default=None, description="all the network if omitted")
    items: list[CentreItemIn] = Field(
        default_factory=list, description="what it offers (a sterilisation centre offers none)"
    )
    readers: list[str] = Field(default_factory=list, description="usernames qualified to sign")


class OrderIn(BaseModel):
    resident_id: int
    item_code: str
    acquired_at_member: bool = Field(
        default=False, description="acquired here, read by the centre (基层检查、上级诊断)"
    )


class ValueIn(BaseModel):
    component: str
    value: Decimal
    unit: str


class ReportIn(BaseModel):
    observed_on: date | None = Field(default=None, description="today if omitted")
    values: list[ValueIn] = Field(default_factory=list)
    findings: str | None = Field(default=None, max_length=20000)
    conclusion: str | None = Field(default=None, max_length=20000)


class RepeatIn(BaseModel):
    prior_result_id: int
    reason: RepeatReason
    text: str | None = Field(default=None, max_length=2000)


class ValueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    component: str
    value: Decimal
    unit: str
    low: Decimal
    high: Decimal
    flag: str


class ResultOut(BaseModel):
    """A result as another institution sees it: data and findings, never the conclusion."""

    id: int
    item_code: str
    performed_at: str
    observed_on: date
    findings: str | None
    values: list[ValueOut]
    conclusion: str | None = None


class OfferOut(BaseModel):
    result: ResultOut
    valid_until: date
    price_cny: Decimal


class OrderOut(BaseModel):
    id: int
    resident_id: int
    item_code: str
    centre_id: int
    state: str
    acquired_at_member: bool
    ordered_at: datetime
    reported_at: datetime | None
    result_id: int | None
    offers: list[OfferOut]
    events: list[tuple[str, datetime, str]]


class QualityAssessmentIn(BaseModel):
    """One external quality assessment (室间质评) of an institution for an item category of
    the recognition catalog, as the health commission records it."""

    institution_code: str = Field(min_length=1, max_length=60)
    category: str = Field(
        min_length=1, max_length=40, description="the catalog's category, e.g. chemistry"
    )
    scheme: str = Field(min_length=1, max_length=200, description="the scheme and round")
    assessed_on: date
    result: AssessmentResult
    valid_until: date


class QualityAssessmentOut(BaseModel):
    id: int
    institution_code: str
    category: str
    scheme: str
    assessed_on: date
    result: AssessmentResult
    valid_until: date
