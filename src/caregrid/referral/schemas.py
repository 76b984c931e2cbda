"""API shapes of referrals, their timeline, catalogs and monthly measures."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from caregrid.i18n import MessageText
from caregrid.pharmacy.schemas import REGIMEN, RegimenCheckOut, RegimenLineIn
from caregrid.referral.vocab import Action, Direction, RejectionReason, State, Urgency


class ReferralIn(BaseModel):
    """A new referral. The direction is derived from the two institutions' tiers."""

    resident_id: int
    to_institution_code: str = Field(min_length=1, max_length=64)
    to_department_id: int | None = None
    from_department_id: int | None = None
    from_practitioner_id: int | None = None
    diagnosis_code: str = Field(min_length=1, max_length=20, description="ICD-10, e.g. I10")
    reason: str = Field(min_length=1, max_length=2000)
    urgency: Urgency = Urgency.ROUTINE
    clinical_summary: str = Field(min_length=1, max_length=20000)
    attachments: list[str] = Field(
        default_factory=list, description="references to attached results (report ids, URLs)"
    )
    consent: bool = Field(description="the patient consents to the referral")
    consent_note: str | None = Field(default=None, max_length=500)
    admission_requested: bool = False
    justification: str | None = Field(
        default=None, max_length=2000, description="why a first-visit-catalog disease goes up (B2)"
    )
    patient_choice_reason: str | None = Field(
        default=None, max_length=2000, description="why outside the network (B6)"
    )
    discharge_summary: str | None = Field(default=None, max_length=20000)
    follow_up_plan: str | None = Field(default=None, max_length=5000)
    regimen: list[RegimenLineIn] = REGIMEN
    slot_id: int | None = Field(default=None, description="book this slot in the same step")
    submit: bool = Field(default=True, description="false keeps it as a draft")


class TransitionIn(BaseModel):
    """An action on a referral; `version` is the one the client last saw (optimistic lock)."""

    action: Action
    version: int
    note: str | None = Field(default=None, max_length=2000)
    rejection_code: RejectionReason | None = None
    slot_id: int | None = Field(default=None, description="schedule: the slot offered")


class DownReferralIn(BaseModel):
    """The lead refers a treated patient back down (B5)."""

    version: int = Field(description="version of the up referral being answered")
    to_institution_code: str | None = Field(
        default=None, description="defaults to the unit that referred the patient up"
    )
    diagnosis_code: str | None = None
    reason: str = Field(min_length=1, max_length=2000)
    clinical_summary: str = Field(min_length=1, max_length=20000)
    discharge_summary: str | None = Field(default=None, max_length=20000)
    follow_up_plan: str | None = Field(default=None, max_length=5000)
    regimen: list[RegimenLineIn] = REGIMEN
    consent: bool = True


class FollowUpIn(BaseModel):
    version: int
    note: str = Field(min_length=1, max_length=5000)


class DecisionIn(BaseModel):
    version: int
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class EventOut(BaseModel):
    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor: str
    note: str | None


class Party(BaseModel):
    institution_code: str
    institution_name: str
    department_id: int | None
    department_name: str | None


class ReferralOut(BaseModel):
    id: int
    version: int
    network_code: str | None
    direction: str
    state: str
    resident_id: int
    resident_name: str
    sender: Party
    receiver: Party
    diagnosis_code: str
    diagnosis_title: str
    reason: str
    urgency: str
    clinical_summary: str
    attachments: list[str]
    consent: bool
    admission_requested: bool
    justification: str | None
    catalog_hit: str | None
    patient_choice_reason: str | None
    approval: str
    green_channel: bool
    deductible_rule: str
    deductible_explanation: MessageText
    discharge_summary: str | None
    follow_up_plan: str | None
    rejection_code: str | None
    rejection_note: str | None
    parent_id: int | None
    child_ids: list[int]
    slot_starts_at: datetime | None
    booking_id: int | None
    bed_label: str | None
    bed_stay_id: int | None
    bed_status: str | None
    created_at: datetime
    submitted_at: datetime | None
    answered_at: datetime | None
    acknowledged_at: datetime | None
    first_follow_up_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    allowed_actions: list[str]
    events: list[EventOut]
    regimen: RegimenCheckOut | None = None  # a down referral's discharge regimen, checked (G6)


class CatalogEntryOut(BaseModel):
    entry: str
    name_zh: str
    name_en: str
    basis: str


class CatalogOut(BaseModel):
    kind: str
    origin: str
    requirement: str
    entries: list[CatalogEntryOut]


class CatalogHint(BaseModel):
    kind: str
    entry: str
    name_zh: str
    name_en: str
    requirement: str


class DiagnosisCheck(BaseModel):
    """What the referral form shows as the doctor types a diagnosis."""

    code: str
    valid: bool
    title: str | None
    message: str | None
    hits: list[CatalogHint]


class MeasureOut(BaseModel):
    """One indicator's cell: a count has no denominator; a share's value is numerator over
    denominator (null when nothing was offered). The target is the network profile's, on
    the month's last day, for the institutions it binds (C1, C2)."""

    numerator: float
    denominator: float | None
    value: float | None
    target: str | None = None  # an exact fraction, e.g. "1/3"
    target_due: date | None = None  # a goal not yet in force, with its deadline
    target_met: bool | None = None


class IndicatorOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    evidence: str
    unit: str


class UnitMeasuresOut(BaseModel):
    """A member institution's month, or the network's total (its members' parts summed)."""

    code: str
    name_zh: str
    name_en: str | None
    measures: dict[str, MeasureOut]


class NetworkMeasuresOut(BaseModel):
    """A network's month: referrals (B9, B3) and reserved capacity (C1, C2) per member."""

    network_code: str
    month: str
    indicators: list[IndicatorOut]
    members: list[UnitMeasuresOut]
    total: UnitMeasuresOut | None  # for the network's office and the commission only


class HistoryFilterIn(BaseModel):
    """The referral history's filters: state, direction, the patient (a name or its start),
    and a range of local days the referral was sent (or created, for a draft)."""

    state: State | None = None
    direction: Direction | None = None
    patient: str | None = Field(default=None, max_length=50)
    since: date | None = None
    until: date | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """A browser's GET form sends every field, the empty ones as ``""``."""
        return None if value == "" else value
