"""Staffing need by WHO's WISN method (Workload Indicators of Staffing Need, user's manual
2010) for each member and staff category, beside the staff it has. The standards are data
(data/standards/wisn.yaml); the workloads and the staff are indicators the engine computes from
the members' activity facts (WL1-WL4, WS1, WS2), so this module counts nothing itself:

- available working time AWT = working days - (public holidays + annual, sick and other
  leave), in hours at the day's hours; for a year still running, its share of days so far;
- an activity's standard workload = AWT / its standard time; its staff = workload / that;
- category allowance factor CAF = 1 / (1 - the category allowances' share of time);
- individual allowance factor IAF = the individual allowances' hours / AWT;
- required staff = (the activities' staff) x CAF + IAF; the WISN ratio = staff / required
  (below 1: short of staff), the difference = staff - required.

Exact fractions throughout, rounded only for display."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from caregrid import clock, yamlio
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.registry import service as registry
from caregrid.workforce.schemas import (
    WisnActivityOut,
    WisnCategoryOut,
    WisnMemberOut,
    WisnOut,
)
from caregrid.workforce.vocab import PostCategory

__all__ = ["Category", "Need", "Standard", "need", "network_wisn", "parse", "standard"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Days(BaseModel):
    model_config = _STRICT
    value: int = Field(ge=0, le=366)
    source: str = Field(min_length=1)


class Hours(BaseModel):
    model_config = _STRICT
    value: Decimal = Field(gt=0, le=24)
    source: str = Field(min_length=1)


class AvailableTime(BaseModel):
    """WISN's A (working days a year) less B to E (days away), at hours a day."""

    model_config = _STRICT
    working_days: Days
    public_holidays: Days
    annual_leave: Days
    sick_leave: Days
    other_leave: Days
    hours_per_day: Hours

    @property
    def days(self) -> int:
        away = self.public_holidays, self.annual_leave, self.sick_leave, self.other_leave
        return self.working_days.value - sum(d.value for d in away)

    @property
    def hours(self) -> Fraction:
        return self.days * Fraction(self.hours_per_day.value)

    @model_validator(mode="after")
    def _some_time(self) -> AvailableTime:
        if self.days <= 0:
            raise ValueError("the days away leave no available working time")
        return self


class Activity(BaseModel):
    model_config = _STRICT
    code: str = Field(pattern=r"^[a-z][a-z_]{0,39}$")
    indicator: str = Field(min_length=1)
    minutes: Decimal = Field(gt=0, le=100_000)
    source: str = Field(min_length=1)


class CategoryAllowance(BaseModel):
    model_config = _STRICT
    code: str = Field(pattern=r"^[a-z][a-z_]{0,39}$")
    percent: Decimal = Field(ge=0, lt=100)
    source: str = Field(min_length=1)


class IndividualAllowance(BaseModel):
    model_config = _STRICT
    code: str = Field(pattern=r"^[a-z][a-z_]{0,39}$")
    staff: int = Field(ge=0, le=10_000)
    hours_per_year: Decimal = Field(ge=0, le=10_000)
    source: str = Field(min_length=1)


class Category(BaseModel):
    model_config = _STRICT
    staff_indicator: str = Field(min_length=1)
    available_time: AvailableTime
    activities: list[Activity] = Field(min_length=1)
    category_allowances: list[CategoryAllowance] = Field(default_factory=list)
    individual_allowances: list[IndividualAllowance] = Field(default_factory=list)

    @model_validator(mode="after")
    def _allowances_leave_time(self) -> Category:
        if sum(a.percent for a in self.category_allowances) >= 100:
            raise ValueError("the category allowances take all of the working time")
        codes = [a.code for a in self.activities]
        if len(set(codes)) != len(codes):
            raise ValueError("an activity is named twice")
        return self

    @property
    def caf(self) -> Fraction:
        taken = sum((Fraction(a.percent) for a in self.category_allowances), Fraction(0)) / 100
        return 1 / (1 - taken)


class Standard(BaseModel):
    model_config = _STRICT
    format: Literal["caregrid-wisn/1"]
    name: str = Field(min_length=1)
    title_zh: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    categories: dict[str, Category] = Field(min_length=1)

    @field_validator("categories")
    @classmethod
    def _professions(cls, value: dict[str, Category]) -> dict[str, Category]:
        for name in value:
            if name not in set(PostCategory):
                raise ValueError(f"{name}: not a post category")
        return value

    @property
    def indicators(self) -> tuple[str, ...]:
        """Every indicator the standard reads, each once."""
        found: dict[str, None] = {}
        for c in self.categories.values():
            found |= dict.fromkeys([*(a.indicator for a in c.activities), c.staff_indicator])
        return tuple(found)


def parse(text: str, file: str = "data/standards/wisn.yaml") -> Standard:
    return yamlio.validate(Standard, yamlio.load_text(text, file))


@cache
def standard() -> Standard:
    text = resources.files("caregrid.data").joinpath("standards/wisn.yaml").read_text("utf-8")
    return parse(text)


@dataclass(frozen=True)
class Line:
    code: str
    workload: int
    standard_workload: Fraction  # activities one staff member does in the AWT
    staff: Fraction  # workload / standard workload


@dataclass(frozen=True)
class Need:
    awt_hours: Fraction
    lines: tuple[Line, ...]
    caf: Fraction
    iaf: Fraction
    required: Fraction
    actual: int

    @property
    def ratio(self) -> Fraction | None:
        return None if not self.required else self.actual / self.required


def need(
    category: Category, workloads: Mapping[str, int], actual: int, share: Fraction = Fraction(1)
) -> Need:
    """The staff the category needs for the activities' workloads (by activity code) over a
    `share` of a year, and the WISN ratio against the staff it has."""
    awt = category.available_time.hours * share
    lines = tuple(
        Line(
            code=a.code,
            workload=workloads.get(a.code, 0),
            standard_workload=awt * 60 / Fraction(a.minutes),
            staff=workloads.get(a.code, 0) * Fraction(a.minutes) / (awt * 60),
        )
        for a in category.activities
    )
    hours = sum(
        (a.staff * Fraction(a.hours_per_year) * share for a in category.individual_allowances),
        Fraction(0),
    )
    iaf = hours / awt
    required = sum((line.staff for line in lines), Fraction(0)) * category.caf + iaf
    return Need(awt, lines, category.caf, iaf, required, actual)


def _round(value: Fraction, places: int = 2) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _maybe(value: Fraction | None) -> Decimal | None:
    return None if value is None else _round(value)


def _out(name: str, found: Need) -> WisnCategoryOut:
    return WisnCategoryOut(
        category=name,
        actual=found.actual,
        required=_round(found.required),
        difference=_round(found.actual - found.required),
        ratio=_maybe(found.ratio),
        caf=_round(found.caf, 3),
        iaf=_round(found.iaf, 3),
        activities=[
            WisnActivityOut(
                code=line.code,
                workload=line.workload,
                standard_workload=_round(line.standard_workload, 1),
                staff=_round(line.staff),
            )
            for line in found.lines
        ],
    )


def share_of_year(year: int, today: date) -> Fraction:
    """The part of the year its figures cover: all of a past year, this year's days so far."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    covered = (min(last, today) - first).days + 1
    return Fraction(covered, (last - first).days + 1)


def network_wisn(
    session: Session,
    principal: Principal,
    code: str,
    year: int,
    numerators: Callable[[tuple[str, ...]], Mapping[str, Mapping[str, float]]],
) -> WisnOut:
    """Each member's staffing need per category of the standard in the year, from the
    engine's numerators of the standard's indicators for the year (`numerators(ids)`: by
    member code, then indicator id; the web layer asks the engine, this package cannot);
    the network's total sums its members'."""
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "a network's staffing need is seen by its office"
    )
    chosen = standard()
    share = share_of_year(year, clock.today())
    members = []
    totals: dict[str, list[Need]] = {name: [] for name in chosen.categories}
    for member, figures in numerators(chosen.indicators).items():
        if member == network.code:
            continue
        found = []
        for name, category in chosen.categories.items():
            workloads = {a.code: int(figures[a.indicator]) for a in category.activities}
            actual = int(figures[category.staff_indicator])
            result = need(category, workloads, actual, share)
            totals[name].append(result)
            found.append(_out(name, result))
        members.append(WisnMemberOut(institution_code=member, categories=found))
    total = [
        WisnCategoryOut(
            category=name,
            actual=sum(n.actual for n in needs),
            required=_round(sum((n.required for n in needs), Fraction(0))),
            difference=_round(sum((n.actual - n.required for n in needs), Fraction(0))),
            ratio=_maybe(_ratio(needs)),
            caf=_round(chosen.categories[name].caf, 3),
            iaf=Decimal(0),
            activities=[],
        )
        for name, needs in totals.items()
    ]
    return WisnOut(
        network_code=network.code,
        year=year,
        share_of_year=_round(share, 4),
        standard=chosen.name,
        members=members,
        total=total,
    )


def _ratio(needs: list[Need]) -> Fraction | None:
    required = sum((n.required for n in needs), Fraction(0))
    return None if not required else sum(n.actual for n in needs) / required
