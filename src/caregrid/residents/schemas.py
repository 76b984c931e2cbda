"""API shapes of resident records; identifiers leave masked unless access allows."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ResidentIn(BaseModel):
    national_id: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    sex: str | None = Field(
        default=None, description="male | female; derived from the ID if omitted"
    )
    birth_date: date | None = Field(default=None, description="derived from the ID if omitted")
    phone: str | None = None
    address_division_code: str
    registered_institution_code: str
    tags: list[str] = Field(default_factory=list)


class ResidentView(BaseModel):
    """A resident as the reader may see them (masked unless access allows)."""

    id: int
    national_id: str
    name: str
    sex: str
    birth_date: date | None
    age: int
    phone: str | None
    address_division_code: str
    grid: str | None
    registered_institution_code: str
    key_populations: list[str]
    masked: bool
    access_basis: str


class ResidentOut(ResidentView):
    """The API's resident: the view and whether they are signed with a family doctor today.
    The router composes the two, since contracts are made for residents."""

    signed: bool


class EmergencyAccessIn(BaseModel):
    """Why a clinician opens a record without a care relationship: a code of
    `data/catalogs/emergency-reasons.yaml` and free text (checked in `auth.access`)."""

    reason_code: str = Field(min_length=1, max_length=40)
    reason_text: str = Field(min_length=1, max_length=500)


class EmergencyGrantOut(BaseModel):
    id: int
    resident_id: int
    institution_id: int
    reason_code: str
    reason_text: str
    granted_at: datetime
    expires_at: datetime


class ResidentSearchIn(BaseModel):
    """The resident list's search: a name or its start, the last 4 to 6 characters of the
    national ID (what a masked ID shows), the last 4 digits of the phone. Empty fields, as a
    browser's GET form sends them, search nothing."""

    name: str = Field(default="", max_length=50)
    id_suffix: str = Field(default="", pattern=r"^([0-9Xx]{4,6})?$")
    phone_suffix: str = Field(default="", pattern=r"^(\d{4})?$")
