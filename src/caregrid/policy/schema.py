"""The profile file format (caregrid-profile/1); see docs/policy-profiles.md."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from caregrid.policy.requirements import requirement_catalog
from caregrid.registry.vocab import Category, Level, NetworkKind

Scalar = float | int | bool | str | date
Value = Scalar | dict[str, float | int]
Comparison = Literal[">=", "<=", "==", ">", "<"]
Unit = Literal[
    "ratio",
    "percent_points",
    "count",
    "days",
    "hours",
    "months",
    "cny",
    "level",
    "bool",
    "date",
    "text",
    "bands",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class Cited(_Strict):
    """Anything in a profile cites the requirement id it implements and the source section."""

    requirement: str
    source: str
    note: str | None = None

    @field_validator("requirement")
    @classmethod
    def _known_requirement(cls, value: str) -> str:
        if value not in requirement_catalog():
            raise ValueError(f"unknown requirement id {value!r} (not in REQUIREMENTS.md)")
        return value


class Phase(_Strict):
    effective: date
    value: Value


class Parameter(Cited):
    """A number (or flag, text) of a jurisdiction, constant or phased by date (e.g. C2). Its
    unit and type are checked against its declaration (policy.parameters) when it loads."""

    unit: Unit | None = None
    comparison: Comparison | None = None
    value: Value | None = None
    phases: list[Phase] | None = None

    @model_validator(mode="after")
    def _value_or_phases(self) -> Parameter:
        if (self.value is None) == (self.phases is None):
            raise ValueError("give exactly one of `value` or `phases`")
        if self.phases is not None:
            if not self.phases:
                raise ValueError("`phases` must not be empty")
            dates = [p.effective for p in self.phases]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError("phases must be in strictly ascending `effective` order")
        return self

    def at(self, when: date) -> Value | None:
        """The value in force on `when`: the latest phase effective on or before it."""
        if self.phases is None:
            return self.value
        current: Value | None = None
        for phase in self.phases:
            if phase.effective <= when:
                current = phase.value
        return current

    def ratio_at(self, when: date) -> Fraction | None:
        """A ratio parameter as an exact fraction ("1/3" stays exactly one third)."""
        value = self.at(when)
        return None if value is None else as_ratio(value)

    def next_phase(self, when: date) -> Phase | None:
        """The first phase that takes effect after `when`, if any."""
        for phase in self.phases or []:
            if phase.effective > when:
                return phase
        return None


def as_ratio(value: object) -> Fraction:
    """A share written as a number from 0 to 1 (`0.25`) or an exact fraction (`"1/3"`)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"a ratio must be a number from 0 to 1 or a fraction 'a/b', not {value!r}")
    try:
        ratio = Fraction(value) if isinstance(value, str) else Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is not a ratio: write 0.25 or 1/3") from None
    if not 0 <= ratio <= 1:
        raise ValueError(f"a ratio must lie between 0 and 1, got {value!r}")
    return ratio


def as_bands(value: object) -> tuple[tuple[Fraction, Fraction], ...]:
    """Shares by band (I3): `{edge: share}`, each edge the band's upper end as a share of the
    budget (0 to 1, ascending once sorted) and the share applied to the part of an amount in
    that band; the part above the last edge gets none."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"bands are a mapping {{edge: share}} such as {{0.05: 1}}, not {value!r}")
    found = []
    for edge, share in value.items():
        try:
            upper, part = as_ratio(edge), as_ratio(share)
        except ValueError as exc:
            raise ValueError(f"band {edge!r}: {exc}") from None
        if upper == 0:
            raise ValueError(f"band {edge!r}: an edge above 0")
        found.append((upper, part))
    found.sort()
    if len({edge for edge, _ in found}) != len(found):
        raise ValueError("two bands have the same edge")
    return tuple(found)


CatalogKind = Literal[
    "member_first_visit",
    "lead_down_referral",
    "keep_in_city",
    "tier_city",
    "tier_district",
    "tier_county",
    "tier_township",
]


class CatalogSpec(Cited):
    """A disease catalog (B2, B8): a shipped or deployment CSV file, or entries inline."""

    file: str | None = None
    entries: list[str] | None = None

    @model_validator(mode="after")
    def _file_or_entries(self) -> CatalogSpec:
        if (self.file is None) == (self.entries is None):
            raise ValueError("give exactly one of `file` or `entries`")
        return self


class MinGrids(Cited):
    """A3: minimum number of grids by the city's pilot level."""

    value: dict[Literal["provincial_pilot", "other"], int]


class Flag(Cited):
    value: bool


class Count(Cited):
    value: int = Field(ge=0)


class LeadRule(Cited):
    """A2: what the lead institution must be."""

    levels: list[Level] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)


class InstitutionMatch(_Strict):
    level: Level | None = None
    category: Category | None = None


class MemberRequirement(Cited):
    """A4: at least one named member matches any of these."""

    label_zh: str
    label_en: str
    any_of: list[InstitutionMatch] = Field(min_length=1)


class Structure(_Strict):
    one_network_per_grid: Flag | None = None
    min_grids: MinGrids | None = None
    lead: LeadRule | None = None
    member_requirements: list[MemberRequirement] = Field(default_factory=list)
    key_construction_min: Count | None = None


class Source(_Strict):
    short: str
    document: str
    seed: str | None = None


class Profile(_Strict):
    """One jurisdiction's policy profile."""

    format: Literal["caregrid-profile/1"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title_zh: str
    title_en: str
    jurisdiction_zh: str
    network_kind: NetworkKind
    sources: list[Source] = Field(min_length=1)
    structure: Structure = Field(default_factory=Structure)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    catalogs: dict[CatalogKind, CatalogSpec] = Field(default_factory=dict)

    @field_validator("parameters")
    @classmethod
    def _snake_case_keys(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        for key in value:
            if not key.replace("_", "").isalnum() or not key.islower():
                raise ValueError(f"parameter key {key!r} must be snake_case")
        return value

    def parameter(self, key: str, when: date) -> Any:
        """Resolve a parameter for a date; None when the profile does not set it. A key not
        declared in data/parameters.yaml raises KeyError: a misspelt read fails loudly."""
        entry = self._entry(key)
        return None if entry is None else entry.at(when)

    def ratio(self, key: str, when: date) -> Fraction | None:
        """A ratio parameter in force on `when`, exactly; None when not set or not yet in force."""
        entry = self._entry(key)
        return None if entry is None else entry.ratio_at(when)

    def _entry(self, key: str) -> Parameter | None:
        from caregrid.policy.parameters import declaration

        declaration(key)
        return self.parameters.get(key)
