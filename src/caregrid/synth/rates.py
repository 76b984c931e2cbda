"""The rates of the synthetic city, read from data/synth/china.yaml: numbers are data with a
cited source, never code. Validated whole; a bad file is refused naming the file, line and key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from caregrid import yamlio
from caregrid.activity.facts import fact
from caregrid.diagnostics.vocab import RepeatReason
from caregrid.errors import InvalidInput
from caregrid.policy import icd10
from caregrid.referral.vocab import State

FORMAT = "caregrid-synth-rates/1"
_STRICT = ConfigDict(extra="forbid")
Source = Annotated[str, Field(min_length=1)]
Unit = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Age = Annotated[int, Field(ge=0, le=120)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
# Who a public health service is for: everyone, or one key population (key_populations.yaml).
Population = Literal[
    "all",
    "children",
    "elderly",
    "pregnant_postpartum",
    "hypertension",
    "diabetes",
    "severe_mental_disorder",
    "tuberculosis",
    "disabled",
]


def _total(weights: list[float] | dict[str, float]) -> float:
    values = list(weights.values()) if isinstance(weights, dict) else weights
    if sum(values) <= 0:
        raise ValueError("the weights must add up to more than 0")
    return sum(values)


def _known(codes: list[str], known: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")


@dataclass(frozen=True, config=_STRICT)
class Share:
    value: Unit
    source: Source


@dataclass(frozen=True, config=_STRICT)
class Number:
    value: NonNegative
    source: Source


@dataclass(frozen=True, config=_STRICT)
class Span:
    """Integers drawn uniformly from low to high, both included."""

    low: Annotated[int, Field(ge=0)]
    high: Annotated[int, Field(ge=0)]
    source: Source

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.low > self.high:
            raise ValueError("low is above high")
        return self


@dataclass(frozen=True, config=_STRICT)
class ShareSpan:
    """A share drawn uniformly between low and high."""

    low: Unit
    high: Unit
    source: Source

    @model_validator(mode="after")
    def _ordered(self) -> ShareSpan:
        if self.low > self.high:
            raise ValueError("low is above high")
        return self


@dataclass(frozen=True, config=_STRICT)
class ByLevel:
    """One number for each institution level."""

    primary: NonNegative
    secondary: NonNegative
    tertiary: NonNegative
    source: Source


@dataclass(frozen=True, config=_STRICT)
class ShareByLevel:
    primary: Unit
    secondary: Unit
    tertiary: Unit
    source: Source


@dataclass(frozen=True, config=_STRICT)
class AgeShare:
    ages: tuple[Age, Age]
    share: Unit


@dataclass(frozen=True, config=_STRICT)
class AgeStructure:
    """Contiguous age bands from 0 whose shares add up to 1."""

    source: Source
    bands: Annotated[list[AgeShare], Field(min_length=1)]

    @model_validator(mode="after")
    def _whole(self) -> AgeStructure:
        _contiguous([b.ages for b in self.bands], start=0)
        total = sum(b.share for b in self.bands)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"the shares add up to {total:.6f}, not 1")
        return self

    @property
    def top_age(self) -> int:
        return self.bands[-1].ages[1]


@dataclass(frozen=True, config=_STRICT)
class AgeWeight:
    ages: tuple[Age, Age]
    weight: NonNegative


@dataclass(frozen=True, config=_STRICT)
class AgeWeights:
    """Relative weights by contiguous age bands; ages outside the bands weigh 0."""

    source: Source
    bands: Annotated[list[AgeWeight], Field(min_length=1)]

    @model_validator(mode="after")
    def _contiguous(self) -> AgeWeights:
        _contiguous([b.ages for b in self.bands], start=self.bands[0].ages[0])
        _total([b.weight for b in self.bands])
        return self


def _contiguous(bands: list[tuple[int, int]], start: int) -> None:
    expected = start
    for low, high in bands:
        if low != expected or high < low:
            raise ValueError(f"age bands must follow each other from {start}: {low}-{high}")
        expected = high + 1


@dataclass(frozen=True, config=_STRICT)
class Weights:
    source: Source
    weights: Annotated[dict[Code, NonNegative], Field(min_length=1)]

    @model_validator(mode="after")
    def _positive(self) -> Weights:
        _total(self.weights)
        return self


@dataclass(frozen=True, config=_STRICT)
class CountWeights:
    """Weights of 0, 1, 2, ... events."""

    source: Source
    by_count: Annotated[list[NonNegative], Field(min_length=1)]

    @model_validator(mode="after")
    def _positive(self) -> CountWeights:
        _total(self.by_count)
        return self


def _icd10(code: str) -> str:
    if not icd10.is_who_code(code):
        raise ValueError(f"{code!r} is not a WHO ICD-10 (2019) category or subcategory")
    return code


@dataclass(frozen=True, config=_STRICT)
class Diagnosis:
    code: str
    weight: NonNegative
    department: Code

    @field_validator("code")
    @classmethod
    def _who(cls, code: str) -> str:
        return _icd10(code)


@dataclass(frozen=True, config=_STRICT)
class Diagnoses:
    source: Source
    codes: Annotated[list[Diagnosis], Field(min_length=1)]

    @model_validator(mode="after")
    def _positive(self) -> Diagnoses:
        _total([d.weight for d in self.codes])
        codes = [d.code for d in self.codes]
        if len(set(codes)) != len(codes):
            raise ValueError("a code is listed twice")
        return self


@dataclass(frozen=True, config=_STRICT)
class ConditionCodes:
    hypertension: str
    diabetes: str
    source: Source

    @field_validator("hypertension", "diabetes")
    @classmethod
    def _who(cls, code: str) -> str:
        return _icd10(code)


@dataclass(frozen=True, config=_STRICT)
class SurgeryLevels:
    """Weights of operation grades 1-4 at each institution level."""

    source: Source
    primary: Annotated[list[NonNegative], Field(min_length=4, max_length=4)]
    secondary: Annotated[list[NonNegative], Field(min_length=4, max_length=4)]
    tertiary: Annotated[list[NonNegative], Field(min_length=4, max_length=4)]

    @model_validator(mode="after")
    def _positive(self) -> SurgeryLevels:
        for weights in (self.primary, self.secondary, self.tertiary):
            _total(weights)
        return self


@dataclass(frozen=True, config=_STRICT)
class Codes:
    source: Source
    codes: Annotated[list[Code], Field(min_length=1)]


@dataclass(frozen=True, config=_STRICT)
class Item:
    code: Code
    price_cny: NonNegative
    weight: NonNegative


@dataclass(frozen=True, config=_STRICT)
class Items:
    source: Source
    items: Annotated[list[Item], Field(min_length=1)]

    @model_validator(mode="after")
    def _positive(self) -> Items:
        _total([i.weight for i in self.items])
        return self


@dataclass(frozen=True, config=_STRICT)
class Service:
    code: Code
    population: Population
    coverage: Unit
    per_year: Annotated[int, Field(ge=1, le=52)]
    source: Source


@dataclass(frozen=True, config=_STRICT)
class PopulationRates:
    sex_ratio: Number  # males per 100 females
    age_structure: AgeStructure
    division_spread: Number


@dataclass(frozen=True, config=_STRICT)
class KeyPopulationRates:
    adult_age: Number
    hypertension_prevalence: Share
    diabetes_prevalence: Share
    hypertension_risk_by_age: AgeWeights
    diabetes_risk_by_age: AgeWeights
    birth_rate: Share
    pregnancy_postpartum_years: Number
    pregnancy_ages: Span
    severe_mental_disorder: Share
    tuberculosis: Share
    disabled: Share


@dataclass(frozen=True, config=_STRICT)
class ChronicRates:
    diagnosis: ConditionCodes
    managed_share: Share
    managed_before_year_share: Share
    managed_before_years: Span
    follow_ups: CountWeights
    controlled_share: Share


@dataclass(frozen=True, config=_STRICT)
class ContractRates:
    share_of_residents: Share
    share_of_key_populations: Share


@dataclass(frozen=True, config=_STRICT)
class EncounterRates:
    visits_per_person: Number
    visit_weight_by_age: AgeWeights
    chronic_visit_multiplier: Number
    emergency_share: Share
    primary_share: Share
    lead_share_of_hospital_visits: Share
    in_county_share: Share
    chronic_own_diagnosis_share: Share
    diagnoses: Diagnoses
    outpatient_cost_cny: ByLevel
    emergency_cost_multiplier: Number
    cost_spread: Number
    insurance_share: Share


@dataclass(frozen=True, config=_STRICT)
class InpatientRates:
    admissions_per_person: Number
    admission_weight_by_age: AgeWeights
    chronic_admission_multiplier: Number
    primary_share: Share
    lead_share_of_hospital_admissions: Share
    length_of_stay_days: Span
    diagnoses: Diagnoses
    surgery_share: ShareByLevel
    surgery_levels: SurgeryLevels
    drg_weight_mean: ByLevel
    drg_weight_spread: Number
    cost_cny: ByLevel
    insurance_share: Share
    deductible_cny: ByLevel


@dataclass(frozen=True, config=_STRICT)
class ReferralRates:
    up_share_of_primary_visits: Share
    up_share_of_lead_admissions: Share
    reserved_share_of_bookings: Share
    down_share_of_lead_discharges: Share
    states: Weights
    closed_loop_share: Share
    follow_on_days: Span

    @model_validator(mode="after")
    def _states(self) -> ReferralRates:
        _known(list(self.states.weights), tuple(s.value for s in State), "state")
        return self


@dataclass(frozen=True, config=_STRICT)
class CapacityRates:
    slot_departments: Codes
    slots_per_department_day: Span
    slot_reserved_share: ShareSpan
    bed_reserved_share: ShareSpan
    default_beds: ByLevel


@dataclass(frozen=True, config=_STRICT)
class RecognitionRates:
    share_of_hospital_visits: Share
    reused_share: Share
    repeat_reasons: Weights
    items: Items

    @model_validator(mode="after")
    def _reasons(self) -> RecognitionRates:
        known = tuple(r.value for r in RepeatReason)
        _known(list(self.repeat_reasons.weights), known, "reason")
        return self


@dataclass(frozen=True, config=_STRICT)
class ByCentre:
    """A number for each kind of shared centre that reads orders (D1)."""

    laboratory: NonNegative
    imaging: NonNegative
    ecg: NonNegative
    source: Source


@dataclass(frozen=True, config=_STRICT)
class DiagnosticOrderRates:
    share_of_primary_visits: Share
    acquired_at_member_share: ByCentre
    promised_hours: ByCentre
    median_hours: ByCentre
    hours_spread: Number  # sigma of the log-normal turnaround
    reported_share: Share


@dataclass(frozen=True, config=_STRICT)
class PublicHealthRates:
    services: Annotated[list[Service], Field(min_length=1)]


def _choices(fact_name: str, field_name: str) -> tuple[str, ...]:
    declared = fact(fact_name).field(field_name)
    assert declared is not None, f"{fact_name}.{field_name} is declared"
    return declared.choices


@dataclass(frozen=True, config=_STRICT)
class StaffRates:
    per_bed: Weights
    primary_staff: Span
    primary_mix: Weights
    title_levels: Weights
    tcm_share_of_doctors: Share
    posted_per_primary: Span
    posted_months: Span
    sinking_per_primary: Number
    managed_share: Share
    ward_director_share: Share
    sinking_week_met_share: Share
    village_doctors_per_primary: Span
    village_paid_share: Share
    key_members_per_network: Span
    key_member_ward_director_share: Share
    key_member_clinic_experts: Span
    specialty_brand_share: Share
    specialty_brands: Weights

    @model_validator(mode="after")
    def _choices(self) -> StaffRates:
        professions = _choices("staff", "profession")
        _known(list(self.per_bed.weights), professions, "profession")
        _known(list(self.primary_mix.weights), professions, "profession")
        _known(list(self.title_levels.weights), _choices("staff", "title_level"), "title level")
        if self.posted_months.high > 120:
            raise ValueError("posted_months.high is above 120")
        return self


@dataclass(frozen=True, config=_STRICT)
class TrainingRates:
    records_per_staff: Number
    passed_share: Share
    courses: Weights
    teaching_plans_per_member: Span
    delivered_share: Share
    delivery_days: Span
    mentored_per_member: Span
    mentorship_months: Span
    evaluated_share: Share
    grades: Weights


@dataclass(frozen=True, config=_STRICT)
class GovernanceRates:
    work_meeting_share: Share
    report_share: Share
    key_tasks: Span
    done_share: Share
    late_share: Share
    late_days: Span


@dataclass(frozen=True, config=_STRICT)
class TeleconsultationRates:
    per_primary_institution: Number
    answered_share: Share
    closed_share: Share
    response_hours: Span


@dataclass(frozen=True, config=_STRICT)
class PharmacyRates:
    listed_share: Share
    outside_lines: Number
    lines_per_day: Number
    essential_share: Share
    cloud_share: Share
    units_per_line: Number
    unit_price_essential: Number
    unit_price_other: Number
    negotiated_lines: Number
    negotiated_listed_share: Share
    stock_out_share: Share
    units_on_hand: Number
    regimen_checks: Number
    regimen_drugs: Number
    regimen_hypertension_share: Share
    regimen_flagged_share: Share


@dataclass(frozen=True, config=_STRICT)
class BooksRates:
    revenue_per_bed_month: Number
    primary_revenue_month: Span
    revenue_growth: ShareSpan
    expenditure_growth: ShareSpan
    month_noise: Number
    drug_share: ShareSpan
    consumable_share: ShareSpan
    test_share: ShareSpan
    expense_ratio: ShareSpan
    business_share: ShareSpan
    personnel_share: ShareSpan
    performance_share: ShareSpan
    pay_tied_share: Share
    budget_share: Share
    assets_months: Span
    liability_ratio: ShareSpan


@dataclass(frozen=True, config=_STRICT)
class Rates:
    """Every rate of the synthetic city, each with its source."""

    format: Literal["caregrid-synth-rates/1"]
    name: Source
    population: PopulationRates
    key_populations: KeyPopulationRates
    chronic: ChronicRates
    contract: ContractRates
    encounter: EncounterRates
    inpatient: InpatientRates
    referral: ReferralRates
    capacity: CapacityRates
    recognition: RecognitionRates
    diagnostic_orders: DiagnosticOrderRates
    public_health: PublicHealthRates
    staff: StaffRates
    training: TrainingRates
    teleconsultation: TeleconsultationRates
    pharmacy: PharmacyRates
    governance: GovernanceRates
    books: BooksRates


_ADAPTER: TypeAdapter[Rates] = TypeAdapter(Rates)


def default_path() -> Path:
    return Path(str(resources.files("caregrid.data").joinpath("synth", "china.yaml")))


def parse(located: yamlio.Located) -> Rates:
    """Validate a parsed rates file; InvalidInput names the file, line and key of each problem."""
    try:
        return _ADAPTER.validate_python(located.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path: list[str | int] = [p for p in err["loc"] if isinstance(p, str | int)]
            problems.append(located.problem(path, _message(err)))
        raise InvalidInput(problems) from exc


def _message(err: Any) -> str:
    text = str(err["msg"])
    return text.removeprefix("Value error, ")


def load(path: Path | None = None) -> Rates:
    """The rates file at `path`, or the shipped data/synth/china.yaml."""
    return parse(yamlio.load_file(path or default_path()))
