"""API input and output of teams, contracts and delivered services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from caregrid.familydoctor.vocab import (
    ConsentBy,
    ConsentMethod,
    ServiceKind,
    TeamRole,
    TerminationReason,
)
from caregrid.i18n import MessageText


class MemberIn(BaseModel):
    practitioner_code: str
    role: TeamRole


class TeamIn(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    institution_code: str
    network_code: str
    members: list[MemberIn]


class MembersIn(BaseModel):
    members: list[MemberIn]


class MemberOut(BaseModel):
    practitioner_id: int
    practitioner_code: str
    name: str
    role: str
    title_level: str
    institution_code: str
    institution_level: str


class TeamCheckOut(BaseModel):
    requirement: str
    outcome: str  # pass | fail | not-applicable
    detail: MessageText


class FulfilmentOut(BaseModel):
    """Package items delivered (capped at due) and due so far (E5)."""

    delivered: int
    due: int


class TeamOut(BaseModel):
    id: int
    code: str
    name: str
    institution_code: str
    network_code: str
    members: list[MemberOut]
    checks: list[TeamCheckOut]
    panel: int
    panel_max: int | None
    fulfilment: FulfilmentOut


class ConsentIn(BaseModel):
    method: ConsentMethod
    by: ConsentBy = ConsentBy.RESIDENT
    signatory: str = Field(min_length=1, max_length=100, description="who signed the consent")


class ContractIn(BaseModel):
    resident_id: int
    team_code: str
    doctor_code: str = Field(description="the team's general practitioner responsible")
    packages: list[str] = Field(min_length=1)
    starts_on: date | None = Field(default=None, description="today if omitted")
    consent: ConsentIn


class RenewIn(BaseModel):
    consent: ConsentIn
    packages: list[str] | None = Field(default=None, description="the same ones if omitted")


class TerminateIn(BaseModel):
    reason: TerminationReason
    note: str | None = Field(default=None, max_length=1000)


class ContractItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    package_code: str
    package_name_zh: str
    package_name_en: str
    service: str
    kind: str
    name_zh: str
    name_en: str
    times_per_year: int
    price_cny: Decimal
    insurance_share: Decimal
    delivered: int = 0
    due: int = 0


class ContractOut(BaseModel):
    id: int
    resident_id: int
    team_code: str
    team_name: str
    network_code: str
    doctor_code: str
    doctor_name: str
    starts_on: date
    ends_on: date
    status: str
    valid_today: bool
    terminated_on: date | None
    termination_reason: str | None
    consent_method: str
    consent_by: str
    consent_signatory: str
    renewed_from_id: int | None
    items: list[ContractItemOut]


class DeliveryIn(BaseModel):
    resident_id: int
    service: str = Field(min_length=1, max_length=60)
    kind: ServiceKind | None = Field(default=None, description="from the contract item if omitted")
    delivered_on: date | None = Field(default=None, description="today if omitted")
    note: str | None = Field(default=None, max_length=1000)


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resident_id: int
    contract_id: int | None
    item_id: int | None
    service: str
    kind: str
    delivered_on: date
    recorded_by: str
