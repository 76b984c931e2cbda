"""Stored readings and visits: who records them (clinical staff with access to the patient),
a reading checked against the standard, the enrolment, and when the next follow-up is due.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal, Role
from caregrid.chronic import standard as std
from caregrid.chronic.models import Enrolment, Visit
from caregrid.chronic.schemas import ReadingIn
from caregrid.chronic.vocab import EnrolmentStatus, VisitKind
from caregrid.errors import Forbidden, InvalidInput, Problem
from caregrid.i18n import msg

CLINICAL = (Role.FAMILY_DOCTOR, Role.CLINICIAN)


def may_record(principal: Principal) -> bool:
    """Readings are recorded by clinical staff of an institution: the pages ask this before
    offering the form, the service before recording."""
    return principal.has(*CLINICAL) and principal.institution_id is not None


def _clinician(session: Session, principal: Principal, resident_id: int) -> int:
    """Readings are recorded by clinical staff with access to the patient."""
    if not may_record(principal) or principal.institution_id is None:  # None: for mypy
        raise Forbidden("readings are recorded by clinical staff of an institution")
    access.patient_access(session, principal, resident_id)
    return principal.institution_id


def _reading(condition: std.Condition, data: ReadingIn) -> std.Reading:
    reading = std.Reading(
        sbp=data.sbp,
        dbp=data.dbp,
        fpg=data.fpg,
        heart_rate=data.heart_rate,
        temperature=data.temperature,
        symptoms=frozenset(data.symptoms),
    )
    problems = std.load_standard().check_reading(condition, reading)
    if problems:
        raise InvalidInput([Problem(f"reading.{p.field}", p.reason) for p in problems])
    return reading


def _date(value: date | None, field: str, *, not_before: date | None = None) -> date:
    on = value or clock.today()
    if on > clock.today():
        raise InvalidInput([Problem(field, msg("{on} is in the future", on=on))])
    if not_before is not None and on < not_before:
        raise InvalidInput(
            [Problem(field, msg("{on} is before {not_before}", on=on, not_before=not_before))]
        )
    return on


def enrolment(session: Session, resident_id: int, condition: std.Condition) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(
            Enrolment.resident_id == resident_id, Enrolment.condition == condition.value
        )
    )


def _store(
    session: Session,
    principal: Principal,
    institution_id: int,
    *,
    resident_id: int,
    condition: std.Condition,
    kind: VisitKind,
    on: date,
    reading: std.Reading,
    enrolment_id: int | None,
) -> Visit:
    visit = Visit(
        resident_id=resident_id,
        enrolment_id=enrolment_id,
        condition=condition.value,
        kind=kind.value,
        visited_on=on,
        sbp=reading.sbp,
        dbp=reading.dbp,
        fpg=reading.fpg,
        heart_rate=reading.heart_rate,
        temperature=reading.temperature,
        symptoms=",".join(sorted(reading.symptoms)),
        institution_id=institution_id,
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(visit)
    session.flush()
    return visit


def _visits(session: Session, enrolment_id: int) -> list[Visit]:
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.enrolment_id == enrolment_id)
            .order_by(Visit.visited_on, Visit.id)
        )
    )


def reading_of(visit: Visit) -> std.Reading:
    """A stored visit's reading, as the standard reads it."""
    return std.Reading(
        sbp=visit.sbp,
        dbp=visit.dbp,
        fpg=visit.fpg,
        heart_rate=visit.heart_rate,
        temperature=visit.temperature,
        symptoms=frozenset(s for s in visit.symptoms.split(",") if s),
    )


def last_follow_up(session: Session, enrolment_id: int) -> Visit | None:
    return session.scalar(
        select(Visit)
        .where(Visit.enrolment_id == enrolment_id, Visit.kind == VisitKind.FOLLOW_UP)
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
        .limit(1)
    )


def next_due(session: Session, row: Enrolment) -> date | None:
    """The managed patient's next follow-up: from the last one, or due at confirmation."""
    if row.status != EnrolmentStatus.CONFIRMED:
        return None
    last = last_follow_up(session, row.id)
    return last.next_due_on if last is not None else row.confirmed_on


def follow_ups(session: Session, enrolment_id: int) -> list[Visit]:
    """An enrolment's face-to-face follow-ups, oldest first."""
    return [v for v in _visits(session, enrolment_id) if v.kind == VisitKind.FOLLOW_UP]
