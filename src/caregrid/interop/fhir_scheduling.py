"""Clinic sessions, slots and bookings as FHIR R4 Schedule, Slot and Appointment (C1, C3, J3).

A Slot's status is what the reader's unit may do with it now: `free` when it may book it,
`busy` when someone holds it, `busy-unavailable` when it has started, or is reserved for the
network's member units, or opens to them later (the reason in `comment`). Its pool is a tag
(`urn:caregrid:slot-pool`, reserved or public). An Appointment is a booking: created by
`POST Appointment` or `$book` through the scheduling service, so the reserved-slot rules and
the database's guard against a second booking of a slot are the same as on the pages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, NotFound, PreconditionFailed, Problem
from caregrid.i18n import msg
from caregrid.interop.fhir_rest import (
    LAST_UPDATED,
    NATIONAL_ID,
    Page,
    Param,
    Search,
    as_id,
    date_bounds,
    emit,
    instant,
    page_of,
    parse,
    reference_ids,
)
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.service import Availability, SlotFilter, SlotView

POOL = "urn:caregrid:slot-pool"
SLOT_STATUS = {Availability.OPEN: "free", Availability.TAKEN: "busy"}
APPOINTMENT_STATUS = {
    "booked": "booked",
    "attended": "fulfilled",
    "no_show": "noshow",
    "cancelled": "cancelled",
}
WHY_UNAVAILABLE = {
    Availability.PAST: "started",
    Availability.NOT_YET_OPEN: "opens to member units at {at}",
    Availability.RESERVED_FOR_MEMBERS: "reserved for the network's member units until {at}",
}

SCHEDULE_PARAMS = (
    Param("actor", "reference", "the department (HealthcareService/id) or Practitioner/id"),
    Param("date", "date", "sessions overlapping the date or interval"),
)
SLOT_PARAMS = (
    Param("schedule", "reference", "the session (Schedule/id)"),
    Param(
        "schedule.actor",
        "reference",
        "chained: slots of a department (HealthcareService/id) or Practitioner/id",
    ),
    Param("status", "token", "free (the reader's unit may book it now), busy, busy-unavailable"),
    Param("start", "date", "when the slot starts (ge, gt, lt, le, eq)"),
)
APPOINTMENT_PARAMS = (
    Param("patient", "reference", "the resident (Patient/id); needed unless _id is given"),
    Param("slot", "reference", "the booked Slot/id"),
    LAST_UPDATED,
)


# --- Schedule ----------------------------------------------------------------------------------


def schedule(clinic: scheduling.ClinicSession) -> dict[str, Any]:
    actors = [{"reference": f"HealthcareService/{clinic.department_id}"}]
    if clinic.practitioner_id is not None:
        actors.append({"reference": f"Practitioner/{clinic.practitioner_id}"})
    actors.append({"reference": f"Location/{clinic.institution_id}"})
    return emit(
        {
            "resourceType": "Schedule",
            "id": str(clinic.id),
            "active": True,
            "actor": actors,
            "planningHorizon": {"start": instant(clinic.starts_at), "end": instant(clinic.ends_at)},
            "comment": (
                f"{clinic.capacity} slots, {clinic.reserved_count} reserved for member units"
            ),
        }
    )


def _actors(search: Search, name: str) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """Department and practitioner ids an `actor` reference names (others are refused)."""
    if name not in search.values:
        return None, None
    departments: set[int] = set()
    practitioners: set[int] = set()
    for value in search.values[name]:
        for part in value.split(","):
            kind, _, _ = part.rpartition("/")
            target = {"HealthcareService": departments, "Practitioner": practitioners}.get(kind)
            found = as_id(part)
            if target is None:
                raise InvalidInput(
                    [Problem(name, "must reference a HealthcareService or a Practitioner")]
                )
            if found is not None:
                target.add(found)
    return (
        frozenset(departments) if departments or not practitioners else None,
        frozenset(practitioners) if practitioners else None,
    )


def read_schedule(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return schedule(scheduling.get_session(session, resource_id))


def search_schedules(session: Session, principal: Principal, search: Search) -> Page:
    start, end = date_bounds(search, "date")
    departments, practitioners = _actors(search, "actor")
    where = SlotFilter(
        ids=search.ids(),
        department_ids=departments,
        practitioner_ids=practitioners,
        starts_from=start,
        starts_before=end,
    )
    return page_of(
        search,
        lambda after, limit: scheduling.sessions_page(
            session, replace(where, after=after, limit=limit)
        ),
        schedule,
    )


# --- Slot ------------------------------------------------------------------------------------


def slot_status(view: SlotView) -> str:
    return SLOT_STATUS.get(view.availability, "busy-unavailable")


def slot(session: Session, view: SlotView) -> dict[str, Any]:
    clinic = scheduling.get_session(session, view.session_id)
    resource: dict[str, Any] = {
        "resourceType": "Slot",
        "id": str(view.id),
        "meta": {"tag": [{"system": POOL, "code": "reserved" if view.reserved else "public"}]},
        "schedule": {"reference": f"Schedule/{view.session_id}"},
        "status": slot_status(view),
        "start": instant(view.starts_at),
        "end": instant(view.starts_at + (clinic.ends_at - clinic.starts_at) / clinic.capacity),
    }
    if (why := WHY_UNAVAILABLE.get(view.availability)) is not None:
        at = clock.local(view.opens_at).isoformat(timespec="minutes") if view.opens_at else "-"
        resource["comment"] = why.format(at=at)
    return emit(resource)


def read_slot(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return slot(session, scheduling.get_slot(session, principal, resource_id))


STATUSES = ("free", "busy", "busy-unavailable")


def search_slots(session: Session, principal: Principal, search: Search) -> Page:
    statuses = {p for v in search.values.get("status", []) for p in v.split(",")}
    if bad := statuses - set(STATUSES):
        reason = msg("{value!r} is not free, busy or busy-unavailable", value=min(bad))
        raise InvalidInput([Problem("status", reason)])
    start, end = date_bounds(search, "start")
    departments, practitioners = _actors(search, "schedule.actor")
    where = SlotFilter(
        ids=search.ids(),
        department_ids=departments,
        practitioner_ids=practitioners,
        session_ids=reference_ids(search, "schedule", "Schedule"),
        starts_from=start,
        starts_before=end,
        open_only=statuses == {"free"},
    )
    return page_of(
        search,
        lambda after, limit: scheduling.slots_page(
            session, principal, replace(where, after=after, limit=limit)
        ),
        lambda view: slot(session, view),
        keep=lambda view: not statuses or slot_status(view) in statuses,
    )


# --- Appointment -------------------------------------------------------------------------------


def version(found: scheduling.BookingView) -> str:
    """The booking's version for ETag and If-Match: the time it last changed, in µs."""
    return str(int(found.booking.updated_at.timestamp() * 1_000_000))


def appointment(found: scheduling.BookingView) -> dict[str, Any]:
    booking, slot_row, clinic = found.booking, found.slot, found.clinic
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{booking.resident_id}"}, "status": "accepted"},
        {"actor": {"reference": f"HealthcareService/{clinic.department_id}"}, "status": "accepted"},
    ]
    if clinic.practitioner_id is not None:
        participants.append(
            {"actor": {"reference": f"Practitioner/{clinic.practitioner_id}"}, "status": "accepted"}
        )
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(booking.id),
        "meta": {"versionId": version(found), "lastUpdated": instant(booking.updated_at)},
        "status": APPOINTMENT_STATUS[booking.status],
        "slot": [{"reference": f"Slot/{booking.slot_id}"}],
        "start": instant(slot_row.starts_at),
        "end": instant(slot_row.starts_at + (clinic.ends_at - clinic.starts_at) / clinic.capacity),
        "created": booking.created_at.date().isoformat(),
        "participant": participants,
    }
    if booking.referral_id is not None:
        resource["basedOn"] = [{"reference": f"ServiceRequest/{booking.referral_id}"}]
    return emit(resource)


def booking_view(session: Session, principal: Principal, booking_id: int) -> scheduling.BookingView:
    found = scheduling.bookings_page(
        session, principal, SlotFilter(ids=frozenset({booking_id}), limit=1)
    )
    if not found:
        raise NotFound("no appointment with id {booking_id}", booking_id=booking_id)
    return found[0]


def read_appointment(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return appointment(booking_view(session, principal, resource_id))


def search_appointments(session: Session, principal: Principal, search: Search) -> Page:
    """A patient's appointments (the reader must be allowed to see the patient)."""
    patients = reference_ids(search, "patient", "Patient")
    if patients is None and "_id" not in search.values:
        raise InvalidInput([Problem("patient", "an Appointment search names the patient")])
    changed_from, changed_before = date_bounds(search, "_lastUpdated")
    where = SlotFilter(
        ids=search.ids(),
        resident_ids=patients,
        slot_ids=reference_ids(search, "slot", "Slot"),
        changed_from=changed_from,
        changed_before=changed_before,
    )
    return page_of(
        search,
        lambda after, limit: scheduling.bookings_page(
            session, principal, replace(where, after=after, limit=limit)
        ),
        appointment,
        key=lambda found: int(found.booking.id),
    )


def _reference(element: Any) -> str | None:
    return getattr(element, "reference", None) if element is not None else None


def _resident_of(session: Session, participant: Any, where: str) -> int | None:
    """The resident a participant names (Patient/id or the national ID), None if it is not a
    patient; InvalidInput when it names one that does not exist."""
    actor = participant.actor
    if actor is None:
        return None
    reference = _reference(actor)
    if reference is not None:
        if not reference.startswith("Patient/"):
            return None
        resident_id = as_id(reference)
        if resident_id is None or residents.find_record(session, resident_id) is None:
            raise InvalidInput(
                [Problem(f"{where}.actor.reference", msg("no {ref}", ref=reference))]
            )
        return resident_id
    identifier = actor.identifier
    if identifier is not None and identifier.system == NATIONAL_ID and identifier.value:
        found = residents.id_by_national_id(session, identifier.value.upper())
        if found is None:
            raise InvalidInput(
                [Problem(f"{where}.actor.identifier", "no resident has this national ID")]
            )
        return found
    return None


def create(session: Session, principal: Principal, data: Any) -> dict[str, Any]:
    return appointment(book(session, principal, appointment_of_parameters(data)))


def update(
    session: Session, principal: Principal, booking_id: int, data: Any, if_match: str | None
) -> dict[str, Any]:
    return appointment(cancel(session, principal, booking_id, data, if_match))


def book(session: Session, principal: Principal, data: Any) -> scheduling.BookingView:
    """An Appointment booked on its one Slot for its one Patient, through the scheduling
    service (who may book which slot now, and the guard against a second booking)."""
    request = parse("Appointment", data, "Appointment")
    problems: list[Problem] = []
    if request.status not in ("proposed", "pending", "booked"):
        problems.append(Problem("Appointment.status", "a new appointment is proposed or booked"))
    if request.basedOn:
        problems.append(
            Problem("Appointment.basedOn", "a referral's slot is booked through its Task")
        )
    slots = request.slot or []
    if len(slots) != 1:
        problems.append(Problem("Appointment.slot", "name exactly one Slot"))
    slot_id = as_id(_reference(slots[0]) or "") if len(slots) == 1 else None
    if len(slots) == 1 and (
        slot_id is None or not (_reference(slots[0]) or "").startswith("Slot/")
    ):
        problems.append(Problem("Appointment.slot[0].reference", "must reference a Slot"))
        slot_id = None
    patients = [
        (i, found)
        for i, participant in enumerate(request.participant or [])
        if (found := _resident_of(session, participant, f"Appointment.participant[{i}]"))
        is not None
    ]
    if len(patients) != 1:
        problems.append(Problem("Appointment.participant", "name exactly one Patient"))
    if problems:
        raise InvalidInput(problems)
    assert slot_id is not None
    try:
        booking = scheduling.book(session, principal, slot_id=slot_id, resident_id=patients[0][1])
    except NotFound:  # the patient exists (checked above): the slot does not
        raise InvalidInput(
            [Problem("Appointment.slot[0].reference", msg("no Slot/{id}", id=slot_id))]
        ) from None
    return scheduling.view_of(session, booking)


def cancel(
    session: Session, principal: Principal, booking_id: int, data: Any, if_match: str | None
) -> scheduling.BookingView:
    """An update of an Appointment: only its cancellation (status `cancelled`), checked
    against the version the client read when it sends If-Match."""
    request = parse("Appointment", data, "Appointment")
    if request.id is not None and request.id != str(booking_id):
        raise InvalidInput([Problem("Appointment.id", "must be the id in the address")])
    current = booking_view(session, principal, booking_id)
    if if_match is not None and if_match.strip().removeprefix("W/").strip('"') != version(current):
        raise PreconditionFailed(
            "appointment {id} changed since you read it (version {version} now); read it again",
            id=booking_id,
            version=version(current),
        )
    if request.status == APPOINTMENT_STATUS[current.booking.status]:
        return current
    if request.status != "cancelled":
        raise InvalidInput(
            [Problem("Appointment.status", "an appointment can only be cancelled here")]
        )
    booking = scheduling.set_booking_status(
        session, principal, booking_id=booking_id, status="cancelled"
    )
    return scheduling.view_of(session, booking)


def appointment_of_parameters(data: Any) -> Any:
    """The Appointment a $book call carries: the body itself, or the `appt-resource` of a
    Parameters resource."""
    if not isinstance(data, dict) or data.get("resourceType") != "Parameters":
        return data
    parameters = data.get("parameter")
    for i, parameter in enumerate(parameters if isinstance(parameters, list) else []):
        if isinstance(parameter, dict) and parameter.get("name") == "appt-resource":
            if "resource" not in parameter:
                raise InvalidInput(
                    [Problem(f"Parameters.parameter[{i}].resource", "holds no Appointment")]
                )
            return parameter["resource"]
    raise InvalidInput([Problem("Parameters.parameter", "name the Appointment as appt-resource")])
