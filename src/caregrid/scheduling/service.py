"""Reserved slots and beds (C1-C4): publication, who may book what when, and bookings.

Every rule follows from stored times and `clock.now()` (DESIGN.md, Time): a session stores
when its reserved slots open to member units and when those still free return to the public
pool, so no background job moves them. Double bookings are impossible by a partial unique
index; the code below only picks a candidate and reports the loser of a race as a conflict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.policy import service as policy
from caregrid.policy.schema import Profile
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level, NetworkRole
from caregrid.scheduling.models import (
    LIVE_STAY_STATUSES,
    Bed,
    BedStay,
    Booking,
    ClinicSession,
    Slot,
)

MAX_CAPACITY = 500
SLOT_SHARE = "reserved_outpatient_slot_share"
BED_SHARE = "reserved_bed_share"


@dataclass(frozen=True)
class Quota:
    """The reserved share an institution must open (C1, C2), from its network's profile."""

    network_id: int | None
    profile: Profile | None
    share: Fraction
    requirement: str | None

    def required(self, total: int) -> int:
        """Reserved units needed so that reserved/total is at least the share (exactly)."""
        return math.ceil(self.share * total)


def quota(session: Session, institution_id: int, key: str, when: datetime) -> Quota:
    """The share of `key` the institution reserves on the local date of `when`."""
    on = clock.local(when).date()
    for place in registry.placements(session, institution_id):
        profile = policy.get(place.profile)
        entry = profile.parameters.get(key)
        if entry is None or not _bound(session, institution_id, place, profile, on):
            continue
        share = entry.ratio_at(on)
        if share is not None:
            return Quota(place.network_id, profile, share, entry.requirement)
    return Quota(None, None, Fraction(0), None)


def reserves(session: Session, institution_id: int, network_code: str, on: date) -> bool:
    """Whether the network's profile asks the institution to reserve slots and beds."""
    for place in registry.placements(session, institution_id):
        if place.network_code == network_code:
            return _bound(session, institution_id, place, policy.get(place.profile), on)
    return False


def _bound(
    session: Session, institution_id: int, place: registry.Placement, profile: Profile, on: date
) -> bool:
    """C1 binds the network's lead, or every secondary-or-higher hospital where the profile
    says `reserved_share_applies_to: secondary_and_above` (GZ-U 三(三)9)."""
    if place.role == NetworkRole.LEAD:
        return True
    if (profile.parameter("reserved_share_applies_to", on) or "lead") != "secondary_and_above":
        return False
    institution = registry.get_institution_by_id(session, institution_id)
    return institution is not None and institution.level in (Level.SECONDARY, Level.TERTIARY)


def _spread(total: int, reserved: int) -> list[bool]:
    """Which positions are reserved: `reserved` of `total`, spread evenly over the session."""
    return [(i + 1) * reserved // total > i * reserved // total for i in range(total)]


def publish_session(
    session: Session,
    principal: Principal,
    *,
    department_id: int,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    practitioner_id: int | None = None,
    reserved_count: int | None = None,
) -> ClinicSession:
    """Publish a session; its reserved slots follow the profile's share and release rules."""
    department = registry.get_department(session, department_id)
    access.require_manage_institution(session, principal, department.institution_id)
    now = clock.now()
    problems: list[Problem] = []
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems.append(Problem("starts_at", "give a time zone (e.g. +08:00)"))
    elif starts_at <= now:
        problems.append(Problem("starts_at", f"{starts_at.isoformat()} is in the past"))
    elif ends_at <= starts_at:
        problems.append(Problem("ends_at", "must be after starts_at"))
    if not 1 <= capacity <= MAX_CAPACITY:
        problems.append(Problem("capacity", f"must be from 1 to {MAX_CAPACITY}"))
    if reserved_count is not None and not 0 <= reserved_count <= capacity:
        problems.append(Problem("reserved_count", "must be from 0 to the capacity"))
    if problems:
        raise InvalidInput(problems)

    rule = quota(session, department.institution_id, SLOT_SHARE, starts_at)
    required = rule.required(capacity)
    reserved = required if reserved_count is None else reserved_count
    if reserved < required:
        raise RuleViolation(
            f"{reserved} of {capacity} slots is below the reserved share {rule.share} "
            f"({required} slots) of profile {rule.profile.name if rule.profile else '-'}",
            requirement=rule.requirement or "C1",
        )
    opens_at = now
    returns_at: datetime | None = None
    if rule.profile is not None:
        local_day = clock.local(starts_at).date()
        lead_days = rule.profile.parameter(LEAD_DAYS, local_day)
        if lead_days is not None:
            opening_day = local_day - timedelta(days=int(lead_days))
            opens_at = datetime.combine(
                opening_day, time.min, tzinfo=ZoneInfo(get_settings().timezone)
            )
        return_hours = rule.profile.parameter("reserved_slot_return_hours", local_day)
        if return_hours is not None:
            returns_at = starts_at - timedelta(hours=float(return_hours))

    step = (ends_at - starts_at) / capacity
    row = ClinicSession(
        institution_id=department.institution_id,
        department_id=department.id,
        practitioner_id=practitioner_id,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        reserved_count=reserved,
        reserved_share_target=str(rule.share) if rule.profile else None,
        opens_to_members_at=opens_at,
        returns_to_public_at=returns_at,
        published_at=now,
        published_by=principal.username,
        slots=[
            Slot(position=i + 1, starts_at=starts_at + step * i, reserved=flag)
            for i, flag in enumerate(_spread(capacity, reserved))
        ],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal,
        action="clinic_session.publish",
        subject_type="clinic_session",
        subject_id=row.id,
        purpose="scheduling",
        detail={"capacity": capacity, "reserved": reserved, "department": department.code},
    )
    return row


# --- who may book which slot, now ---------------------------------------------------------


class Availability:
    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    RESERVED_FOR_MEMBERS = "reserved_for_members"
    TAKEN = "taken"
    PAST = "past"


@dataclass(frozen=True)
class SlotView:
    id: int
    session_id: int
    position: int
    starts_at: datetime
    reserved: bool
    pool: str  # reserved | public: the pool a booking made now would draw from
    availability: str
    opens_at: datetime | None


def is_member_unit(session: Session, booker_institution_id: int | None, host_id: int) -> bool:
    """A member unit of one of the host's networks (not the host itself): who reserved slots
    and beds are for (C1)."""
    if booker_institution_id is None or booker_institution_id == host_id:
        return False
    return registry.shares_network(session, booker_institution_id, host_id)


def _availability(
    slot: Slot, clinic: ClinicSession, *, taken: bool, member: bool, now: datetime
) -> SlotView:
    def view(pool: str, availability: str, opens_at: datetime | None = None) -> SlotView:
        return SlotView(
            slot.id, clinic.id, slot.position, slot.starts_at, slot.reserved, pool,
            availability, opens_at,
        )  # fmt: skip

    if slot.starts_at <= now:
        return view("public", Availability.PAST)
    if taken:
        return view("reserved" if slot.reserved else "public", Availability.TAKEN)
    if not slot.reserved:
        return view("public", Availability.OPEN)
    returned = clinic.returns_to_public_at is not None and now >= clinic.returns_to_public_at
    if returned:
        return view("public", Availability.OPEN)
    if not member:
        return view("reserved", Availability.RESERVED_FOR_MEMBERS, clinic.returns_to_public_at)
    if now < clinic.opens_to_members_at:
        return view("reserved", Availability.NOT_YET_OPEN, clinic.opens_to_members_at)
    return view("reserved", Availability.OPEN)


def _live_slot_ids(session: Session, slot_ids: list[int]) -> set[int]:
    if not slot_ids:
        return set()
    return set(
        session.scalars(
            select(Booking.slot_id).where(
                Booking.slot_id.in_(slot_ids), Booking.status != "cancelled"
            )
        )
    )


def get_session(session: Session, session_id: int) -> ClinicSession:
    row = session.get(ClinicSession, session_id)
    if row is None:
        raise NotFound(f"no clinic session with id {session_id}")
    return row


def sessions(
    session: Session, *, department_id: int, start: datetime, end: datetime
) -> list[ClinicSession]:
    return list(
        session.scalars(
            select(ClinicSession)
            .where(
                ClinicSession.department_id == department_id,
                ClinicSession.starts_at >= start,
                ClinicSession.starts_at < end,
            )
            .order_by(ClinicSession.starts_at)
        )
    )


def slot_views(session: Session, principal: Principal, clinic: ClinicSession) -> list[SlotView]:
    """Every slot of a session as the principal's unit sees it now."""
    now = clock.now()
    member = is_member_unit(session, principal.institution_id, clinic.institution_id)
    taken = _live_slot_ids(session, [s.id for s in clinic.slots])
    return [
        _availability(s, clinic, taken=s.id in taken, member=member, now=now) for s in clinic.slots
    ]


LEAD_DAYS = "slot_release_lead_days"


def calendar_window(session: Session, institution_id: int) -> int:
    """How many days ahead a calendar of the institution's sessions looks: the longest
    `slot_release_lead_days` (C3) of the networks it belongs to, in force today, so the window
    is the one in which its reserved slots open; the deployment's `calendar_days` without one."""
    today = clock.local(clock.now()).date()
    found = [
        int(lead)
        for place in registry.placements(session, institution_id)
        if (lead := policy.get(place.profile).parameter(LEAD_DAYS, today)) is not None
    ]
    return max(found) if found else get_settings().calendar_days


@dataclass(frozen=True)
class CalendarDay:
    session: ClinicSession
    open_for_me: int
    reserved_open_for_me: int
    taken: int
    not_yet_open: int


def calendar(
    session: Session, principal: Principal, *, department_id: int, days: int | None = None
) -> list[CalendarDay]:
    """Sessions of the next `days` days with what the principal's unit may book in each; by
    default the host institution's `calendar_window`."""
    now = clock.now()
    if days is None:
        host = registry.get_department(session, department_id).institution_id
        days = calendar_window(session, host)
    out = []
    for clinic in sessions(
        session, department_id=department_id, start=now, end=now + timedelta(days=days)
    ):
        views = slot_views(session, principal, clinic)
        out.append(
            CalendarDay(
                session=clinic,
                open_for_me=sum(v.availability == Availability.OPEN for v in views),
                reserved_open_for_me=sum(
                    v.availability == Availability.OPEN and v.pool == "reserved" for v in views
                ),
                taken=sum(v.availability == Availability.TAKEN for v in views),
                not_yet_open=sum(v.availability == Availability.NOT_YET_OPEN for v in views),
            )
        )
    return out


def _require_booker(principal: Principal) -> int:
    if not principal.has(Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN):
        raise Forbidden("booking needs a clinician, family-doctor or institution-admin account")
    if principal.institution_id is None and not principal.system:
        raise Forbidden("booking needs an account that belongs to an institution")
    return principal.institution_id or 0


def _refuse(view: SlotView) -> None:
    if view.availability == Availability.PAST:
        raise InvalidInput([Problem("slot_id", f"slot {view.id} starts in the past")])
    if view.availability == Availability.TAKEN:
        raise Conflict(f"slot {view.id} is already booked")
    if view.availability == Availability.NOT_YET_OPEN:
        assert view.opens_at is not None
        raise RuleViolation(
            f"reserved slot {view.id} opens to member units at "
            f"{clock.local(view.opens_at).isoformat(timespec='minutes')}",
            requirement="C3",
        )
    if view.availability == Availability.RESERVED_FOR_MEMBERS:
        raise RuleViolation(
            f"slot {view.id} is reserved for the network's member units and family-doctor teams",
            requirement="C1",
        )


def book(
    session: Session,
    principal: Principal,
    *,
    slot_id: int,
    resident_id: int,
    referral_id: int | None = None,
    for_institution_id: int | None = None,
) -> Booking:
    """Book one slot for a resident; the loser of a race gets Conflict, nothing written.

    `for_institution_id`: the referral service books for the referring unit when the
    receiving department offers a slot, so the unit's reserved-slot rights apply.
    """
    institution_id = for_institution_id or _require_booker(principal)
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"no slot with id {slot_id}")
    access.patient_access(session, principal, resident_id)
    clinic = slot.session
    member = is_member_unit(session, institution_id, clinic.institution_id)
    view = _availability(
        slot,
        clinic,
        taken=slot.id in _live_slot_ids(session, [slot.id]),
        member=member,
        now=clock.now(),
    )
    _refuse(view)
    return _insert_booking(
        session, principal, slot, view.pool, resident_id, referral_id, institution_id
    )


def book_any(
    session: Session,
    principal: Principal,
    *,
    session_id: int,
    resident_id: int,
    referral_id: int | None = None,
) -> Booking:
    """Book the first slot of a session open to the principal's unit (reserved slots first for
    member units). On PostgreSQL, rows being booked by others are skipped, not waited on."""
    institution_id = _require_booker(principal)
    clinic = get_session(session, session_id)
    access.patient_access(session, principal, resident_id)
    now = clock.now()
    member = is_member_unit(session, institution_id, clinic.institution_id)
    live = exists().where(and_(Booking.slot_id == Slot.id, Booking.status != "cancelled"))
    tried: list[int] = []
    while True:
        # One row at a time: locking several would hide them all from concurrent bookers.
        slot = session.scalar(
            select(Slot)
            .where(Slot.session_id == clinic.id, Slot.starts_at > now, ~live, Slot.id.not_in(tried))
            .order_by(Slot.reserved.desc() if member else Slot.reserved, Slot.position)
            .limit(1)
            .with_for_update(skip_locked=True, of=Slot)
        )
        if slot is None:
            break
        tried.append(slot.id)
        view = _availability(slot, clinic, taken=False, member=member, now=now)
        if view.availability != Availability.OPEN:
            continue
        try:
            return _insert_booking(
                session, principal, slot, view.pool, resident_id, referral_id, institution_id
            )
        except Conflict:
            continue
    raise Conflict(f"no slot of session {clinic.id} is open to your unit now")


def _insert_booking(
    session: Session,
    principal: Principal,
    slot: Slot,
    pool: str,
    resident_id: int,
    referral_id: int | None,
    institution_id: int,
) -> Booking:
    now = clock.now()
    booking = Booking(
        slot_id=slot.id,
        resident_id=resident_id,
        referral_id=referral_id,
        booked_by=principal.username,
        booked_by_institution_id=institution_id or None,
        pool=pool,
        status="booked",
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except IntegrityError:
        raise Conflict(f"slot {slot.id} is already booked") from None
    audit.record(
        session,
        principal,
        action="booking.create",
        subject_type="resident",
        subject_id=resident_id,
        purpose="booking",
        detail={"slot": slot.id, "pool": pool, "referral": referral_id},
    )
    return booking


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking with id {booking_id}")
    return booking


def _slot_of(session: Session, booking: Booking) -> tuple[Slot, ClinicSession]:
    slot = session.get(Slot, booking.slot_id)
    assert slot is not None
    return slot, slot.session


def set_booking_status(
    session: Session, principal: Principal, *, booking_id: int, status: str
) -> Booking:
    """Cancel (the booking unit or the host), or record attended / no-show (the host, once the
    slot has started)."""
    booking = get_booking(session, booking_id)
    slot, clinic = _slot_of(session, booking)
    host = principal.system or principal.institution_id == clinic.institution_id
    if booking.status != "booked":
        raise Conflict(f"booking {booking.id} is already {booking.status}")
    if status == "cancelled":
        if not (host or principal.institution_id == booking.booked_by_institution_id):
            raise Forbidden("only the booking unit or the hosting institution may cancel")
    elif status in ("attended", "no_show"):
        if not host:
            raise Forbidden("only the hosting institution records attendance")
        if slot.starts_at > clock.now():
            raise InvalidInput([Problem("status", f"slot {slot.id} has not started yet")])
    else:
        raise InvalidInput([Problem("status", "must be cancelled, attended or no_show")])
    booking.status = status
    booking.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        principal,
        action=f"booking.{status}",
        subject_type="resident",
        subject_id=booking.resident_id,
        purpose="booking",
        detail={"booking": booking.id},
    )
    return booking


def live_booking_for_referral(session: Session, referral_id: int) -> Booking | None:
    return session.scalar(
        select(Booking)
        .where(Booking.referral_id == referral_id, Booking.status != "cancelled")
        .order_by(Booking.id.desc())
        .limit(1)
    )


def slot_time(session: Session, booking: Booking) -> datetime:
    slot, _ = _slot_of(session, booking)
    return slot.starts_at


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


# --- beds -----------------------------------------------------------------------------------


def create_bed_pool(
    session: Session, principal: Principal, *, department_id: int, total: int
) -> list[Bed]:
    """A department's beds, the profile's reserved share of them marked reserved (C1, C2)."""
    department = registry.get_department(session, department_id)
    access.require_manage_institution(session, principal, department.institution_id)
    if not 1 <= total <= 2000:
        raise InvalidInput([Problem("total", "must be from 1 to 2000")])
    if session.scalar(select(func.count()).where(Bed.department_id == department.id)):
        raise Conflict(f"department {department.code} already has a bed pool")
    rule = quota(session, department.institution_id, BED_SHARE, clock.now())
    reserved = rule.required(total)
    beds = [
        Bed(
            institution_id=department.institution_id,
            department_id=department.id,
            label=f"{i + 1:03d}",
            reserved=flag,
        )
        for i, flag in enumerate(_spread(total, reserved))
    ]
    session.add_all(beds)
    session.flush()
    audit.record(
        session,
        principal,
        action="bed_pool.create",
        subject_type="department",
        subject_id=department.id,
        purpose="scheduling",
        detail={"total": total, "reserved": reserved},
    )
    return beds


@dataclass(frozen=True)
class BedView:
    bed: Bed
    stay: BedStay | None  # None for viewers outside the hospital when the bed is occupied
    occupied: bool


def bed_board(session: Session, principal: Principal, *, department_id: int) -> list[BedView]:
    """Every bed of the department; who lies in it only for the hospital's own staff."""
    department = registry.get_department(session, department_id)
    host = principal.system or principal.institution_id == department.institution_id
    beds = session.scalars(
        select(Bed).where(Bed.department_id == department_id).order_by(Bed.label)
    ).all()
    stays = {
        s.bed_id: s
        for s in session.scalars(
            select(BedStay).where(
                BedStay.bed_id.in_([b.id for b in beds]),
                BedStay.status.in_(LIVE_STAY_STATUSES),
            )
        )
    }
    return [BedView(b, stays.get(b.id) if host else None, b.id in stays) for b in beds]


def reserve_bed(
    session: Session,
    principal: Principal,
    *,
    department_id: int,
    resident_id: int,
    referral_id: int | None,
    for_institution_id: int | None = None,
) -> BedStay:
    """A reserved bed for a member unit's referred patient (C1); Conflict when none is free."""
    institution_id = for_institution_id or _require_booker(principal)
    department = registry.get_department(session, department_id)
    if not is_member_unit(session, institution_id, department.institution_id):
        raise RuleViolation(
            "reserved beds are for the network's member units and family-doctor teams",
            requirement="C1",
        )
    access.patient_access(session, principal, resident_id)
    live = exists().where(and_(BedStay.bed_id == Bed.id, BedStay.status.in_(LIVE_STAY_STATUSES)))
    candidates = session.scalars(
        select(Bed)
        .where(Bed.department_id == department.id, Bed.reserved, ~live)
        .order_by(Bed.label)
        .limit(8)
        .with_for_update(skip_locked=True, of=Bed)
    )
    for bed in candidates:
        stay = BedStay(
            bed_id=bed.id,
            resident_id=resident_id,
            referral_id=referral_id,
            booked_by=principal.username,
            booked_by_institution_id=institution_id,
            status="reserved",
            reserved_at=clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(stay)
                session.flush()
        except IntegrityError:
            continue
        audit.record(
            session,
            principal,
            action="bed_stay.reserve",
            subject_type="resident",
            subject_id=resident_id,
            purpose="admission",
            detail={"bed": bed.label, "department": department.code, "referral": referral_id},
        )
        return stay
    raise Conflict(f"no reserved bed of department {department.code} is free")


def live_stay_for_referral(session: Session, referral_id: int) -> BedStay | None:
    return session.scalar(
        select(BedStay).where(
            BedStay.referral_id == referral_id, BedStay.status.in_(LIVE_STAY_STATUSES)
        )
    )


def move_stay(session: Session, principal: Principal, *, stay_id: int, status: str) -> BedStay:
    """admitted (from reserved), discharged (from admitted: frees the bed) or cancelled."""
    stay = session.get(BedStay, stay_id)
    if stay is None:
        raise NotFound(f"no bed stay with id {stay_id}")
    bed = session.get(Bed, stay.bed_id)
    assert bed is not None
    if not (principal.system or principal.institution_id == bed.institution_id):
        raise Forbidden("only the hospital that holds the bed moves its stays")
    allowed = {"admitted": "reserved", "discharged": "admitted", "cancelled": "reserved"}
    if status not in allowed:
        raise InvalidInput([Problem("status", "must be admitted, discharged or cancelled")])
    if stay.status != allowed[status]:
        raise Conflict(f"bed stay {stay.id} is {stay.status}; cannot become {status}")
    stay.status = status
    if status == "admitted":
        stay.admitted_at = clock.now()
    if status == "discharged":
        stay.discharged_at = clock.now()
    session.flush()
    audit.record(
        session,
        principal,
        action=f"bed_stay.{status}",
        subject_type="resident",
        subject_id=stay.resident_id,
        purpose="admission",
        detail={"bed": bed.label},
    )
    return stay


def last_stay(session: Session, referral_id: int) -> BedStay | None:
    """The referral's latest bed stay, discharged or not (for the timeline's bed column)."""
    return session.scalar(
        select(BedStay)
        .where(BedStay.referral_id == referral_id, BedStay.status != "cancelled")
        .order_by(BedStay.id.desc())
        .limit(1)
    )


def bed_label(session: Session, stay: BedStay) -> str:
    bed = session.get(Bed, stay.bed_id)
    assert bed is not None
    return bed.label


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
