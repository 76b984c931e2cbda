"""Three-tier hypertension and type 2 diabetes care (F1, F6), following the National Basic
Public Health Service Standard, 3rd edition (国家基本公共卫生服务规范（第三版）, 2017):
screening, confirmation, face-to-face follow-ups with the standard's decision, proposed
up-referrals, and the team's worklist. The thresholds live in data/standards/nbphs-3.yaml
and are applied by `chronic.standard`; this package stores and schedules.

The package's public entry: stored visits live in `visits`, screening and confirmation in
`screening`, the team's week in `worklist`; this module holds the follow-up with its
proposal and what the measures read, and re-exports what other packages and the routers use.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.chronic import standard as std
from caregrid.chronic.models import Enrolment, Visit
from caregrid.chronic.schemas import FollowUpIn, FollowUpOut, ReferralProposal, VisitOut
from caregrid.chronic.screening import enrol, record_screening, rule_out
from caregrid.chronic.visits import (
    CLINICAL,
    _clinician,
    _date,
    _reading,
    _store,
    enrolment,
    follow_ups,
    last_follow_up,
    may_record,
    next_due,
    reading_of,
)
from caregrid.chronic.vocab import FOLLOW_UP_SERVICE, ICD10, EnrolmentStatus, VisitKind
from caregrid.chronic.worklist import worklist
from caregrid.errors import Conflict, NotFound
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.vocab import ServiceKind
from caregrid.referral import service as referrals
from caregrid.referral.vocab import Direction
from caregrid.registry import service as registry

__all__ = [
    "CLINICAL",
    "enrol",
    "enrolment",
    "follow_ups",
    "last_follow_up",
    "may_record",
    "next_due",
    "reading_of",
    "record_screening",
    "rule_out",
    "worklist",
]

REFERRING = {std.Action.REFER, std.Action.URGENT_REFER}


def record_follow_up(session: Session, principal: Principal, data: FollowUpIn) -> FollowUpOut:
    """A face-to-face follow-up: the standard classifies it and sets the next due date; a
    referral it asks for comes back as a prefilled proposal; the contract's follow-up item is
    delivered; an open downward referral of the patient to this unit is closed (B5, F6)."""
    institution_id = _clinician(session, principal, data.resident_id)
    condition = data.condition
    row = enrolment(session, data.resident_id, condition)
    if row is None or row.status != EnrolmentStatus.CONFIRMED:
        raise Conflict(
            "resident {resident_id} is not under management for {condition}; confirm or enrol "
            "first",
            resident_id=data.resident_id,
            condition=condition,
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
        raise NotFound("no follow-up with id {visit_id}", visit_id=visit_id)
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


# --- follow-ups as facts (F1) ----------------------------------------------------------------


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
    visits = session.scalars(
        select(Visit)
        .where(Visit.kind == VisitKind.FOLLOW_UP)
        .order_by(Visit.resident_id, Visit.condition, Visit.visited_on, Visit.id)
    )
    follow_ups: list[dict[str, object]] = []
    previous: Visit | None = None
    for v in [*visits, None]:
        if previous is not None:
            follow_ups.append(_follow_up_fact(previous, v, codes))
        previous = v
    return {"chronic_patient": patients, "chronic_follow_up": follow_ups}


def _follow_up_fact(
    visit: Visit, following: Visit | None, codes: dict[int, str]
) -> dict[str, object]:
    """A follow-up as a fact; its appointment (the next due date) is kept when the patient's
    next follow-up of the condition came on or before it, and unknown until the date has come."""
    due = visit.next_due_on
    same = following is not None and (following.resident_id, following.condition) == (
        visit.resident_id,
        visit.condition,
    )
    kept = None
    if due is not None and due <= clock.today():
        kept = same and following is not None and following.visited_on <= due
    return {
        "follow_up_id": f"cg-{visit.id}",
        "patient_id": f"cg-{visit.resident_id}",
        "condition": visit.condition,
        "institution_code": codes[visit.institution_id],
        "date": visit.visited_on,
        "controlled": is_controlled(visit),
        "next_due_on": due,
        "kept": kept,
    }
