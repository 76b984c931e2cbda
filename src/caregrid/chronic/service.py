"""Three-tier hypertension and type 2 diabetes care (F1, F6), following the National Basic
Public Health Service Standard, 3rd edition (国家基本公共卫生服务规范（第三版）, 2017):
screening, confirmation, face-to-face follow-ups with the standard's decision, proposed
up-referrals, and the team's worklist. The thresholds live in data/standards/nbphs-3.yaml
and are applied by `chronic.standard`; this module stores and schedules.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.chronic import standard as std
from caregrid.chronic.models import Enrolment, Visit
from caregrid.chronic.schemas import (
    EnrolIn,
    FollowUpIn,
    FollowUpOut,
    ReadingIn,
    ReferralProposal,
    ScreeningIn,
    VisitOut,
    WorkItem,
    WorklistOut,
)
from caregrid.chronic.vocab import (
    FOLLOW_UP_SERVICE,
    ICD10,
    KEY_POPULATION,
    ConfirmedBy,
    EnrolmentStatus,
    VisitKind,
)
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.vocab import ServiceKind
from caregrid.referral import service as referrals
from caregrid.referral.vocab import Direction
from caregrid.registry import service as registry
from caregrid.residents import service as residents

CLINICAL = (Role.FAMILY_DOCTOR, Role.CLINICIAN)
REFERRING = {std.Action.REFER, std.Action.URGENT_REFER}


def _clinician(session: Session, principal: Principal, resident_id: int) -> int:
    """Readings are recorded by clinical staff with access to the patient."""
    if not principal.has(*CLINICAL) or principal.institution_id is None:
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
        raise InvalidInput([Problem(f"reading.{p.field}", p.message) for p in problems])
    return reading


def _date(value: date | None, field: str, *, not_before: date | None = None) -> date:
    on = value or clock.today()
    if on > clock.today():
        raise InvalidInput([Problem(field, f"{on} is in the future")])
    if not_before is not None and on < not_before:
        raise InvalidInput([Problem(field, f"{on} is before {not_before}")])
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


# --- screening and confirmation (F1) -------------------------------------------------------


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
            f"resident {data.resident_id} is already managed for {condition}; record a follow-up"
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
        raise Conflict(f"resident {data.resident_id} is already managed for {data.condition}")
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
        raise NotFound(f"no enrolment with id {enrolment_id}")
    _clinician(session, principal, row.resident_id)
    if row.status != EnrolmentStatus.SUSPECTED:
        raise Conflict(f"only a suspected case is ruled out; this one is {row.status}")
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


# --- follow-up (F1, F6) --------------------------------------------------------------------


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


def record_follow_up(session: Session, principal: Principal, data: FollowUpIn) -> FollowUpOut:
    """A face-to-face follow-up: the standard classifies it and sets the next due date; a
    referral it asks for comes back as a prefilled proposal; the contract's follow-up item is
    delivered; an open downward referral of the patient to this unit is closed (B5, F6)."""
    institution_id = _clinician(session, principal, data.resident_id)
    condition = data.condition
    row = enrolment(session, data.resident_id, condition)
    if row is None or row.status != EnrolmentStatus.CONFIRMED:
        raise Conflict(
            f"resident {data.resident_id} is not under management for {condition}; "
            "confirm or enrol first"
        )
    reading = _reading(condition, data.reading)
    previous = last_follow_up(session, row.id)
    floor = max(row.confirmed_on or date.min, previous.visited_on if previous else date.min)
    on = _date(data.visited_on, "visited_on", not_before=floor)
    visit = _store(
        session,
        principal,
        institution_id,
        resident_id=data.resident_id,
        condition=condition,
        kind=VisitKind.FOLLOW_UP,
        on=on,
        reading=reading,
        enrolment_id=row.id,
    )
    visit.side_effects = data.side_effects
    visit.side_effects_intolerable = data.side_effects_intolerable
    visit.new_or_worse_complication = data.new_or_worse_complication
    decision = _decide(visit, previous.assessment if previous else None)
    visit.assessment, visit.action = decision.assessment.value, decision.action.value
    visit.next_due_on = decision.next_due
    session.flush()
    familydoctor.deliver(
        session,
        principal,
        resident_id=data.resident_id,
        service=FOLLOW_UP_SERVICE[condition],
        kind=ServiceKind.FOLLOW_UP,
        on=on,
    )
    closed = [
        referrals.record_follow_up(
            session,
            principal,
            r.id,
            version=r.version,
            note=f"{condition} follow-up {on}: {decision.assessment}",
        ).id
        for r in referrals.open_down_referrals(
            session, institution_id, resident_id=data.resident_id
        )
        if r.acknowledged_at is not None
    ]
    audit.record_for(
        session,
        principal,
        "chronic.follow_up",
        data.resident_id,
        purpose="chronic care",
        detail={
            "condition": condition.value,
            "assessment": decision.assessment.value,
            "action": decision.action.value,
        },
    )
    return FollowUpOut(
        visit=VisitOut.model_validate(visit),
        reasons=list(decision.reasons),
        proposal=proposal(session, institution_id, visit) if decision.action in REFERRING else None,
        closed_referrals=closed,
    )


def _decide(visit: Visit, previous: str | None) -> std.Decision:
    """The standard's decision on a stored follow-up, given the previous one's assessment."""
    return std.load_standard().decide(
        std.Condition(visit.condition),
        std.Visit(
            on=visit.visited_on,
            reading=reading_of(visit),
            side_effects=visit.side_effects,
            side_effects_intolerable=visit.side_effects_intolerable,
            new_or_worse_complication=visit.new_or_worse_complication,
        ),
        std.Assessment(previous) if previous else None,
    )


def follow_up_result(session: Session, principal: Principal, visit_id: int) -> FollowUpOut:
    """A recorded follow-up with the standard's reasons and proposal, as shown after saving
    it (the decision is stored; the reasons follow from the stored reading and the previous
    follow-up's assessment, which the standard's rule depends on alone)."""
    visit = session.get(Visit, visit_id)
    if visit is None or visit.kind != VisitKind.FOLLOW_UP or visit.enrolment_id is None:
        raise NotFound(f"no follow-up with id {visit_id}")
    access.patient_access(session, principal, visit.resident_id)
    earlier = [
        v
        for v in follow_ups(session, visit.enrolment_id)
        if (v.visited_on, v.id) < (visit.visited_on, visit.id)
    ]
    decision = _decide(visit, earlier[-1].assessment if earlier else None)
    return FollowUpOut(
        visit=VisitOut.model_validate(visit),
        reasons=list(decision.reasons),
        proposal=proposal(session, visit.institution_id, visit)
        if visit.action in REFERRING
        else None,
        closed_referrals=[],
    )


def proposal(session: Session, institution_id: int, visit: Visit) -> ReferralProposal:
    """The up-referral the standard asks for, prefilled: to the lead of the unit's network,
    urgent for danger values, green channel when the patient is signed (B4)."""
    placements = registry.placements(session, institution_id)
    lead = registry.lead_of(session, placements[0].network_id) if placements else None
    institution = registry.get_institution_by_id(session, institution_id)
    condition = std.Condition(visit.condition)
    urgent = visit.action == std.Action.URGENT_REFER
    reading = (
        f"BP {visit.sbp}/{visit.dbp} mmHg"
        if condition == std.Condition.HYPERTENSION
        else f"fasting glucose {visit.fpg} mmol/L"
    )
    why = "danger values or symptoms" if urgent else "not controlled on consecutive follow-ups"
    return ReferralProposal(
        resident_id=visit.resident_id,
        to_institution_code=lead.code if lead is not None and lead.id != institution_id else None,
        diagnosis_code=ICD10[condition],
        urgency="urgent" if urgent else "routine",
        reason=f"{condition} follow-up {visit.visited_on}: {reading}; {why} "
        "(National Basic Public Health Service Standard, 3rd ed.)",
        green_channel=institution is not None
        and referrals.green_channel(session, visit.resident_id, institution, Direction.UP),
        follow_up_by=visit.next_due_on or visit.visited_on,
    )


# --- what a team sees ------------------------------------------------------------------------


def timeline(session: Session, principal: Principal, resident_id: int) -> list[Visit]:
    access.patient_access(session, principal, resident_id)
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.resident_id == resident_id)
            .order_by(Visit.visited_on, Visit.id)
        )
    )


def enrolments(session: Session, resident_id: int) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment).where(Enrolment.resident_id == resident_id).order_by(Enrolment.id)
        )
    )


def worklist(
    session: Session,
    principal: Principal,
    team_id: int,
    *,
    doctor_id: int | None = None,
    on: date | None = None,
) -> WorklistOut:
    """Who needs the team this week (Monday to Sunday): follow-ups due or overdue, suspected
    cases to confirm, residents 35+ due their yearly screening, and patients referred down
    to the team's unit whose loop is open."""
    team = familydoctor.get_team(session, team_id)
    if not (
        principal.system
        or principal.institution_id == team.institution_id
        or (principal.has(Role.NETWORK_ADMIN) and principal.network_id == team.network_id)
    ):
        raise Forbidden("a team's worklist is for its institution and network office")
    today = on or clock.today()
    week_start = today - timedelta(days=today.weekday())
    week_end = week_start + timedelta(days=6)
    standard = std.load_standard()
    contracts = familydoctor.team_contracts(session, team.id, today, doctor_id=doctor_id)
    doctors = {
        c.resident_id: registry.get_practitioner_by_id(session, c.doctor_id).code for c in contracts
    }
    people = residents.records(session, list(doctors))
    items: list[WorkItem] = []

    def add(
        resident_id: int,
        what: str,
        due: date | None,
        condition: str | None = None,
        referral_id: int | None = None,
    ) -> None:
        person = people.get(resident_id) or residents.find_record(session, resident_id)
        items.append(
            WorkItem(
                resident_id=resident_id,
                resident_name=person.name if person else "",
                condition=condition,
                what=what,
                due_on=due,
                doctor_code=doctors.get(resident_id),
                referral_id=referral_id,
            )
        )

    rows = session.scalars(select(Enrolment).where(Enrolment.resident_id.in_(list(doctors)))).all()
    enrolled = {(e.resident_id, e.condition) for e in rows if e.status != EnrolmentStatus.RULED_OUT}
    for row in rows:
        if row.status == EnrolmentStatus.SUSPECTED and row.suspected_on is not None:
            add(
                row.resident_id,
                "confirm",
                row.suspected_on
                + timedelta(days=standard.confirm_follow_days(std.Condition(row.condition))),
                row.condition,
            )
        due = next_due(session, row)
        if due is not None and due < today:
            add(row.resident_id, "follow_up_overdue", due, row.condition)
        elif due is not None and due <= week_end:
            add(row.resident_id, "follow_up_due", due, row.condition)
    last_measured = {
        (resident_id, condition): last
        for resident_id, condition, last in session.execute(
            select(Visit.resident_id, Visit.condition, func.max(Visit.visited_on))
            .where(Visit.resident_id.in_(list(people)))
            .group_by(Visit.resident_id, Visit.condition)
        ).all()
    }
    for condition in std.Condition:
        minimum = standard.screening_min_age(condition)
        interval = timedelta(days=standard.screening_interval_days(condition))
        for resident_id, person in people.items():
            if (resident_id, condition.value) in enrolled:
                continue
            if residents.age_on(person.birth_date, today) < minimum:
                continue
            last = last_measured.get((resident_id, condition.value))
            if last is None or last + interval <= today:
                add(
                    resident_id,
                    "screening_due",
                    None if last is None else last + interval,
                    condition.value,
                )
    for referral in referrals.open_down_referrals(session, team.institution_id):
        if doctor_id is None or referral.resident_id in doctors:
            add(referral.resident_id, "referred_down", None, None, referral.id)
    order = {
        "follow_up_overdue": 0,
        "referred_down": 1,
        "confirm": 2,
        "follow_up_due": 3,
        "screening_due": 4,
    }
    items.sort(key=lambda i: (order[i.what], i.due_on or date.max, i.resident_id))
    return WorklistOut(team_code=team.code, week_start=week_start, week_end=week_end, items=items)


# --- for the measures ------------------------------------------------------------------------


def managed(session: Session, institution_ids: set[int], on: date) -> list[Enrolment]:
    """Patients under management on `on` at these institutions (confirmed by then)."""
    return list(
        session.scalars(
            select(Enrolment)
            .where(
                Enrolment.institution_id.in_(institution_ids),
                Enrolment.status == EnrolmentStatus.CONFIRMED,
                Enrolment.confirmed_on <= on,
            )
            .order_by(Enrolment.id)
        )
    )


def follow_ups(session: Session, enrolment_id: int) -> list[Visit]:
    """An enrolment's face-to-face follow-ups, oldest first."""
    return [v for v in _visits(session, enrolment_id) if v.kind == VisitKind.FOLLOW_UP]


def visit_institutions(
    session: Session, institution_ids: set[int], start: date, end: date
) -> list[int]:
    """The institution of every hypertension or diabetes visit in [start, end] (CD7)."""
    return list(
        session.scalars(
            select(Visit.institution_id).where(
                Visit.institution_id.in_(institution_ids),
                Visit.visited_on >= start,
                Visit.visited_on <= end,
            )
        )
    )


def is_controlled(visit: Visit) -> bool:
    """The one reading of "controlled" (CD2, CD5): the standard's assessment stored at the
    visit, so a reading at target with a danger symptom is not controlled, and a later change
    of the standard's file never rewrites a past visit."""
    return visit.assessment == std.Assessment.CONTROLLED


def facts(session: Session) -> dict[str, list[dict[str, object]]]:
    """Confirmed patients (`chronic_patient`) and face-to-face follow-ups
    (`chronic_follow_up`, controlled when the standard assessed them so) (F1)."""
    codes = registry.codes_by_id(session)
    patients: list[dict[str, object]] = [
        {
            "patient_id": f"cg-{e.resident_id}",
            "condition": e.condition,
            "institution_code": codes[e.institution_id],
            "managed_from": e.confirmed_on,
        }
        for e in session.scalars(
            select(Enrolment).where(Enrolment.confirmed_on.is_not(None)).order_by(Enrolment.id)
        )
    ]
    follow_ups: list[dict[str, object]] = [
        {
            "follow_up_id": f"cg-{v.id}",
            "patient_id": f"cg-{v.resident_id}",
            "condition": v.condition,
            "institution_code": codes[v.institution_id],
            "date": v.visited_on,
            "controlled": is_controlled(v),
        }
        for v in session.scalars(
            select(Visit).where(Visit.kind == VisitKind.FOLLOW_UP).order_by(Visit.id)
        )
    ]
    return {"chronic_patient": patients, "chronic_follow_up": follow_ups}
