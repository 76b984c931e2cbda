"""Account administration and audit-log filters as the API and the pages read them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, field_validator

from caregrid.auth.roles import Role

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class AccountIn(BaseModel):
    """A new account; the institution by its registry code (the admin's own by default)."""

    username: str = Field(min_length=3, max_length=100, pattern=USERNAME)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    institution_code: str | None = Field(default=None, max_length=60)
    network_code: str | None = Field(default=None, max_length=60)


class AccountChange(BaseModel):
    """A change to an account: disable or enable it, replace its roles (either or both)."""

    active: bool | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=len(Role))


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class AccountOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    institution_id: int | None
    network_id: int | None
    active: bool


class AuditFilterIn(BaseModel):
    """The audit viewer's filters: the acting account, an action (prefix), the person (a
    resident's record number) or another subject, and a range of local days."""

    actor: str | None = Field(default=None, max_length=100)
    action: str | None = Field(default=None, max_length=60)
    person: int | None = Field(default=None, ge=1, le=2_147_483_647)
    subject_type: str | None = Field(default=None, max_length=60)
    subject_id: str | None = Field(default=None, max_length=100)
    since: date | None = None
    until: date | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """A browser's GET form sends every field, the empty ones as ``""``."""
        return None if value == "" else value
