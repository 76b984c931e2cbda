"""API shapes of the registry."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InstitutionOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    level: str
    category: str
    division: str
    lat: float | None
    lon: float | None
    beds: int | None
    parent: str | None


class MemberOut(BaseModel):
    institution: InstitutionOut
    role: str
    tier: str
    key_construction: bool


class MemberClassOut(BaseModel):
    description_zh: str
    role: str
    categories: list[str]
    tier: str
    source: str | None


class NetworkOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    kind: str
    grid: str
    city: str
    profile: str


class NetworkDetail(NetworkOut):
    members: list[MemberOut]
    member_classes: list[MemberClassOut]


class CheckOut(BaseModel):
    network: str
    requirement: str
    status: str
    detail: str
    profile: str


class GridOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    divisions: list[str]
    networks: list[str]


class CityOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    pilot_level: str
    grids: list[GridOut]


class DepartmentIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1)
    name_en: str | None = None
    specialty: str | None = None


class DepartmentOut(DepartmentIn):
    institution: str


class PractitionerIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    title_level: str
    home_institution_code: str
    specialty: str | None = None
    site_codes: list[str] = Field(default_factory=list)


class PractitionerOut(BaseModel):
    code: str
    name: str
    title_level: str
    specialty: str | None
    home_institution: str
    sites: list[str]


class ImportOut(BaseModel):
    city: str
    counts: dict[str, int]
    warnings: list[str]
