"""Reserved slots and beds (C1-C4): publication, who may book what when, and bookings.

The package's public entry: the reserved share and who it is for live in `quotas`, clinic
sessions, slots and bookings in `slots`, bed pools and stays in `beds`; this module holds
what spans both (a referral's live booking or bed, a month's capacity, the `booking` and
`capacity` facts) and re-exports what other packages and the routers use.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.registry import service as registry
from caregrid.scheduling.beds import (
    BedView,
    bed_board,
    bed_label,
    create_bed_pool,
    last_stay,
    live_stay_for_referral,
    move_stay,
    reserve_bed,
)
from caregrid.scheduling.models import (
    LIVE_STAY_STATUSES,
    Bed,
    BedStay,
    Booking,
    ClinicSession,
    Slot,
)
from caregrid.scheduling.quotas import (
    BED_SHARE,
    SLOT_SHARE,
    Quota,
    is_member_unit,
    quota,
    reserves,
)
from caregrid.scheduling.slots import (
    LEAD_DAYS,
    MAX_CAPACITY,
    Availability,
    BookingView,
    CalendarDay,
    SlotFilter,
    SlotView,
    book,
    book_any,
    bookings_page,
    calendar,
    calendar_window,
    get_booking,
    get_session,
    get_slot,
    live_booking_for_referral,
    publish_session,
    sessions,
    sessions_page,
    set_booking_status,
    slot_time,
    slot_views,
    slots_page,
    view_of,
)

__all__ = [
    "BED_SHARE",
    "LEAD_DAYS",
    "MAX_CAPACITY",
    "SLOT_SHARE",
    "Availability",
    "BedView",
    "Booking",
    "BookingView",
    "CalendarDay",
    "ClinicSession",
    "Quota",
    "SlotFilter",
    "SlotView",
    "bed_board",
    "bed_label",
    "book",
    "book_any",
    "bookings_page",
    "calendar",
    "calendar_window",
    "create_bed_pool",
    "get_booking",
    "get_session",
    "get_slot",
    "is_member_unit",
    "last_stay",
    "live_booking_for_referral",
    "live_stay_for_referral",
    "move_stay",
    "publish_session",
    "quota",
    "reserve_bed",
    "reserves",
    "sessions",
    "sessions_page",
    "set_booking_status",
    "slot_time",
    "slot_views",
    "slots_page",
    "view_of",
]


def booked_referral_ids(session: Session, referral_ids: list[int]) -> set[int]:
    """Referrals among these that hold a live booking or a live bed stay."""
    if not referral_ids:
        return set()
    slots = select(Booking.referral_id).where(
        Booking.referral_id.in_(referral_ids), Booking.status != "cancelled"
    )
    beds = select(BedStay.referral_id).where(
        BedStay.referral_id.in_(referral_ids), BedStay.status.in_(LIVE_STAY_STATUSES)
    )
    return {r for r in session.scalars(slots.union(beds)) if r is not None}


def booking_facts(session: Session) -> list[dict[str, object]]:
    """Every booked slot as a `booking` fact on the slot's local day, with the primary
    institution whose doctor booked it and the pool it came from (C1: reserved slots used)."""
    codes, departments = registry.codes_by_id(session), registry.department_codes(session)
    found = session.execute(
        select(Booking, Slot.starts_at, ClinicSession.institution_id, ClinicSession.department_id)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(ClinicSession, ClinicSession.id == Slot.session_id)
        .order_by(Booking.id)
    )
    return [
        {
            "booking_id": f"cg-{booking.id}",
            "institution_code": codes[institution],
            "department_code": departments[department],
            "booked_by_institution_code": codes.get(booking.booked_by_institution_id or 0),
            "pool": booking.pool,
            "status": booking.status,
            "date": clock.local(starts_at).date(),
            "referral_id": None if booking.referral_id is None else f"cg-{booking.referral_id}",
        }
        for booking, starts_at, institution, department in found
    ]


def capacity_facts(session: Session) -> list[dict[str, object]]:
    """Slots published per institution, department and local day, and how many were reserved
    for primary doctors; beds per department as they stand (`capacity` facts, C1)."""
    codes, departments = registry.codes_by_id(session), registry.department_codes(session)
    slots: dict[tuple[int, int, object], list[int]] = {}
    for clinic in session.scalars(select(ClinicSession)):
        key = (clinic.institution_id, clinic.department_id, clock.local(clinic.starts_at).date())
        totals = slots.setdefault(key, [0, 0])
        totals[0] += clinic.capacity
        totals[1] += clinic.reserved_count
    rows: list[dict[str, object]] = [
        {"resource": "slot", "institution_code": codes[i], "department_code": departments[d],
         "date": day, "total": total, "reserved": reserved}
        for (i, d, day), (total, reserved) in sorted(slots.items(), key=lambda kv: str(kv[0]))
    ]  # fmt: skip
    beds: dict[tuple[int, int], list[int]] = {}
    for bed in session.scalars(select(Bed)):
        totals = beds.setdefault((bed.institution_id, bed.department_id), [0, 0])
        totals[0] += 1
        totals[1] += int(bed.reserved)
    today = clock.today()
    rows += [
        {"resource": "bed", "institution_code": codes[i], "department_code": departments[d],
         "date": today, "total": total, "reserved": reserved}
        for (i, d), (total, reserved) in sorted(beds.items())
    ]  # fmt: skip
    return rows
