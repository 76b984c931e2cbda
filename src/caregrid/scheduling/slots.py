"""Clinic sessions and their slots (C1, C3, C4): publication with the reserved share, who may
book which slot now, bookings and their status.

Every rule follows from stored times and `clock.now()` (DESIGN.md, Time): a session stores
when its reserved slots open to member units and when those still free return to the public
pool, so no background job moves them. Double bookings are impossible by a partial unique
index; the code below only picks a candidate and reports the loser of a race as a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.config import get_settings
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.scheduling.models import Booking, ClinicSession, Slot
from caregrid.scheduling.quotas import SLOT_SHARE, _require_booker, _spread, is_member_unit, quota
from caregrid.scheduling.vocab import BookingStatus

MAX_CAPACITY = 500


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
        problems.append(
            Problem("starts_at", msg("{starts_at} is in the past", starts_at=starts_at.isoformat()))
        )
    elif ends_at <= starts_at:
        problems.append(Problem("ends_at", "must be after starts_at"))
    if not 1 <= capacity <= MAX_CAPACITY:
        problems.append(
            Problem("capacity", msg("must be from 1 to {max_capacity}", max_capacity=MAX_CAPACITY))
        )
    if reserved_count is not None and not 0 <= reserved_count <= capacity:
        problems.append(Problem("reserved_count", "must be from 0 to the capacity"))
    if problems:
        raise InvalidInput(problems)

    rule = quota(session, department.institution_id, SLOT_SHARE, starts_at)
    required = rule.required(capacity)
    reserved = required if reserved_count is None else reserved_count
    if reserved < required:
        raise RuleViolation(
            "{reserved} of {capacity} slots is below the reserved share {share} ({required} "
            "slots) of profile {value}",
            reserved=reserved,
            capacity=capacity,
            share=rule.share,
            required=required,
            value=rule.profile.name if rule.profile else "-",
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
        raise NotFound("no clinic session with id {session_id}", session_id=session_id)
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


def _refuse(view: SlotView) -> None:
    if view.availability == Availability.PAST:
        raise InvalidInput([Problem("slot_id", msg("slot {id} starts in the past", id=view.id))])
    if view.availability == Availability.TAKEN:
        raise Conflict("slot {id} is already booked", id=view.id)
    if view.availability == Availability.NOT_YET_OPEN:
        assert view.opens_at is not None
        raise RuleViolation(
            "reserved slot {id} opens to member units at {clock}",
            id=view.id,
            clock=clock.local(view.opens_at).isoformat(timespec="minutes"),
            requirement="C3",
        )
    if view.availability == Availability.RESERVED_FOR_MEMBERS:
        raise RuleViolation(
            "slot {id} is reserved for the network's member units and family-doctor teams",
            id=view.id,
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
        raise NotFound("no slot with id {slot_id}", slot_id=slot_id)
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
    cap = reserved_cap(session, clinic) if view.pool == "reserved" else None
    if cap is not None:
        _lock_resident(session, resident_id)
        if cap.reached(session, resident_id):
            raise cap.refusal(resident_id)
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
    member units), picked and booked in one statement. On PostgreSQL a slot row another booker
    holds is skipped, not waited on; a slot the partial unique index finds taken is tried again
    with the next one."""
    institution_id = _require_booker(principal)
    clinic = get_session(session, session_id)
    access.patient_access(session, principal, resident_id)
    now = clock.now()
    member = is_member_unit(session, institution_id, clinic.institution_id)
    returned = clinic.returns_to_public_at is not None and now >= clinic.returns_to_public_at
    # The pools open to this unit now (the session-wide part of `_availability`).
    reserved_open = returned or (member and now >= clinic.opens_to_members_at)
    capped: ReservedCap | None = None
    # Only a member unit draws from the reserved pool. The lock comes before any slot row is
    # locked, so two bookings of one resident cannot deadlock on a slot and the lock.
    cap = reserved_cap(session, clinic) if member and reserved_open and not returned else None
    if cap is not None:
        _lock_resident(session, resident_id)
        if cap.reached(session, resident_id):
            capped, reserved_open = cap, False  # a public slot may still be free
    live = exists().where(and_(Booking.slot_id == Slot.id, Booking.status != "cancelled"))
    candidates = [Slot.session_id == clinic.id, Slot.starts_at > now, ~live]
    if not reserved_open:
        candidates.append(Slot.reserved.is_(False))
    for _attempt in range(clinic.capacity):
        booked = session.execute(
            _pick_and_book(
                candidates,
                reserved_first=member,
                pool=literal("public") if returned else _pool_of_slot(),
                values={
                    "resident_id": resident_id,
                    "referral_id": referral_id,
                    "booked_by": principal.username,
                    "booked_by_institution_id": institution_id or None,
                    "status": "booked",
                    "created_at": now,
                    "updated_at": now,
                },
                dialect=session.get_bind().dialect.name,
            )
        ).first()
        if booked is not None:
            _audit_booking(session, principal, booked[0])
            return booked[0]
        # None back: nothing free, or the slot picked was booked by a transaction that committed
        # after this statement's snapshot (the unique index saw it). Is anything still free?
        free = select(Slot.id).where(*candidates).limit(1)
        if session.scalar(free.with_for_update(skip_locked=True, of=Slot)) is None:
            break
    if capped is not None:
        raise capped.refusal(resident_id)
    raise Conflict("no slot of session {id} is open to your unit now", id=clinic.id)


def _pool_of_slot() -> ColumnElement[str]:
    return case((Slot.reserved, literal("reserved")), else_=literal("public"))


def _pick_and_book(
    candidates: list[ColumnElement[bool]],
    *,
    reserved_first: bool,
    pool: ColumnElement[str],
    values: dict[str, object],
    dialect: str,
) -> ReturningInsert[Booking]:
    """INSERT INTO booking SELECT the first free slot ... FOR UPDATE SKIP LOCKED, ON CONFLICT DO
    NOTHING RETURNING the booking."""
    columns = ["slot_id", "pool", *values]
    pick = (
        select(Slot.id, pool, *(literal(v, Booking.__table__.c[k].type) for k, v in values.items()))
        .where(*candidates)
        .order_by(Slot.reserved.desc() if reserved_first else Slot.reserved, Slot.position)
        .limit(1)
        .with_for_update(skip_locked=True, of=Slot)
    )
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return upsert(Booking).from_select(columns, pick).on_conflict_do_nothing().returning(Booking)


# --- a resident's reserved bookings -------------------------------------------------------

RESERVED_CAP = "reserved_slot_bookings_per_resident_max"
# Bookings of one resident's reserved slots take turns on PostgreSQL under this advisory lock
# class (the two-key space, apart from the sealer's one-key lock), so two concurrent bookings
# cannot both see the resident below the cap. SQLite's units of work already take the write
# lock at BEGIN. The database alone still guards each slot against a double booking.
RESIDENT_BOOKING_LOCK = 0x43475242  # "CGRB"


@dataclass(frozen=True)
class ReservedCap:
    """The most future reserved-slot bookings one resident may hold at once (C1, a local
    safeguard: no source states the number), from the host's profile."""

    limit: int
    profile: str

    def held(self, session: Session, resident_id: int) -> int:
        """Bookings of reserved slots still to come: booked (not cancelled, attended or
        missed) and starting after now."""
        count = session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(
                Booking.resident_id == resident_id,
                Booking.pool == "reserved",
                Booking.status == "booked",
                Slot.starts_at > clock.now(),
            )
        )
        return int(count or 0)

    def reached(self, session: Session, resident_id: int) -> bool:
        return self.held(session, resident_id) >= self.limit

    def refusal(self, resident_id: int) -> Conflict:
        return Conflict(
            "resident {resident_id} already holds {limit} future bookings of reserved slots, "
            "the most profile {profile} allows ({reserved_cap} = {limit}); cancel one or book "
            "a public slot",
            resident_id=resident_id,
            limit=self.limit,
            profile=self.profile,
            reserved_cap=RESERVED_CAP,
        )


def reserved_cap(session: Session, clinic: ClinicSession) -> ReservedCap | None:
    """The cap of the profile under which the host reserves the session's slots, on the
    session's local date; None when that profile sets none."""
    rule = quota(session, clinic.institution_id, SLOT_SHARE, clinic.starts_at)
    if rule.profile is None:
        return None
    limit = rule.profile.parameter(RESERVED_CAP, clock.local(clinic.starts_at).date())
    return None if limit is None else ReservedCap(int(limit), rule.profile.name)


def _lock_resident(session: Session, resident_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:kind, :resident)"),
            {"kind": RESIDENT_BOOKING_LOCK, "resident": resident_id},
        )


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
        raise Conflict("slot {id} is already booked", id=slot.id) from None
    _audit_booking(session, principal, booking)
    return booking


def _audit_booking(session: Session, principal: Principal, booking: Booking) -> None:
    audit.record(
        session,
        principal,
        action="booking.create",
        subject_type="resident",
        subject_id=booking.resident_id,
        purpose="booking",
        detail={"slot": booking.slot_id, "pool": booking.pool, "referral": booking.referral_id},
    )


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("no booking with id {booking_id}", booking_id=booking_id)
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
        raise Conflict(
            "booking {id} is already {status}",
            id=booking.id,
            status=BookingStatus(booking.status),
        )
    if status == "cancelled":
        if not (host or principal.institution_id == booking.booked_by_institution_id):
            raise Forbidden("only the booking unit or the hosting institution may cancel")
    elif status in ("attended", "no_show"):
        if not host:
            raise Forbidden("only the hosting institution records attendance")
        if slot.starts_at > clock.now():
            raise InvalidInput(
                [Problem("status", msg("slot {id} has not started yet", id=slot.id))]
            )
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


# --- page by page (the FHIR facade's searches) ---------------------------------------------


@dataclass(frozen=True)
class SlotFilter:
    """What a search of sessions, slots or bookings narrows by, in id order after `after`;
    None is no filter. `open_only` leaves out slots already past or taken (the cheap part of
    "free"; whether a reserved slot is open to the reader's unit is in its view)."""

    after: int = 0
    limit: int = 100
    ids: frozenset[int] | None = None
    session_ids: frozenset[int] | None = None
    department_ids: frozenset[int] | None = None
    practitioner_ids: frozenset[int] | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    open_only: bool = False
    resident_ids: frozenset[int] | None = None
    slot_ids: frozenset[int] | None = None
    changed_from: datetime | None = None  # a booking's last change, from (inclusive)
    changed_before: datetime | None = None


def sessions_page(session: Session, where: SlotFilter) -> list[ClinicSession]:
    """Clinic sessions in id order (published timetables are not personal data)."""
    query = select(ClinicSession).where(ClinicSession.id > where.after)
    if where.ids is not None:
        query = query.where(ClinicSession.id.in_(where.ids))
    if where.department_ids is not None:
        query = query.where(ClinicSession.department_id.in_(where.department_ids))
    if where.practitioner_ids is not None:
        query = query.where(ClinicSession.practitioner_id.in_(where.practitioner_ids))
    if where.starts_from is not None:
        query = query.where(ClinicSession.ends_at > where.starts_from)
    if where.starts_before is not None:
        query = query.where(ClinicSession.starts_at < where.starts_before)
    return list(session.scalars(query.order_by(ClinicSession.id).limit(where.limit)))


def slots_page(session: Session, principal: Principal, where: SlotFilter) -> list[SlotView]:
    """Slots in id order as the principal's unit sees them now."""
    now = clock.now()
    query = (
        select(Slot, ClinicSession)
        .join(ClinicSession, ClinicSession.id == Slot.session_id)
        .where(Slot.id > where.after)
    )
    if where.ids is not None:
        query = query.where(Slot.id.in_(where.ids))
    if where.session_ids is not None:
        query = query.where(Slot.session_id.in_(where.session_ids))
    if where.department_ids is not None:
        query = query.where(ClinicSession.department_id.in_(where.department_ids))
    if where.practitioner_ids is not None:
        query = query.where(ClinicSession.practitioner_id.in_(where.practitioner_ids))
    if where.starts_from is not None:
        query = query.where(Slot.starts_at >= where.starts_from)
    if where.starts_before is not None:
        query = query.where(Slot.starts_at < where.starts_before)
    if where.open_only:
        live = exists().where(Booking.slot_id == Slot.id, Booking.status != "cancelled")
        query = query.where(Slot.starts_at > now, ~live)
    rows = list(session.execute(query.order_by(Slot.id).limit(where.limit)))
    taken = _live_slot_ids(session, [slot.id for slot, _ in rows])
    members = {
        host: is_member_unit(session, principal.institution_id, host)
        for host in {clinic.institution_id for _, clinic in rows}
    }
    return [
        _availability(
            slot, clinic, taken=slot.id in taken, member=members[clinic.institution_id], now=now
        )
        for slot, clinic in rows
    ]


def get_slot(session: Session, principal: Principal, slot_id: int) -> SlotView:
    found = slots_page(session, principal, SlotFilter(ids=frozenset({slot_id}), limit=1))
    if not found:
        raise NotFound("no slot with id {slot_id}", slot_id=slot_id)
    return found[0]


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    slot: Slot
    clinic: ClinicSession


def view_of(session: Session, booking: Booking) -> BookingView:
    """A booking the caller has just made or changed, with its slot and session (no read to
    check or audit: the write was)."""
    slot, clinic = _slot_of(session, booking)
    return BookingView(booking, slot, clinic)


def bookings_page(session: Session, principal: Principal, where: SlotFilter) -> list[BookingView]:
    """Bookings in id order of residents the principal may see (each checked, the page's
    reads audited as one entry): the person behind a booking is personal data."""
    query = (
        select(Booking, Slot, ClinicSession)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(ClinicSession, ClinicSession.id == Slot.session_id)
        .where(Booking.id > where.after)
    )
    if where.ids is not None:
        query = query.where(Booking.id.in_(where.ids))
    if where.resident_ids is not None:
        query = query.where(Booking.resident_id.in_(where.resident_ids))
    if where.slot_ids is not None:
        query = query.where(Booking.slot_id.in_(where.slot_ids))
    if where.changed_from is not None:
        query = query.where(Booking.updated_at >= where.changed_from)
    if where.changed_before is not None:
        query = query.where(Booking.updated_at < where.changed_before)
    rows = session.execute(query.order_by(Booking.id).limit(where.limit))
    found = []
    for booking, slot, clinic in rows:
        access.patient_access(session, principal, booking.resident_id)
        found.append(BookingView(booking, slot, clinic))
    audit.record_reads(
        session, principal, "booking", [v.booking.id for v in found], purpose="booking"
    )
    return found
