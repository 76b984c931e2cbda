"""The layout file format (caregrid-layout/1): a city's whole layout; see docs/layouts.md."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from caregrid import yamlio
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.registry.vocab import (
    Category,
    CrossGridKind,
    DivisionLevel,
    Level,
    NetworkKind,
    NetworkRole,
    PilotLevel,
    Tier,
)

Code = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class CitySpec(_Strict):
    code: Code = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name_zh: str
    name_en: str | None = None
    province_zh: str | None = None
    pilot_level: PilotLevel = PilotLevel.UNKNOWN
    area: list[Code] = Field(min_length=1)
    source: str | None = None
    note: str | None = None


class CrossingSpec(_Strict):
    """A neighbour reached over a named link rather than a land border (a bridge, a tunnel)."""

    division: Code
    via: str = Field(min_length=1, max_length=200)


class DivisionSpec(_Strict):
    code: Code
    name_zh: str
    name_en: str | None = None
    level: DivisionLevel
    parent: Code | None = None
    note: str | None = None
    # What the grid planner needs (A1): resident population with where the figure comes from,
    # a centroid, and the divisions this one borders (a code, or a crossing with its link).
    population: int | None = Field(default=None, ge=0)
    population_source: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    adjacent: list[Code | CrossingSpec] = Field(default_factory=list)

    def neighbours(self) -> list[tuple[Code, str | None]]:
        """(code, crossing or None) for each listed neighbour."""
        return [(a, None) if isinstance(a, str) else (a.division, a.via) for a in self.adjacent]


class GridSpec(_Strict):
    code: Code
    name_zh: str
    name_en: str | None = None
    divisions: list[Code] = Field(min_length=1)
    note: str | None = None


class MemberSpec(_Strict):
    institution: Code
    role: NetworkRole
    tier: Tier
    key_construction: bool = False
    note: str | None = None


class MemberClassSpec(_Strict):
    description_zh: str
    role: NetworkRole
    categories: list[Category] = Field(min_length=1)
    tier: Tier
    source: str | None = None


class NetworkSpec(_Strict):
    code: Code
    name_zh: str
    name_en: str | None = None
    kind: NetworkKind
    grid: Code
    profile: str
    source: str | None = None
    note: str | None = None
    members: list[MemberSpec] = Field(default_factory=list)
    member_classes: list[MemberClassSpec] = Field(default_factory=list)


class InstitutionSpec(_Strict):
    code: Code
    name_zh: str
    name_en: str | None = None
    level: Level
    category: Category
    division: Code
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    beds: int | None = Field(default=None, ge=0)
    parent: Code | None = None
    source: str | None = None
    note: str | None = None


class CrossGridSpec(_Strict):
    code: Code
    kind: CrossGridKind
    name_zh: str
    name_en: str | None = None
    lead: Code | None = None
    institutions: list[Code] = Field(default_factory=list)
    networks: list[Code] = Field(default_factory=list)
    source: str | None = None
    note: str | None = None


class LayoutFile(_Strict):
    format: Literal["caregrid-layout/1"]
    city: CitySpec
    divisions: list[DivisionSpec] = Field(default_factory=list)
    grids: list[GridSpec] = Field(default_factory=list)
    networks: list[NetworkSpec] = Field(default_factory=list)
    institutions: list[InstitutionSpec] = Field(default_factory=list)
    institutions_csv: str | None = None
    cross_grid_services: list[CrossGridSpec] = Field(default_factory=list)


INSTITUTION_COLUMNS = list(InstitutionSpec.model_fields)


def read_institutions_csv(path: Path) -> tuple[list[InstitutionSpec], list[Problem], list[int]]:
    """Rows of an institution CSV; returns specs, row-level problems, and each spec's line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        return (
            [],
            [Problem("(file)", msg("cannot read: {strerror}", strerror=exc.strerror), str(path))],
            [],
        )
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c
        for c in ("code", "name_zh", "level", "category", "division")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        return (
            [],
            [
                Problem(
                    "(header)",
                    msg("missing columns: {missing}", missing=", ".join(missing)),
                    str(path),
                    1,
                )
            ],
            [],
        )
    unknown = [c for c in reader.fieldnames or [] if c not in INSTITUTION_COLUMNS]
    if unknown:
        return (
            [],
            [
                Problem(
                    "(header)",
                    msg("unknown columns: {unknown}", unknown=", ".join(unknown)),
                    str(path),
                    1,
                )
            ],
            [],
        )
    specs: list[InstitutionSpec] = []
    problems: list[Problem] = []
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        cleaned = {k: (v.strip() or None) for k, v in row.items() if v is not None}
        try:
            specs.append(InstitutionSpec.model_validate(cleaned))
            lines.append(line)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(Problem(yamlio.dotted(err["loc"]), err["msg"], str(path), line))
    return specs, problems, lines


def write_institutions_csv(institutions: list[InstitutionSpec]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=INSTITUTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for spec in institutions:
        row = spec.model_dump(mode="json")
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def parse(located: yamlio.Located) -> LayoutFile:
    """Validate the YAML shape; raises InvalidInput listing every problem."""
    layout = yamlio.validate(LayoutFile, located)
    if layout.institutions_csv and layout.institutions:
        raise InvalidInput(
            [
                located.problem(
                    ["institutions_csv"], "give `institutions` or `institutions_csv`, not both"
                )
            ]
        )
    return layout
