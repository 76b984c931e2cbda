"""The synthetic city's facility facts: once a year each institution's register, report, roster
and evaluation (village clinics A10, wards F7, TCM halls F8 and EMR levels J5, backbone
training H5, the public-health evaluation F5), so their indicators open on data too.

Rows are few (one per village, ward or institution), so they are drawn per institution; every
number comes from data/synth/facilities.yaml with the reason it is plausible.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from caregrid import yamlio
from caregrid.activity.facts import fact
from caregrid.activity.parquet import schema
from caregrid.errors import InvalidInput
from caregrid.synth.rates import CountWeights, Number, Share, Source, Span

if TYPE_CHECKING:
    from caregrid.synth.year import Year

S_FACILITIES = 20  # this module's random stream, apart from the city's (draws.S_*)
PRIMARY, SECONDARY, TERTIARY = 0, 1, 2  # city.City.level
_STRICT = ConfigDict(extra="forbid")
Month = Annotated[int, Field(ge=1, le=12)]


@dataclass(frozen=True, config=_STRICT)
class Months:
    values: Annotated[list[Month], Field(min_length=1)]
    source: Source


@dataclass(frozen=True, config=_STRICT)
class VillageClinicRates:
    villages_per_primary: Span
    clinic_share: Share
    publicly_built_share: Share
    standardised_share: Share


@dataclass(frozen=True, config=_STRICT)
class WardRates:
    beds_per_ward: Number
    continuing_nursing_share: Share


@dataclass(frozen=True, config=_STRICT)
class ReportRates:
    tcm_hall_share: Share
    emr_level_secondary: CountWeights
    emr_level_tertiary: CountWeights


@dataclass(frozen=True, config=_STRICT)
class BackboneRates:
    staff_per_member: Span
    trained_share: Share


@dataclass(frozen=True, config=_STRICT)
class EvaluationRates:
    months: Months
    score_mean: Number
    score_sd: Number


@dataclass(frozen=True, config=_STRICT)
class FacilityRates:
    format: Literal["caregrid-synth-facilities/1"]
    village_clinics: VillageClinicRates
    wards: WardRates
    reports: ReportRates
    backbone_training: BackboneRates
    public_health_evaluation: EvaluationRates


_ADAPTER: TypeAdapter[FacilityRates] = TypeAdapter(FacilityRates)
FULL_SCORE = 100.0  # the evaluation's full marks the score_mean is out of


def default_path() -> Path:
    return Path(str(resources.files("caregrid.data").joinpath("synth", "facilities.yaml")))


def load(path: Path | None = None) -> FacilityRates:
    """The rates at `path`, or the shipped file; InvalidInput names the file, line and key."""
    located = yamlio.load_file(path or default_path())
    try:
        return _ADAPTER.validate_python(located.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where: list[str | int] = [p for p in err["loc"] if isinstance(p, str | int)]
            problems.append(located.problem(where, str(err["msg"]).removeprefix("Value error, ")))
        raise InvalidInput(problems) from exc


def _table(fact_name: str, columns: dict[str, list[Any]]) -> pa.Table:
    declared = schema(fact(fact_name))
    return pa.Table.from_pydict({n: columns[n] for n in declared.names}, schema=declared)


def _weighted(rng: np.random.Generator, weights: CountWeights, n: int) -> list[int]:
    p = np.asarray(weights.by_count, dtype=np.float64)
    return [int(v) for v in rng.choice(len(p), size=n, p=p / p.sum())]


def write(year: Year, rates: FacilityRates | None = None) -> None:
    """Every facility fact of the year, dated 31 December except the evaluations."""
    rates = rates or load()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(year.seed, spawn_key=(
        S_FACILITIES,
    ))))  # fmt: skip
    codes = [str(c) for c in year.city.institutions.to_pylist()]
    levels = [int(v) for v in year.city.level]
    last = date(year.cal.year, 12, 31)
    december = year.cal.month(11)
    _village_clinics(year, rates.village_clinics, rng, codes, levels, last, december)
    _wards(year, rates.wards, rng, codes, levels, last, december)
    _reports(year, rates.reports, rng, codes, levels, last, december)
    _backbone(year, rates.backbone_training, rng, codes, levels, last, december)
    _evaluations(year, rates.public_health_evaluation, rng, codes, levels)


def _village_clinics(
    year: Year,
    rates: VillageClinicRates,
    rng: np.random.Generator,
    codes: list[str],
    levels: list[int],
    last: date,
    month: str,
) -> None:
    """The villages each primary institution serves and their clinics (A10)."""
    rows: dict[str, list[Any]] = {n: [] for n in fact("village_clinic").names}
    span = rates.villages_per_primary
    for code, level in zip(codes, levels, strict=True):
        if level != PRIMARY:
            continue
        for _ in range(int(rng.integers(span.low, span.high + 1))):
            number = len(rows["village_code"]) + 1
            has_clinic = bool(rng.random() < rates.clinic_share.value)
            rows["village_code"].append(f"V{number:07d}")
            rows["institution_code"].append(code)
            rows["clinic_code"].append(f"VC{number:07d}" if has_clinic else None)
            public = bool(rng.random() < rates.publicly_built_share.value)
            standardised = bool(rng.random() < rates.standardised_share.value)
            rows["publicly_built"].append(public if has_clinic else None)
            rows["standardised"].append(standardised if has_clinic else None)
            rows["as_of"].append(last)
    year.out.put("village_clinic", month, _table("village_clinic", rows), "0")


def _wards(
    year: Year,
    rates: WardRates,
    rng: np.random.Generator,
    codes: list[str],
    levels: list[int],
    last: date,
    month: str,
) -> None:
    """Each hospital's wards, about one per beds_per_ward beds, and continuing nursing (F7)."""
    rows: dict[str, list[Any]] = {n: [] for n in fact("ward").names}
    for k, (code, level) in enumerate(zip(codes, levels, strict=True)):
        if level == PRIMARY:
            continue
        wards = max(1, round(float(year.city.beds[k]) / rates.beds_per_ward.value))
        for n in range(1, wards + 1):
            rows["ward_id"].append(f"W{n:03d}")
            rows["institution_code"].append(code)
            rows["continuing_nursing"].append(
                bool(rng.random() < rates.continuing_nursing_share.value)
            )
            rows["as_of"].append(last)
    year.out.put("ward", month, _table("ward", rows), "0")


def _reports(
    year: Year,
    rates: ReportRates,
    rng: np.random.Generator,
    codes: list[str],
    levels: list[int],
    last: date,
    month: str,
) -> None:
    """Every institution's yearly report: a TCM hall below tertiary level (F8), the rated EMR
    level of hospitals (J5)."""
    emr = {SECONDARY: rates.emr_level_secondary, TERTIARY: rates.emr_level_tertiary}
    rows: dict[str, list[Any]] = {n: [] for n in fact("institution_report").names}
    for code, level in zip(codes, levels, strict=True):
        rows["institution_code"].append(code)
        rows["tcm_hall"].append(
            level != TERTIARY and bool(rng.random() < rates.tcm_hall_share.value)
        )
        rows["emr_level"].append(_weighted(rng, emr[level], 1)[0] if level in emr else None)
        rows["as_of"].append(last)
    year.out.put("institution_report", month, _table("institution_report", rows), "0")


def _backbone(
    year: Year,
    rates: BackboneRates,
    rng: np.random.Generator,
    codes: list[str],
    levels: list[int],
    last: date,
    month: str,
) -> None:
    """Each member's backbone staff on the lead's roster and who finished by the year's end
    (H5); the lead itself names none."""
    rows: dict[str, list[Any]] = {n: [] for n in fact("backbone_training").names}
    span, days = rates.staff_per_member, year.cal.days
    for k, (code, level) in enumerate(zip(codes, levels, strict=True)):
        if level == TERTIARY or int(year.city.lead_of[k]) < 0:
            continue
        for _ in range(int(rng.integers(span.low, span.high + 1))):
            trained = bool(rng.random() < rates.trained_share.value)
            rows["institution_code"].append(code)
            rows["staff_id"].append(f"K{len(rows['staff_id']) + 1:07d}")
            rows["as_of"].append(last)
            day = last - timedelta(days=int(rng.integers(0, days)))
            rows["trained_on"].append(day if trained else None)
    year.out.put("backbone_training", month, _table("backbone_training", rows), "0")


def _evaluations(
    year: Year,
    rates: EvaluationRates,
    rng: np.random.Generator,
    codes: list[str],
    levels: list[int],
) -> None:
    """The commission's evaluations of primary institutions' public health project (F5)."""
    primary = [code for code, level in zip(codes, levels, strict=True) if level == PRIMARY]
    for m in sorted(set(rates.months.values)):
        first = date(year.cal.year, m, 1)
        day = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        scores = rng.normal(rates.score_mean.value, rates.score_sd.value, len(primary))
        rows: dict[str, list[Any]] = {
            "institution_code": primary,
            "evaluated_on": [day] * len(primary),
            "score": [round(float(np.clip(s, 0, FULL_SCORE)), 1) for s in scores],
            "full_score": [FULL_SCORE] * len(primary),
        }
        table = _table("public_health_evaluation", rows)
        year.out.put("public_health_evaluation", year.cal.month(m - 1), table, "0")
