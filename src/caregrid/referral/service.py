"""The two-way referral workflow in a closed loop (B1-B7, F6): writing, sending, answering,
the network office's outward decision and the loop's closing.

The package's public entry. The rules a referral is written under live in `rules`, reading
and the views in `queries`, and the state machine in `states` (`_move`, the one place a
referral changes state, with what that does to its slot and bed); what other packages and
the routers use is re-exported here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.pharmacy import service as pharmacy
from caregrid.referral.models import Referral
from caregrid.referral.queries import (
    ReferralFilter,
    allowed_actions,
    awaiting_slot,
    facts,
    get,
    history,
    inbox,
    open_down_referrals,
    outbox,
    overdue,
    page,
    pending_approvals,
    require_read,
    side_of,
    view,
)
from caregrid.referral.rules import (
    DEDUCTIBLE_TEXT,
    TIER_CATALOGS,
    Route,
    _apply_rules,
    catalog_context,
    check_diagnosis,
    deductible_rule,
    diagnosis_refusal,
    first_visit_hit,
    green_channel,
    needs_outward_approval,
    network_profile,
    route,
)
from caregrid.referral.schemas import DownReferralIn, ReferralIn
from caregrid.referral.states import _check_version, _event, _move, _try_reserve_bed, book_slot
from caregrid.referral.vocab import (
    RECEIVER,
    Action,
    Approval,
    Direction,
    RejectionReason,
    State,
    Urgency,
)
from caregrid.registry import service as registry

__all__ = [
    "DEDUCTIBLE_TEXT",
    "TIER_CATALOGS",
    "Referral",
    "ReferralFilter",
    "Route",
    "_move",
    "allowed_actions",
    "awaiting_slot",
    "book_slot",
    "catalog_context",
    "check_diagnosis",
    "deductible_rule",
    "facts",
    "first_visit_hit",
    "get",
    "green_channel",
    "history",
    "inbox",
    "needs_outward_approval",
    "network_profile",
    "open_down_referrals",
    "outbox",
    "overdue",
    "page",
    "pending_approvals",
    "require_read",
    "route",
    "side_of",
    "view",
]

# The loop's closing is recorded as done by CareGrid on the follow-up's behalf.
SYSTEM_FOR_LOOP = SYSTEM

CLINICAL = (Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN)


# --- creating --------------------------------------------------------------------------------


def _require_clinical(principal: Principal) -> int:
    if not principal.has(*CLINICAL) or principal.institution_id is None:
        raise Forbidden("referrals are written by clinical staff of an institution")
    return principal.institution_id


def _check_department(
    session: Session, department_id: int | None, institution_id: int, field: str
) -> list[Problem]:
    if department_id is None:
        return []
    try:
        department = registry.get_department(session, department_id)
    except NotFound as exc:
        return [Problem(field, exc.detail)]
    if department.institution_id != institution_id:
        return [
            Problem(
                field,
                msg(
                    "department {department_id} is not part of that institution",
                    department_id=department_id,
                ),
            )
        ]
    return []


def create(session: Session, principal: Principal, data: ReferralIn) -> Referral:
    """Write a referral (and submit it, and book its slot or bed, in the same step)."""
    from_id = _require_clinical(principal)
    access.patient_access(session, principal, data.resident_id)
    problems: list[Problem] = []
    receiver = registry.get_institution(session, data.to_institution_code)
    if receiver is None:
        problems.append(
            Problem(
                "to_institution_code",
                msg(
                    "no institution with code {to_institution_code!r}",
                    to_institution_code=data.to_institution_code,
                ),
            )
        )
    elif receiver.id == from_id:
        problems.append(Problem("to_institution_code", "a referral goes to another institution"))
    else:
        problems += _check_department(
            session, data.to_department_id, receiver.id, "to_department_id"
        )
    problems += _check_department(session, data.from_department_id, from_id, "from_department_id")
    sender = registry.get_institution_by_id(session, from_id)
    assert sender is not None
    route_ = route(session, from_id, receiver.id) if receiver and receiver.id != from_id else None
    check = check_diagnosis(session, route_.network_id if route_ else None, data.diagnosis_code)
    refusal = diagnosis_refusal(data.diagnosis_code)
    if refusal is not None:
        problems.append(Problem("diagnosis_code", refusal))
    regimen, regimen_problems = _regimen(session, data, route_, from_id, receiver)
    problems += regimen_problems
    if problems:
        raise InvalidInput(problems)
    assert receiver is not None and route_ is not None

    _apply_rules(data, route_, check)
    now = clock.now()
    hit = first_visit_hit(check, route_.from_tier) if route_.direction == Direction.UP else None
    referral = Referral(
        network_id=route_.network_id,
        direction=route_.direction,
        state=State.DRAFT,
        resident_id=data.resident_id,
        from_institution_id=from_id,
        from_department_id=data.from_department_id,
        from_practitioner_id=data.from_practitioner_id,
        created_by=principal.username,
        to_institution_id=receiver.id,
        to_department_id=data.to_department_id,
        diagnosis_code=check.code,
        diagnosis_title=check.title or "",
        reason=data.reason.strip(),
        urgency=data.urgency,
        clinical_summary=data.clinical_summary.strip(),
        attachments=data.attachments,
        consent=data.consent,
        consent_note=data.consent_note,
        admission_requested=data.admission_requested,
        justification=(data.justification or "").strip() or None,
        catalog_hit=f"{hit.kind}: {hit.entry} {hit.name_zh}" if hit else None,
        patient_choice_reason=(data.patient_choice_reason or "").strip() or None,
        approval=Approval.PENDING
        if needs_outward_approval(check, sender, receiver)
        else Approval.NOT_NEEDED,
        green_channel=green_channel(session, data.resident_id, sender, route_.direction),
        deductible_rule=deductible_rule(session, route_, sender, data.admission_requested),
        discharge_summary=data.discharge_summary,
        follow_up_plan=data.follow_up_plan,
        created_at=now,
    )
    session.add(referral)
    session.flush()
    _event(session, principal, referral, "create", None, State.DRAFT, None)
    if regimen is not None:
        pharmacy.record_regimen(
            session,
            principal,
            regimen,
            referral_id=referral.id,
            resident_id=referral.resident_id,
            diagnosis_code=referral.diagnosis_code,
        )
    audit.record(
        session,
        principal,
        action="referral.create",
        subject_type="resident",
        subject_id=referral.resident_id,
        purpose="referral",
        detail={"referral": referral.id, "direction": referral.direction},
    )
    if data.submit:
        _move(session, principal, referral, Action.SUBMIT, version=referral.version)
        if data.slot_id is not None:
            book_slot(session, principal, referral, slot_id=data.slot_id)
        if referral.admission_requested and referral.to_department_id is not None:
            _try_reserve_bed(session, principal, referral)
    elif data.slot_id is not None:
        raise InvalidInput([Problem("slot_id", "a draft holds no slot; submit it to book")])
    return referral


def _regimen(
    session: Session,
    data: ReferralIn,
    route_: Route | None,
    from_id: int,
    receiver: registry.Institution | None,
) -> tuple[pharmacy.Assessment | None, list[Problem]]:
    """The discharge regimen checked at the receiving member (G6); only a downward referral
    inside a network carries one."""
    if not data.regimen or route_ is None or receiver is None:
        return None, []
    if route_.direction != Direction.DOWN or route_.network_id is None:
        return None, [
            Problem("regimen", "a discharge regimen goes with a downward referral in a network")
        ]
    try:
        return pharmacy.assess_regimen(
            session, route_.network_id, from_id, receiver.id, data.regimen
        ), []
    except InvalidInput as refused:
        return None, refused.problems


def refer_down(
    session: Session, principal: Principal, *, parent_id: int, data: DownReferralIn
) -> Referral:
    """The lead answers an up referral: discharge (completes it) and refer down (B5)."""
    parent = get(session, parent_id)
    if RECEIVER not in side_of(principal, parent):
        raise Forbidden("only the institution that received the patient refers him down")
    _check_version(parent, data.version)
    if parent.state == State.ARRIVED:
        _move(
            session, principal, parent, Action.COMPLETE, version=parent.version, note="discharged"
        )
    if parent.state != State.COMPLETED:
        raise RuleViolation(
            "referral {id} is {state}; the patient must have arrived first",
            id=parent.id,
            state=State(parent.state),
            requirement="B5",
        )
    target = data.to_institution_code
    if target is None:
        sender = registry.get_institution_by_id(session, parent.from_institution_id)
        assert sender is not None
        target = sender.code
    child = create(
        session,
        principal,
        ReferralIn(
            resident_id=parent.resident_id,
            to_institution_code=target,
            from_department_id=parent.to_department_id,
            diagnosis_code=data.diagnosis_code or parent.diagnosis_code,
            reason=data.reason,
            urgency=Urgency.ROUTINE,
            clinical_summary=data.clinical_summary,
            consent=data.consent,
            discharge_summary=data.discharge_summary,
            follow_up_plan=data.follow_up_plan,
            regimen=data.regimen,
        ),
    )
    if child.direction != Direction.DOWN:
        raise RuleViolation(
            "{target} is not below the lead in the network; a downward referral goes to a "
            "lower tier",
            target=target,
            requirement="B5",
        )
    child.parent_id = parent.id
    _event(session, principal, parent, "refer_down", parent.state, parent.state, f"#{child.id}")
    session.flush()
    return child


def transition(
    session: Session,
    principal: Principal,
    referral_id: int,
    *,
    action: Action,
    version: int,
    note: str | None = None,
    rejection_code: RejectionReason | None = None,
    slot_id: int | None = None,
) -> Referral:
    """Apply an action from the API or a page, with the rules that guard it."""
    referral = get(session, referral_id)
    _require_clinical(principal)
    if action == Action.REJECT:
        if rejection_code is None:
            raise InvalidInput([Problem("rejection_code", "a rejection needs a coded reason")])
        if rejection_code == RejectionReason.OTHER and not (note or "").strip():
            raise InvalidInput([Problem("note", "reason 'other' needs a text")])
        referral.rejection_code, referral.rejection_note = rejection_code, note
    if action == Action.ACCEPT and referral.approval == Approval.PENDING:
        raise RuleViolation(
            "{diagnosis_code} is on the keep-in-city catalog; the network office must approve "
            "this outward referral first",
            diagnosis_code=referral.diagnosis_code,
            requirement="B2",
        )
    if action == Action.SCHEDULE:
        if slot_id is None:
            raise InvalidInput([Problem("slot_id", "scheduling offers a slot")])
        _check_version(referral, version)
        book_slot(session, principal, referral, slot_id=slot_id, move=False)
    if action == Action.CLOSE and referral.direction == Direction.DOWN:
        raise RuleViolation(
            "a downward referral closes when the receiving unit records the first follow-up",
            requirement="B5",
        )
    _move(session, principal, referral, action, version=version, note=note)
    return referral


def decide_outward(
    session: Session,
    principal: Principal,
    referral_id: int,
    *,
    version: int,
    approve: bool,
    note: str | None,
) -> Referral:
    """The network office approves or refuses an outward keep-in-city referral (B2)."""
    referral = get(session, referral_id)
    if not (principal.has(Role.NETWORK_ADMIN) and principal.network_id == referral.network_id):
        raise Forbidden("only the referring network's office decides outward referrals")
    _check_version(referral, version)
    if referral.approval != Approval.PENDING:
        raise Conflict(
            "referral {id} needs no decision ({approval})",
            id=referral.id,
            approval=referral.approval,
        )
    referral.approval = Approval.APPROVED if approve else Approval.REFUSED
    referral.approval_by = principal.username
    label = "approve_outward" if approve else "refuse_outward"
    _event(session, principal, referral, label, referral.state, referral.state, note)
    if not approve:
        _move(session, principal, referral, Action.CANCEL, version=referral.version, note=note)
    else:
        session.flush()
    return referral


def record_follow_up(
    session: Session, principal: Principal, referral_id: int, *, version: int, note: str
) -> Referral:
    """The primary unit's first follow-up of a patient referred down closes the loop (B5, F6):
    the down referral is completed and closed, and so is the up referral it answers."""
    referral = get(session, referral_id)
    if referral.direction != Direction.DOWN:
        raise RuleViolation("first follow-ups close downward referrals", requirement="B5")
    if referral.acknowledged_at is None:
        raise RuleViolation(
            "referral {id} must be acknowledged (accepted) before its follow-up",
            id=referral.id,
            requirement="B5",
        )
    _check_version(referral, version)
    referral.first_follow_up_at = clock.now()
    referral.first_follow_up_note = note.strip()
    if referral.state == State.ACCEPTED:
        _move(session, principal, referral, Action.ARRIVE, version=referral.version)
    _move(session, principal, referral, Action.COMPLETE, version=referral.version, note=note)
    _move(session, principal, referral, Action.CLOSE, version=referral.version, note="loop closed")
    if referral.parent_id is not None:
        parent = get(session, referral.parent_id)
        if parent.state == State.COMPLETED:
            _move(
                session,
                SYSTEM_FOR_LOOP,
                parent,
                Action.CLOSE,
                version=parent.version,
                note=f"loop closed by downward referral #{referral.id}",
            )
    return referral
