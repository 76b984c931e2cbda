"""REST API of clinic sessions, reserved slots, bookings and beds (C1-C4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import Booking, ClinicSession
from caregrid.scheduling.schemas import (
    BedOut,
    BedPoolIn,
    BookingIn,
    BookingOut,
    CalendarDayOut,
    SessionIn,
    SessionOut,
    SlotOut,
    StatusIn,
    StayOut,
    StayStatusIn,
)
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["scheduling"])


def session_out(row: ClinicSession) -> SessionOut:
    return SessionOut.model_validate(row, from_attributes=True)


def booking_out(row: Booking) -> BookingOut:
    return BookingOut.model_validate(row, from_attributes=True)


@router.post("/departments/{department_id}/sessions", response_model=SessionOut, status_code=201)
def publish_session(department_id: int, body: SessionIn, session: DB, user: User) -> SessionOut:
    """Publish a clinic session; the reserved share and release times come from the profile."""
    row = scheduling.publish_session(
        session,
        user,
        department_id=department_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        capacity=body.capacity,
        practitioner_id=body.practitioner_id,
        reserved_count=body.reserved_count,
    )
    return session_out(row)


@router.get("/departments/{department_id}/calendar", response_model=list[CalendarDayOut])
def calendar(
    department_id: int,
    session: DB,
    user: User,
    days: Annotated[int | None, Query(ge=1, le=60)] = None,
) -> list[CalendarDayOut]:
    """The next `days` days of sessions with what the caller's unit may book now (by default
    the window of the host's profile, `slot_release_lead_days`)."""
    return [
        CalendarDayOut(
            session=session_out(day.session),
            open_for_me=day.open_for_me,
            reserved_open_for_me=day.reserved_open_for_me,
            taken=day.taken,
            not_yet_open=day.not_yet_open,
        )
        for day in scheduling.calendar(session, user, department_id=department_id, days=days)
    ]


@router.get("/sessions/{session_id}/slots", response_model=list[SlotOut])
def slots(session_id: int, session: DB, user: User) -> list[SlotOut]:
    clinic = scheduling.get_session(session, session_id)
    return [
        SlotOut.model_validate(v, from_attributes=True)
        for v in scheduling.slot_views(session, user, clinic)
    ]


@router.post("/slots/{slot_id}/bookings", response_model=BookingOut, status_code=201)
def book_slot(slot_id: int, body: BookingIn, session: DB, user: User) -> BookingOut:
    """Book this slot; 409 when someone else holds it."""
    return booking_out(
        scheduling.book(session, user, slot_id=slot_id, resident_id=body.resident_id)
    )


@router.post("/sessions/{session_id}/bookings", response_model=BookingOut, status_code=201)
def book_any(session_id: int, body: BookingIn, session: DB, user: User) -> BookingOut:
    """Book the first slot of the session open to the caller's unit."""
    return booking_out(
        scheduling.book_any(session, user, session_id=session_id, resident_id=body.resident_id)
    )


@router.post("/bookings/{booking_id}/status", response_model=BookingOut)
def booking_status(booking_id: int, body: StatusIn, session: DB, user: User) -> BookingOut:
    """Cancel, or record attended / no-show."""
    return booking_out(
        scheduling.set_booking_status(session, user, booking_id=booking_id, status=body.status)
    )


@router.post("/departments/{department_id}/beds", response_model=list[BedOut], status_code=201)
def create_bed_pool(department_id: int, body: BedPoolIn, session: DB, user: User) -> list[BedOut]:
    scheduling.create_bed_pool(session, user, department_id=department_id, total=body.total)
    return bed_board(department_id, session, user)


@router.get("/departments/{department_id}/beds", response_model=list[BedOut])
def bed_board(department_id: int, session: DB, user: User) -> list[BedOut]:
    """The bed board: every bed, reserved or not, with its live stay."""
    return [
        BedOut(
            id=v.bed.id,
            label=v.bed.label,
            reserved=v.bed.reserved,
            occupied=v.occupied,
            stay_id=v.stay.id if v.stay else None,
            stay_status=v.stay.status if v.stay else None,
            resident_id=v.stay.resident_id if v.stay else None,
            referral_id=v.stay.referral_id if v.stay else None,
        )
        for v in scheduling.bed_board(session, user, department_id=department_id)
    ]


@router.post("/bed-stays/{stay_id}/status", response_model=StayOut)
def stay_status(stay_id: int, body: StayStatusIn, session: DB, user: User) -> StayOut:
    """Admit, discharge (frees the bed) or cancel a reserved bed."""
    stay = scheduling.move_stay(session, user, stay_id=stay_id, status=body.status)
    return StayOut.model_validate(stay, from_attributes=True)
