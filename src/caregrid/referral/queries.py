"""Reading referrals: who may see one (the read is audited), the institution's lists, the
view the pages and the API show, and the `referral` facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Forbidden, InvalidInput, NotFound, Problem
from caregrid.pharmacy import service as pharmacy
from caregrid.referral.models import Referral, ReferralEvent
from caregrid.referral.rules import DEDUCTIBLE_TEXT, network_profile
from caregrid.referral.schemas import EventOut, HistoryFilterIn, Party, ReferralOut
from caregrid.referral.vocab import (
    ACTOR_SIDE,
    EITHER,
    FINAL,
    RECEIVER,
    SENDER,
    TRANSITIONS,
    URGENCY_ORDER,
    Action,
    Approval,
    DeductibleRule,
    Direction,
    State,
    Urgency,
)
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling


def get(session: Session, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("no referral with id {referral_id}", referral_id=referral_id)
    return referral


def side_of(principal: Principal, referral: Referral) -> set[str]:
    """Which sides of the referral the principal's institution stands on."""
    sides = set()
    if principal.system or principal.institution_id == referral.from_institution_id:
        sides.add(SENDER)
    if principal.system or principal.institution_id == referral.to_institution_id:
        sides.add(RECEIVER)
    return sides


def require_read(session: Session, principal: Principal, referral: Referral, purpose: str) -> None:
    """Both ends of a referral and its network's office may read it; the read is audited. A
    draft has not been sent: only its author's institution sees it."""
    if referral.state == State.DRAFT:
        if SENDER not in side_of(principal, referral):
            raise Forbidden("a draft referral is seen only by the institution writing it")
    else:
        office = principal.has(Role.NETWORK_ADMIN) and principal.network_id == referral.network_id
        if not (side_of(principal, referral) or office):
            raise Forbidden(
                "only the two institutions of a referral and their network office see it"
            )
    audit.record(
        session,
        principal,
        action="referral.read",
        subject_type="resident",
        subject_id=referral.resident_id,
        purpose=purpose,
        detail={"referral": referral.id},
    )


def overdue(session: Session, referral: Referral, now: datetime) -> bool:
    """Submitted and unanswered past the profile's limit (B3)."""
    if referral.state != State.SUBMITTED or referral.submitted_at is None:
        return False
    profile = network_profile(session, referral.network_id)
    limit = (
        None
        if profile is None
        else profile.parameter("referral_answer_limit_hours", clock.local(now).date())
    )
    return limit is not None and now - referral.submitted_at > timedelta(hours=float(limit))


def allowed_actions(principal: Principal, referral: Referral) -> list[Action]:
    """What the principal may do next (the pages show only these buttons)."""
    sides = side_of(principal, referral)
    out = []
    for action, (sources, _) in TRANSITIONS.items():
        side = ACTOR_SIDE[action]
        if State(referral.state) in sources and ((side == EITHER and bool(sides)) or side in sides):
            out.append(action)
    return out


def inbox(session: Session, principal: Principal, *, limit: int = 200) -> list[Referral]:
    """Referrals sent to the principal's institution and not yet finished: green channel
    first (B4), then by urgency, then oldest first."""
    if principal.institution_id is None:
        return []
    rows = session.scalars(
        select(Referral)
        .where(
            Referral.to_institution_id == principal.institution_id,
            Referral.state.not_in([*FINAL, State.DRAFT]),
        )
        .limit(limit)
    ).all()
    return sorted(rows, key=_priority)


def _priority(referral: Referral) -> tuple[bool, int, datetime]:
    return (
        not referral.green_channel,
        URGENCY_ORDER.index(Urgency(referral.urgency)),
        referral.submitted_at or referral.created_at,
    )


def outbox(session: Session, principal: Principal, *, limit: int = 200) -> list[Referral]:
    if principal.institution_id is None:
        return []
    return list(
        session.scalars(
            select(Referral)
            .where(Referral.from_institution_id == principal.institution_id)
            .order_by(Referral.id.desc())
            .limit(limit)
        )
    )


def history(
    session: Session,
    principal: Principal,
    where: HistoryFilterIn,
    *,
    before: int | None = None,
    limit: int = 50,
) -> list[Referral]:
    """Every referral the principal's institution sent or received (its network's, for the
    office), closed ones included, newest first, narrowed by the filters; page on with
    `before` (the last id shown). Only the two ends and the office keep such a history."""
    if principal.institution_id is not None:
        mine = principal.institution_id
        query = select(Referral).where(
            (Referral.from_institution_id == mine) | (Referral.to_institution_id == mine)
        )
    elif principal.has(Role.NETWORK_ADMIN) and principal.network_id is not None:
        query = select(Referral).where(Referral.network_id == principal.network_id)
    else:
        raise Forbidden("a referral history is kept by its institutions and network office")
    if where.since and where.until and where.until < where.since:
        raise InvalidInput([Problem("until", "must not be before the first day (since)")])
    sent = func.coalesce(Referral.submitted_at, Referral.created_at)
    if where.state is not None:
        query = query.where(Referral.state == where.state)
    if where.direction is not None:
        query = query.where(Referral.direction == where.direction)
    if where.patient:
        query = query.where(Referral.resident_id.in_(residents.named(where.patient)))
    if where.since is not None:
        query = query.where(sent >= clock.start_of(where.since))
    if where.until is not None:
        query = query.where(sent < clock.start_of(where.until + timedelta(days=1)))
    if before is not None:
        query = query.where(Referral.id < before)
    return list(session.scalars(query.order_by(Referral.id.desc()).limit(limit)))


def open_down_referrals(
    session: Session, institution_id: int, *, resident_id: int | None = None
) -> list[Referral]:
    """Downward referrals to an institution whose loop is still open (B5, F6): the family
    doctors' worklist shows them until the first follow-up closes them."""
    query = select(Referral).where(
        Referral.direction == Direction.DOWN,
        Referral.to_institution_id == institution_id,
        Referral.state.in_([State.SUBMITTED, State.ACCEPTED, State.SCHEDULED, State.ARRIVED]),
    )
    if resident_id is not None:
        query = query.where(Referral.resident_id == resident_id)
    return list(session.scalars(query.order_by(Referral.submitted_at, Referral.id)))


def awaiting_slot(session: Session, principal: Principal) -> list[Referral]:
    """Referrals to the principal's institution that hold no slot or bed yet: the list the
    department works down by offering slots (national referral services abroad see about a
    quarter of referrals hit "no slot available")."""
    waiting = [r for r in inbox(session, principal) if r.state in (State.SUBMITTED, State.ACCEPTED)]
    booked = scheduling.booked_referral_ids(session, [r.id for r in waiting])
    return [r for r in waiting if r.id not in booked]


def pending_approvals(session: Session, principal: Principal) -> list[Referral]:
    """Outward referrals of keep-in-city diseases waiting for the network office (B2)."""
    if not principal.has(Role.NETWORK_ADMIN) or principal.network_id is None:
        return []
    return list(
        session.scalars(
            select(Referral)
            .where(
                Referral.network_id == principal.network_id,
                Referral.approval == Approval.PENDING,
                Referral.state == State.SUBMITTED,
            )
            .order_by(Referral.submitted_at)
        )
    )


# --- views -----------------------------------------------------------------------------------


def _party(session: Session, institution_id: int, department_id: int | None) -> Party:
    institution = registry.get_institution_by_id(session, institution_id)
    assert institution is not None
    department = registry.get_department(session, department_id) if department_id else None
    return Party(
        institution_code=institution.code,
        institution_name=institution.name_zh,
        department_id=department_id,
        department_name=department.name_zh if department else None,
    )


def view(session: Session, principal: Principal, referral: Referral) -> ReferralOut:
    """The referral as its two ends and the network office see it (read already checked)."""
    booking = scheduling.live_booking_for_referral(session, referral.id)
    stay = scheduling.live_stay_for_referral(session, referral.id) or scheduling.last_stay(
        session, referral.id
    )
    network = (
        registry.get_network_by_id(session, referral.network_id) if referral.network_id else None
    )
    children = session.scalars(select(Referral.id).where(Referral.parent_id == referral.id))
    return ReferralOut(
        id=referral.id,
        version=referral.version,
        network_code=network.code if network else None,
        direction=referral.direction,
        state=referral.state,
        resident_id=referral.resident_id,
        resident_name=residents.name_of(session, referral.resident_id),
        sender=_party(session, referral.from_institution_id, referral.from_department_id),
        receiver=_party(session, referral.to_institution_id, referral.to_department_id),
        diagnosis_code=referral.diagnosis_code,
        diagnosis_title=referral.diagnosis_title,
        reason=referral.reason,
        urgency=referral.urgency,
        clinical_summary=referral.clinical_summary,
        attachments=list(referral.attachments or []),
        consent=referral.consent,
        admission_requested=referral.admission_requested,
        justification=referral.justification,
        catalog_hit=referral.catalog_hit,
        patient_choice_reason=referral.patient_choice_reason,
        approval=referral.approval,
        green_channel=referral.green_channel,
        deductible_rule=referral.deductible_rule,
        deductible_explanation=DEDUCTIBLE_TEXT[DeductibleRule(referral.deductible_rule)],
        discharge_summary=referral.discharge_summary,
        follow_up_plan=referral.follow_up_plan,
        rejection_code=referral.rejection_code,
        rejection_note=referral.rejection_note,
        parent_id=referral.parent_id,
        child_ids=list(children),
        slot_starts_at=scheduling.slot_time(session, booking) if booking else None,
        booking_id=booking.id if booking else None,
        bed_label=scheduling.bed_label(session, stay) if stay else None,
        bed_stay_id=stay.id if stay else None,
        bed_status=stay.status if stay else None,
        created_at=referral.created_at,
        submitted_at=referral.submitted_at,
        answered_at=referral.answered_at,
        acknowledged_at=referral.acknowledged_at,
        first_follow_up_at=referral.first_follow_up_at,
        closed_at=referral.closed_at,
        overdue=overdue(session, referral, clock.now()),
        allowed_actions=[str(a) for a in allowed_actions(principal, referral)],
        events=[
            EventOut(
                at=e.at,
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                note=e.note,
            )
            for e in referral.events
        ],
        regimen=pharmacy.referral_regimen(session, referral.id)
        if referral.direction == Direction.DOWN
        else None,
    )


def facts(session: Session) -> list[dict[str, object]]:
    """Every referral sent, as a `referral` fact (docs/activity.md) on the local day it was
    sent; a draft is not a referral yet. A down-referral's loop is closed once the primary unit
    has followed the patient up; `overdue` is as of now (B3)."""
    codes = registry.codes_by_id(session)
    now = clock.now()
    sent = select(Referral).where(Referral.submitted_at.is_not(None)).order_by(Referral.id)
    return [
        {
            "referral_id": f"cg-{r.id}",
            "from_institution_code": codes[r.from_institution_id],
            "to_institution_code": codes.get(r.to_institution_id),
            "direction": r.direction,
            "patient_id": f"cg-{r.resident_id}",
            "diagnosis_code": r.diagnosis_code,
            "date": clock.local(r.submitted_at).date(),
            "state": r.state,
            "closed_loop": (r.first_follow_up_at is not None) if r.direction == "down" else None,
            "answer_hours": _answer_hours(r),
            "overdue": overdue(session, r, now),
        }
        for r in session.scalars(sent)
        if r.submitted_at is not None
    ]


def _answer_hours(referral: Referral) -> float | None:
    if referral.answered_at is None or referral.submitted_at is None:
        return None
    return round((referral.answered_at - referral.submitted_at).total_seconds() / 3600, 2)


@dataclass(frozen=True)
class ReferralFilter:
    """What a search of referrals narrows by, in id order after `after`; None is no filter."""

    after: int = 0
    limit: int = 100
    ids: frozenset[int] | None = None
    resident_ids: frozenset[int] | None = None
    from_institution_ids: frozenset[int] | None = None
    to_institution_ids: frozenset[int] | None = None
    states: frozenset[str] | None = None
    changed_from: datetime | None = None  # the latest timeline event, from (inclusive)
    changed_before: datetime | None = None


def page(session: Session, principal: Principal, where: ReferralFilter) -> list[Referral]:
    """Referrals the principal's institution sent or received (its network's, for the office),
    in id order; drafts only for their author's institution. The page's reads are audited
    as one entry (a member's system searching its referrals, the FHIR facade)."""
    if principal.system:
        query = select(Referral)
    elif principal.institution_id is not None:
        mine = principal.institution_id
        query = select(Referral).where(
            (Referral.from_institution_id == mine)
            | ((Referral.to_institution_id == mine) & (Referral.state != State.DRAFT))
        )
    elif principal.has(Role.NETWORK_ADMIN) and principal.network_id is not None:
        query = select(Referral).where(
            Referral.network_id == principal.network_id, Referral.state != State.DRAFT
        )
    else:
        raise Forbidden("only the two institutions of a referral and their network office see it")
    query = query.where(Referral.id > where.after)
    if where.ids is not None:
        query = query.where(Referral.id.in_(where.ids))
    if where.resident_ids is not None:
        query = query.where(Referral.resident_id.in_(where.resident_ids))
    if where.from_institution_ids is not None:
        query = query.where(Referral.from_institution_id.in_(where.from_institution_ids))
    if where.to_institution_ids is not None:
        query = query.where(Referral.to_institution_id.in_(where.to_institution_ids))
    if where.states is not None:
        query = query.where(Referral.state.in_(where.states))
    if where.changed_from is not None or where.changed_before is not None:
        last = (
            select(func.max(ReferralEvent.at))
            .where(ReferralEvent.referral_id == Referral.id)
            .scalar_subquery()
        )
        if where.changed_from is not None:
            query = query.where(last >= where.changed_from)
        if where.changed_before is not None:
            query = query.where(last < where.changed_before)
    rows = list(session.scalars(query.order_by(Referral.id).limit(where.limit)))
    audit.record_reads(session, principal, "referral", [r.id for r in rows], purpose="referral")
    return rows
