"""Screening and confirmation (F1): a first raised reading makes a suspected case, raised
readings on the standard's number of different days confirm it; a diagnosed patient is
enrolled directly, and a suspected case can be ruled out.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import Principal
from caregrid.chronic import standard as std
from caregrid.chronic.models import Enrolment, Visit
from caregrid.chronic.schemas import EnrolIn, ScreeningIn
from caregrid.chronic.visits import (
    _clinician,
    _date,
    _reading,
    _store,
    _visits,
    enrolment,
    reading_of,
)
from caregrid.chronic.vocab import KEY_POPULATION, ConfirmedBy, EnrolmentStatus, VisitKind
from caregrid.errors import Conflict, InvalidInput, NotFound, Problem
from caregrid.referral import service as referrals
from caregrid.residents import service as residents


def record_screening(session: Session, principal: Principal, data: ScreeningIn) -> Visit:
    """A screening or repeat measurement. A first raised reading makes a suspected case; raised
    readings on the standard's number of different days confirm it (hypertension: three)."""
    institution_id = _clinician(session, principal, data.resident_id)
    condition = data.condition
    reading = _reading(condition, data.reading)
    on = _date(data.visited_on, "visited_on")
    standard = std.load_standard()
    current = enrolment(session, data.resident_id, condition)
    if current is not None and current.status == EnrolmentStatus.CONFIRMED:
        raise Conflict(
            "resident {resident_id} is already managed for {condition}; record a follow-up",
            resident_id=data.resident_id,
            condition=condition,
        )
    suspected = standard.is_suspected(condition, reading)
    if suspected and current is None:
        current = Enrolment(
            resident_id=data.resident_id,
            condition=condition.value,
            status=EnrolmentStatus.SUSPECTED.value,
            institution_id=institution_id,
            suspected_on=on,
            created_at=clock.now(),
        )
        session.add(current)
        session.flush()
    elif suspected and current is not None and current.status == EnrolmentStatus.RULED_OUT:
        current.status = EnrolmentStatus.SUSPECTED.value
        current.suspected_on, current.ruled_out_on = on, None
    kind = (
        VisitKind.CONFIRMATION
        if current is not None
        and current.status == EnrolmentStatus.SUSPECTED
        and on > (current.suspected_on or on)
        else VisitKind.SCREENING
    )
    visit = _store(
        session,
        principal,
        institution_id,
        resident_id=data.resident_id,
        condition=condition,
        kind=kind,
        on=on,
        reading=reading,
        enrolment_id=current.id if current is not None else None,
    )
    visit.assessment = standard.assess(condition, reading).value
    if current is not None and current.status == EnrolmentStatus.SUSPECTED:
        raised_days = {
            v.visited_on
            for v in _visits(session, current.id)
            if v.kind in (VisitKind.SCREENING, VisitKind.CONFIRMATION)
            and v.visited_on >= (current.suspected_on or on)
            and standard.is_suspected(condition, reading_of(v))
        }
        if len(raised_days) >= standard.confirmation_readings(condition):
            _confirm(session, current, ConfirmedBy.READINGS, on)
    session.flush()
    audit.record_for(
        session,
        principal,
        "chronic.screening",
        data.resident_id,
        purpose="chronic care",
        detail={"condition": condition.value},
    )
    return visit


def _confirm(session: Session, row: Enrolment, by: ConfirmedBy, on: date) -> None:
    row.status = EnrolmentStatus.CONFIRMED.value
    row.confirmed_on, row.confirmed_by = on, by.value
    residents.declare_tag(session, row.resident_id, KEY_POPULATION[std.Condition(row.condition)])


def enrol(session: Session, principal: Principal, data: EnrolIn) -> Enrolment:
    """Register a diagnosed patient (here, or confirmed at the institution referred to)."""
    institution_id = _clinician(session, principal, data.resident_id)
    on = _date(data.confirmed_on, "confirmed_on")
    if data.confirmed_by == ConfirmedBy.REFERRAL:
        if data.referral_id is None:
            raise InvalidInput([Problem("referral_id", "name the referral that confirmed it")])
        if referrals.get(session, data.referral_id).resident_id != data.resident_id:
            raise InvalidInput([Problem("referral_id", "that referral is another resident's")])
    row = enrolment(session, data.resident_id, data.condition)
    if row is not None and row.status == EnrolmentStatus.CONFIRMED:
        raise Conflict(
            "resident {resident_id} is already managed for {condition}",
            resident_id=data.resident_id,
            condition=data.condition,
        )
    if row is None:
        row = Enrolment(
            resident_id=data.resident_id,
            condition=data.condition.value,
            institution_id=institution_id,
            created_at=clock.now(),
        )
        session.add(row)
    row.confirmation_referral_id = data.referral_id
    _confirm(session, row, data.confirmed_by, on)
    session.flush()
    audit.record_for(
        session,
        principal,
        "chronic.enrol",
        data.resident_id,
        purpose="chronic care",
        detail={"condition": data.condition.value},
    )
    return row


def rule_out(session: Session, principal: Principal, enrolment_id: int) -> Enrolment:
    row = session.get(Enrolment, enrolment_id)
    if row is None:
        raise NotFound("no enrolment with id {enrolment_id}", enrolment_id=enrolment_id)
    _clinician(session, principal, row.resident_id)
    if row.status != EnrolmentStatus.SUSPECTED:
        raise Conflict(
            "only a suspected case is ruled out; this one is {status}",
            status=EnrolmentStatus(row.status),
        )
    row.status, row.ruled_out_on = EnrolmentStatus.RULED_OUT.value, clock.today()
    session.flush()
    audit.record_for(
        session,
        principal,
        "chronic.rule_out",
        row.resident_id,
        purpose="chronic care",
        detail={"condition": row.condition},
    )
    return row
