"""API shapes of clinic sessions, slots, bookings, beds and stays."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SessionIn(BaseModel):
    starts_at: datetime = Field(description="with a time zone, e.g. 2026-12-01T08:00:00+08:00")
    ends_at: datetime
    capacity: int
    practitioner_id: int | None = None
    reserved_count: int | None = Field(
        default=None, description="defaults to the profile's reserved share (C1, C2)"
    )


class SessionOut(BaseModel):
    id: int
    department_id: int
    institution_id: int
    practitioner_id: int | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reserved_count: int
    reserved_share_target: str | None
    opens_to_members_at: datetime
    returns_to_public_at: datetime | None


class CalendarDayOut(BaseModel):
    session: SessionOut
    open_for_me: int
    reserved_open_for_me: int
    taken: int
    not_yet_open: int


class SlotOut(BaseModel):
    id: int
    session_id: int
    position: int
    starts_at: datetime
    reserved: bool
    pool: str
    availability: str
    opens_at: datetime | None


class BookingIn(BaseModel):
    resident_id: int


class BookingOut(BaseModel):
    id: int
    slot_id: int
    resident_id: int
    referral_id: int | None
    pool: str
    status: str
    booked_by: str


class StatusIn(BaseModel):
    status: Literal["cancelled", "attended", "no_show"]


class BedPoolIn(BaseModel):
    total: int


class BedOut(BaseModel):
    id: int
    label: str
    reserved: bool
    occupied: bool
    stay_id: int | None
    stay_status: str | None
    resident_id: int | None
    referral_id: int | None


class StayStatusIn(BaseModel):
    status: Literal["admitted", "discharged", "cancelled"]


class StayOut(BaseModel):
    id: int
    bed_id: int
    resident_id: int
    referral_id: int | None
    status: str
