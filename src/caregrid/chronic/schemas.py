"""API input and output of the chronic registry: readings, follow-ups, worklists."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from caregrid.chronic.standard import Condition
from caregrid.chronic.vocab import ConfirmedBy
from caregrid.i18n import MessageText


class ReadingIn(BaseModel):
    sbp: int | None = Field(default=None, description="systolic blood pressure, mmHg")
    dbp: int | None = Field(default=None, description="diastolic blood pressure, mmHg")
    fpg: Decimal | None = Field(default=None, description="fasting plasma glucose, mmol/L")
    heart_rate: int | None = Field(default=None, description="beats per minute")
    temperature: Decimal | None = Field(default=None, description="°C")
    symptoms: list[str] = Field(default_factory=list, description="danger-symptom codes")


class ScreeningIn(BaseModel):
    resident_id: int
    condition: Condition
    visited_on: date | None = Field(default=None, description="today if omitted")
    reading: ReadingIn


class EnrolIn(BaseModel):
    resident_id: int
    condition: Condition
    confirmed_by: ConfirmedBy = ConfirmedBy.DIAGNOSIS
    confirmed_on: date | None = Field(default=None, description="today if omitted")
    referral_id: int | None = None


class FollowUpIn(BaseModel):
    resident_id: int
    condition: Condition
    visited_on: date | None = Field(default=None, description="today if omitted")
    reading: ReadingIn
    side_effects: bool = False
    side_effects_intolerable: bool = False
    new_or_worse_complication: bool = False


class VisitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resident_id: int
    condition: str
    kind: str
    visited_on: date
    sbp: int | None
    dbp: int | None
    fpg: Decimal | None
    heart_rate: int | None
    temperature: Decimal | None
    symptoms: str
    assessment: str | None
    action: str | None
    next_due_on: date | None
    recorded_by: str


class EnrolmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resident_id: int
    condition: str
    status: str
    suspected_on: date | None
    confirmed_on: date | None
    confirmed_by: str | None
    ruled_out_on: date | None
    next_due_on: date | None = None


class ReferralProposal(BaseModel):
    """A prefilled up-referral the standard asks for; the doctor sends it from the form."""

    resident_id: int
    to_institution_code: str | None
    diagnosis_code: str
    urgency: str
    reason: str
    green_channel: bool
    follow_up_by: date


class FollowUpOut(BaseModel):
    visit: VisitOut
    reasons: list[MessageText]
    proposal: ReferralProposal | None
    closed_referrals: list[int]


class WorkItem(BaseModel):
    resident_id: int
    resident_name: str
    condition: str | None
    what: str  # follow_up_due | follow_up_overdue | confirm | screening_due | referred_down
    due_on: date | None
    doctor_code: str | None
    referral_id: int | None = None


class WorklistOut(BaseModel):
    team_code: str
    week_start: date
    week_end: date
    items: list[WorkItem]
