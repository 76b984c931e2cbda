"""API input and output of the workforce: the first-post draw (H2), posts and postings (H1,
C6), promotions (H4) and training (H5)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from caregrid.registry.vocab import TitleLevel
from caregrid.workforce.vocab import (
    DrawState,
    EvaluationGrade,
    EvaluationUse,
    PostCategory,
    PostingPurpose,
    SinkingRole,
    TrainingKind,
)

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
VERSION = Field(ge=1, le=2_147_483_647, description="the version you saw")


class DrawPostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE)
    institution_code: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=1, max_length=200)
    seats: int = Field(ge=1, le=10_000)
    need: int = Field(ge=1, le=1_000, description="1 is the neediest post")


class DrawCandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(pattern=CODE, description="the exam reference, published with the draw")
    name: str = Field(min_length=1, max_length=100)
    score: Decimal = Field(ge=0, le=1000, max_digits=7, decimal_places=2)
    preferences: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=50, description="post codes, the most wanted first"
    )


class DrawIn(BaseModel):
    """A draw committed before it is run: the seed's SHA-256, the posts and the candidates."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    commitment: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the seed, hex")
    posts: list[DrawPostIn] = Field(min_length=1, max_length=1_000)
    candidates: list[DrawCandidateIn] = Field(min_length=1, max_length=10_000)


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = VERSION
    seed: str = Field(min_length=16, max_length=200)


class DrawPostOut(BaseModel):
    code: str
    institution_code: str
    title: str
    seats: int
    need: int
    taken: int | None  # seats filled by the draw, once revealed


class DrawCandidateOut(BaseModel):
    ref: str
    name: str
    score: Decimal
    preferences: list[str]
    lottery: str | None
    rank: int | None
    post_code: str | None
    posting_id: int | None = None  # the first-post posting it was taken up as


class DrawOut(BaseModel):
    id: int
    network_code: str
    name: str
    state: DrawState
    version: int
    commitment: str
    seed: str | None
    digest: str | None
    committed_by: str
    committed_at: datetime
    revealed_by: str | None
    revealed_at: datetime | None
    posts: list[DrawPostOut]
    candidates: list[DrawCandidateOut]  # in rank order once revealed


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    institution_code: str = Field(min_length=1, max_length=60)
    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1, max_length=200)
    category: PostCategory
    seats: int = Field(ge=1, le=10_000)
    opened_on: date | None = Field(default=None, description="default: today")


class PostOut(BaseModel):
    id: int
    institution_code: str
    code: str
    title: str
    category: PostCategory
    seats: int
    filled: int  # by postings running on the day asked
    vacancies: int
    opened_on: date


class PostingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64)
    institution_code: str = Field(min_length=1, max_length=60)
    post_code: str | None = Field(default=None, pattern=CODE, description="the seat it fills")
    purpose: PostingPurpose
    starts_on: date = Field(ge=date(1950, 1, 1), le=date(2100, 12, 31))
    ends_on: date | None = Field(
        default=None,
        ge=date(1950, 1, 1),
        le=date(2100, 12, 31),
        description="the last day served; empty: open",
    )
    note: str | None = Field(default=None, max_length=2000)
    role: SinkingRole | None = Field(default=None, description="an expert sent down (C5)")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=list, max_length=7, description="the fixed schedule, ISO weekdays"
    )


class PostingOut(BaseModel):
    id: int
    practitioner_code: str
    practitioner_name: str
    institution_code: str
    institution_level: str
    post_code: str | None
    purpose: PostingPurpose
    starts_on: date
    ends_on: date | None
    note: str | None
    role: SinkingRole | None
    weekdays: list[int]
    created_by: str


class ServiceDaysIn(BaseModel):
    """Days an expert sent down served at the member (C5)."""

    model_config = ConfigDict(extra="forbid")
    days: list[date] = Field(min_length=1, max_length=400)


class ServiceDaysOut(BaseModel):
    posting_id: int
    added: list[date]  # the days new to the record; a day recorded before is kept once
    served: list[date]  # every day recorded, the latest first


class PromotionIn(BaseModel):
    """A professional's application for a higher title (H4 gates a lead's staff)."""

    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64)
    title_level: TitleLevel


class ServiceOut(BaseModel):
    """Whole months served at primary members, against what the profile asks (H4)."""

    practitioner_code: str
    primary_months: int
    required_months: int | None  # None: the profile sets no length; some service is asked
    gated: bool  # the practitioner's home is a lead hospital


DAY = Field(ge=date(1950, 1, 1), le=date(2100, 12, 31))
SCORE = Field(default=None, max_digits=8, decimal_places=2, description="empty: not examined")


class ModuleIn(BaseModel):
    """A training module with its scale (0 to `max_score`) and pass mark (H5)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1, max_length=200)
    kind: TrainingKind
    max_score: Decimal = Field(gt=0, le=1000, max_digits=6, decimal_places=2)
    pass_score: Decimal = Field(ge=0, le=1000, max_digits=6, decimal_places=2)


class ModuleOut(BaseModel):
    id: int
    code: str
    title: str
    kind: TrainingKind
    max_score: Decimal
    pass_score: Decimal


class ResultIn(BaseModel):
    """A trainee: whether they attended and, if so, their score on the module's scale."""

    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64)
    attended: bool = True
    score: Decimal | None = SCORE


class ResultOut(BaseModel):
    practitioner_code: str
    practitioner_name: str
    institution_code: str  # where the trainee works
    attended: bool
    score: Decimal | None
    passed: bool


class SessionIn(BaseModel):
    """A module held on a day at an institution, with every trainee's result."""

    model_config = ConfigDict(extra="forbid")
    module_code: str = Field(pattern=CODE)
    held_on: date = DAY
    institution_code: str = Field(min_length=1, max_length=60, description="where it was held")
    trainer: str = Field(min_length=1, max_length=100)
    results: list[ResultIn] = Field(min_length=1, max_length=2_000)


class SessionOut(BaseModel):
    id: int
    module_code: str
    module_title: str
    kind: TrainingKind
    held_on: date
    institution_code: str
    trainer: str
    results: list[ResultOut]


class TeachingPlanIn(BaseModel):
    """A clinical teaching plan tailored to a member (JH 9.3)."""

    model_config = ConfigDict(extra="forbid")
    institution_code: str = Field(min_length=1, max_length=60, description="the member")
    title: str = Field(min_length=1, max_length=200)
    planned_on: date = DAY
    delivered_on: date | None = Field(default=None, ge=date(1950, 1, 1), le=date(2100, 12, 31))


class DeliveredIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivered_on: date = DAY


class TeachingPlanOut(BaseModel):
    id: int
    institution_code: str
    title: str
    planned_on: date
    delivered_on: date | None


class MentorshipIn(BaseModel):
    """A member's staff member and the lead's professional who mentors them (JH 9.4)."""

    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64, description="the mentee")
    mentor_code: str = Field(min_length=1, max_length=64)
    starts_on: date = DAY
    ends_on: date | None = Field(default=None, ge=date(1950, 1, 1), le=date(2100, 12, 31))


class MentorshipOut(BaseModel):
    id: int
    institution_code: str
    practitioner_code: str
    practitioner_name: str
    mentor_code: str
    mentor_name: str
    starts_on: date
    ends_on: date | None


class ManagementDueOut(BaseModel):
    """A member's management training against the profile's interval (JH 9.1)."""

    institution_code: str
    last_trained_on: date | None  # the last management session its staff attended
    due_by: date | None  # None: never trained, due now
    overdue: bool


class TrainingOut(BaseModel):
    network_code: str
    interval_months: int | None  # management training at least this often; None: not set
    modules: list[ModuleOut]
    sessions: list[SessionOut]  # newest first
    plans: list[TeachingPlanOut]
    mentorships: list[MentorshipOut]
    management: list[ManagementDueOut]  # each member but the lead


MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class VillageDoctorIn(BaseModel):
    """A village doctor: the professional (employed by a primary member, their home) and the
    village they work in (H7)."""

    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64)
    village: str = Field(min_length=1, max_length=100)
    village_code: str | None = Field(default=None, pattern=CODE)
    starts_on: date = DAY
    ends_on: date | None = Field(default=None, ge=date(1950, 1, 1), le=date(2100, 12, 31))


class PayIn(BaseModel):
    """A month's pay (YYYY-MM), its amount in CNY and the day paid."""

    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH)
    amount: Decimal = Field(gt=0, le=1_000_000, max_digits=10, decimal_places=2)
    paid_on: date = DAY


class PayOut(BaseModel):
    month: str
    amount: Decimal
    paid_on: date


class VillageDoctorOut(BaseModel):
    id: int
    practitioner_code: str
    practitioner_name: str
    institution_code: str  # the employer: a primary member
    village: str
    village_code: str | None
    starts_on: date
    ends_on: date | None
    pay: list[PayOut]  # the latest month first
    unpaid: list[str]  # months over (YYYY-MM) in the employment with no pay record


POINTS = Field(ge=0, le=100, max_digits=5, decimal_places=2)


class EvaluationIn(BaseModel):
    """A staff member's internal evaluation (K2): four scores of 0 to 100, a grade, and what
    the result is tied to (posts, titles, pay)."""

    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64)
    evaluated_on: date = DAY
    ethics: Decimal = POINTS
    quality: Decimal = POINTS
    competence: Decimal = POINTS
    satisfaction: Decimal = POINTS
    grade: EvaluationGrade
    uses: list[EvaluationUse] = Field(default_factory=list, max_length=3)


class EvaluationOut(BaseModel):
    id: int
    practitioner_code: str
    practitioner_name: str
    institution_code: str
    evaluated_on: date
    ethics: Decimal
    quality: Decimal
    competence: Decimal
    satisfaction: Decimal
    grade: EvaluationGrade
    uses: list[EvaluationUse]


class KeyMemberIn(BaseModel):
    """A member named a key member of the network (C5) from a day."""

    model_config = ConfigDict(extra="forbid")
    institution_code: str = Field(min_length=1, max_length=60)
    named_on: date = DAY


class EndIn(BaseModel):
    """The last day a record holds."""

    model_config = ConfigDict(extra="forbid")
    ends_on: date = DAY


class ExpertOut(BaseModel):
    practitioner_code: str
    practitioner_name: str
    posting_id: int
    weekdays: list[int]


class KeyMemberOut(BaseModel):
    id: int
    institution_code: str
    named_on: date
    ends_on: date | None
    ward_directors: list[ExpertOut]  # serving on the day asked (C5)
    clinic_experts: list[ExpertOut]


class SpecialtyBrandIn(BaseModel):
    """A primary member's specialty recognised as a city-level brand (一院一品, C5)."""

    model_config = ConfigDict(extra="forbid")
    institution_code: str = Field(min_length=1, max_length=60)
    specialty: str = Field(min_length=1, max_length=100)
    recognised_on: date = DAY
    recognised_by: str = Field(min_length=1, max_length=100)


class SpecialtyBrandOut(BaseModel):
    id: int
    institution_code: str
    specialty: str
    recognised_on: date
    recognised_by: str
    ends_on: date | None


REGION = r"^[a-z][a-z_]{0,39}$"


class ServicePeriodIn(BaseModel):
    """A region's service period in whole months (H3)."""

    model_config = ConfigDict(extra="forbid")
    months: int = Field(ge=1, le=600)


class MemberRegionIn(BaseModel):
    """The region a member is in (H3): one the network's profile names."""

    model_config = ConfigDict(extra="forbid")
    region: str = Field(pattern=REGION)


class RegionOut(BaseModel):
    region: str
    months: int | None  # None: the county has set no period for it yet
    members: list[str]  # institution codes


class ServicePeriodsOut(BaseModel):
    regions: list[RegionOut]  # in the profile's order; none: the profile names no regions
    unplaced: list[str]  # members in no region yet


class TakeUpIn(BaseModel):
    """A placed candidate taking up their first post: who they are in the registry now and
    the first day; the last day defaults to the end of the region's service period (H3)."""

    model_config = ConfigDict(extra="forbid")
    practitioner_code: str = Field(min_length=1, max_length=64)
    starts_on: date = DAY
    ends_on: date | None = Field(default=None, ge=date(1950, 1, 1), le=date(2100, 12, 31))


class WisnActivityOut(BaseModel):
    code: str
    workload: int  # the activities in the period
    standard_workload: Decimal  # what one staff member does in the period's working time
    staff: Decimal  # workload / standard workload


class WisnCategoryOut(BaseModel):
    category: str  # a staff profession
    actual: int
    required: Decimal
    difference: Decimal  # actual - required: below 0, short of staff
    ratio: Decimal | None  # actual / required; none: no workload
    caf: Decimal
    iaf: Decimal
    activities: list[WisnActivityOut]


class WisnMemberOut(BaseModel):
    institution_code: str
    categories: list[WisnCategoryOut]


class WisnOut(BaseModel):
    network_code: str
    year: int
    share_of_year: Decimal  # the part of the year the figures cover
    standard: str
    members: list[WisnMemberOut]
    total: list[WisnCategoryOut]  # the members' needs summed
