"""The state machine: `_move` is the one place a referral changes state. It applies
`vocab.TRANSITIONS`, checks the client's version (optimistic locking: a stale version is a
Conflict, never a lost update), appends the timeline event and the audit entry, and follows
through on the referral's slot and bed in scheduling.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, RuleViolation
from caregrid.i18n import Message, listing
from caregrid.referral.models import Referral, ReferralEvent
from caregrid.referral.queries import side_of
from caregrid.referral.vocab import (
    ACTOR_SIDE,
    CARE_STATES,
    EITHER,
    RECEIVER,
    SENDER,
    TRANSITIONS,
    Action,
    Direction,
    State,
)
from caregrid.scheduling import service as scheduling


def _check_version(referral: Referral, version: int) -> None:
    if referral.version != version:
        raise Conflict(
            "referral {id} changed since you loaded it (your version {version}, now "
            "{version2}); reload and try again",
            id=referral.id,
            version=version,
            version2=referral.version,
        )


def _event(
    session: Session,
    principal: Principal,
    referral: Referral,
    action: str,
    from_state: str | None,
    to_state: str,
    note: str | None,
) -> None:
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            at=clock.now(),
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor=principal.display_name or principal.username,
            note=note,
        )
    )


def _move(
    session: Session,
    principal: Principal,
    referral: Referral,
    action: Action,
    *,
    version: int,
    note: str | None = None,
) -> None:
    """The one place a referral changes state."""
    _check_version(referral, version)
    sources, target = TRANSITIONS[action]
    if State(referral.state) not in sources:
        raise Conflict(
            "referral {id} is {state}; '{action}' is allowed only from {sources}",
            id=referral.id,
            state=State(referral.state),
            action=action,
            sources=listing(sorted(sources)),
        )
    side = ACTOR_SIDE[action]
    sides = side_of(principal, referral)
    if not principal.system and not (sides if side == EITHER else side in sides):
        who = {SENDER: Message("the referring"), RECEIVER: Message("the receiving")}.get(
            side, Message("either")
        )
        raise Forbidden(
            "'{action}' is for {who} institution of referral {id}",
            action=action,
            who=who,
            id=referral.id,
        )
    now = clock.now()
    previous = referral.state
    referral.state = target
    if action == Action.SUBMIT:
        referral.submitted_at = now
    if action in (Action.ACCEPT, Action.REJECT):
        referral.answered_at = now
        if referral.direction == Direction.DOWN and action == Action.ACCEPT:
            referral.acknowledged_at = now
    if target == State.CLOSED:
        referral.closed_at = now
    referral_id = referral.id  # a failed flush expires the instance: no reading it after
    _event(session, principal, referral, action, previous, target, note)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "referral {referral_id} was changed by someone else at the same moment; reload",
            referral_id=referral_id,
        ) from None
    if (previous in CARE_STATES) != (target in CARE_STATES):
        access.relate(
            session,
            kind=access.Relationship.REFERRAL,
            source_id=referral.id,
            resident_id=referral.resident_id,
            institution_ids={referral.from_institution_id, referral.to_institution_id}
            if target in CARE_STATES
            else set(),
        )
    audit.record(
        session,
        principal,
        action=f"referral.{action}",
        subject_type="resident",
        subject_id=referral.resident_id,
        purpose="referral",
        detail={"referral": referral.id, "from": previous, "to": target},
    )
    _follow_through(session, principal, referral, action)


def _follow_through(
    session: Session, principal: Principal, referral: Referral, action: Action
) -> None:
    """What a state change does to the referral's slot and bed: an accepted referral holding
    one is scheduled; arrival admits to the reserved bed, completion discharges (freeing it),
    cancelling releases both."""
    stay = scheduling.live_stay_for_referral(session, referral.id)
    if action == Action.ACCEPT:
        _schedule_if_booked(session, principal, referral)
    elif action == Action.ARRIVE and stay is not None and stay.status == "reserved":
        scheduling.move_stay(session, principal, stay_id=stay.id, status="admitted")
    elif action == Action.COMPLETE and stay is not None and stay.status == "admitted":
        scheduling.move_stay(session, principal, stay_id=stay.id, status="discharged")
    elif action == Action.CANCEL:
        _release(session, principal, referral)


def _schedule_if_booked(session: Session, principal: Principal, referral: Referral) -> None:
    """An accepted referral that already holds a slot or a bed is scheduled at once."""
    booking = scheduling.live_booking_for_referral(session, referral.id)
    stay = scheduling.live_stay_for_referral(session, referral.id)
    if booking is None and stay is None:
        return
    when = scheduling.slot_time(session, booking) if booking else None
    note = f"slot {clock.local(when).isoformat(timespec='minutes')}" if when else "reserved bed"
    _move(session, principal, referral, Action.SCHEDULE, version=referral.version, note=note)


def book_slot(
    session: Session, principal: Principal, referral: Referral, *, slot_id: int, move: bool = True
) -> None:
    """Book a slot for the referral: by the sender, or offered by the receiving department
    from its awaiting list (the sender's reserved-slot rights apply either way)."""
    if scheduling.live_booking_for_referral(session, referral.id) is not None:
        raise Conflict("referral {id} already holds a slot; cancel it first", id=referral.id)
    booking = scheduling.book(
        session,
        principal,
        slot_id=slot_id,
        resident_id=referral.resident_id,
        referral_id=referral.id,
        for_institution_id=referral.from_institution_id,
    )
    when = clock.local(scheduling.slot_time(session, booking)).isoformat(timespec="minutes")
    _event(session, principal, referral, "book_slot", referral.state, referral.state, when)
    if move and referral.state == State.ACCEPTED:
        _move(session, principal, referral, Action.SCHEDULE, version=referral.version, note=when)


def _try_reserve_bed(session: Session, principal: Principal, referral: Referral) -> None:
    """An up referral for admission takes a reserved bed if one is free; otherwise it waits on
    the department's list (the referral is still sent)."""
    assert referral.to_department_id is not None
    try:
        stay = scheduling.reserve_bed(
            session,
            principal,
            department_id=referral.to_department_id,
            resident_id=referral.resident_id,
            referral_id=referral.id,
            for_institution_id=referral.from_institution_id,
        )
    except (Conflict, RuleViolation) as exc:
        _event(session, principal, referral, "bed_wait", referral.state, referral.state, exc.detail)
        return
    _event(
        session, principal, referral, "reserve_bed", referral.state, referral.state, str(stay.id)
    )


def _release(session: Session, principal: Principal, referral: Referral) -> None:
    booking = scheduling.live_booking_for_referral(session, referral.id)
    if booking is not None and booking.status == "booked":
        scheduling.set_booking_status(session, principal, booking_id=booking.id, status="cancelled")
    stay = scheduling.live_stay_for_referral(session, referral.id)
    if stay is not None and stay.status == "reserved":
        scheduling.move_stay(session, principal, stay_id=stay.id, status="cancelled")
