"""The two-way referral workflow in a closed loop (B1-B7, F6).

Every change goes through `_move`, which applies the state machine of `vocab.TRANSITIONS`,
checks the client's version (optimistic locking: a stale version is a Conflict, never a lost
update), appends the timeline event and the audit entry. The rules that depend on the
disease catalogs, the patient's choice, the green channel and the deductible each live in
one function below, named after what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.familydoctor import service as familydoctor
from caregrid.policy import icd10
from caregrid.policy import service as policy
from caregrid.policy.schema import CatalogKind, Profile
from caregrid.referral import catalogs
from caregrid.referral.models import Referral, ReferralEvent
from caregrid.referral.schemas import (
    CatalogHint,
    DiagnosisCheck,
    DownReferralIn,
    EventOut,
    Party,
    ReferralIn,
    ReferralOut,
)
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
    RejectionReason,
    State,
    Urgency,
)
from caregrid.registry import service as registry
from caregrid.registry.vocab import TIER_ORDER, Level, Tier
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling

# The loop's closing is recorded as done by CareGrid on the follow-up's behalf.
SYSTEM_FOR_LOOP = SYSTEM

CLINICAL = (Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN)

# The catalog whose diseases a referring tier treats itself (B2): referring one of them up
# asks for a justification.
TIER_CATALOGS: dict[str, tuple[CatalogKind, ...]] = {
    Tier.DISTRICT: ("tier_district",),
    Tier.COUNTY: ("tier_county",),
    Tier.TOWNSHIP: ("member_first_visit", "tier_township"),
    Tier.VILLAGE: ("member_first_visit", "tier_township"),
}


# --- reading ---------------------------------------------------------------------------------


def get(session: Session, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound(f"no referral with id {referral_id}")
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
    """Both ends of a referral and its network's office may read it; the read is audited."""
    office = principal.has(Role.NETWORK_ADMIN) and principal.network_id == referral.network_id
    if not (side_of(principal, referral) or office):
        raise Forbidden("only the two institutions of a referral and their network office see it")
    audit.record(
        session,
        principal,
        action="referral.read",
        subject_type="resident",
        subject_id=referral.resident_id,
        purpose=purpose,
        detail={"referral": referral.id},
    )


def has_referral_between(session: Session, institution_id: int, resident_id: int) -> bool:
    """A care relationship (DESIGN.md, Security): a live referral to or from the institution."""
    return (
        session.scalar(
            select(Referral.id)
            .where(
                Referral.resident_id == resident_id,
                or_(
                    Referral.from_institution_id == institution_id,
                    Referral.to_institution_id == institution_id,
                ),
                Referral.state.not_in((State.CANCELLED, State.REJECTED, State.DRAFT)),
            )
            .limit(1)
        )
        is not None
    )


def network_profile(session: Session, network_id: int | None) -> Profile | None:
    if network_id is None:
        return None
    return policy.get(registry.get_network_by_id(session, network_id).profile)


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


# --- the rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    direction: Direction
    network_id: int | None
    from_tier: str | None


def route(session: Session, from_id: int, to_id: int) -> Route:
    """Direction from the two institutions' tiers in the network they share; no shared network
    makes the referral outward (another grid, or out of the city)."""
    mine = registry.placements(session, from_id)
    theirs = {p.network_id: p for p in registry.placements(session, to_id)}
    for place in mine:
        other = theirs.get(place.network_id)
        if other is None:
            continue
        here, there = TIER_ORDER.index(Tier(place.tier)), TIER_ORDER.index(Tier(other.tier))
        direction = (
            Direction.UP if there < here else Direction.DOWN if there > here else Direction.LATERAL
        )
        return Route(direction, place.network_id, place.tier)
    home = mine[0] if mine else None
    return Route(Direction.OUTWARD, home.network_id if home else None, home.tier if home else None)


def catalog_context(
    session: Session, institution_id: int | None, target_id: int | None
) -> tuple[int | None, list[CatalogKind]]:
    """For a referral from this institution (to `target_id` when known): the network whose
    catalogs apply, and the catalog kinds whose diseases ask for a justification to go up."""
    if institution_id is None:
        return None, []
    if target_id is not None and target_id != institution_id:
        found = route(session, institution_id, target_id)
        network_id, tier = found.network_id, found.from_tier
    else:
        places = registry.placements(session, institution_id)
        network_id = places[0].network_id if places else None
        tier = places[0].tier if places else None
    return network_id, list(TIER_CATALOGS.get(tier or "", ()))


def check_diagnosis(session: Session, network_id: int | None, code: str) -> DiagnosisCheck:
    """Is the code ICD-10, and which of the network's catalogs hold it (the form's hints)."""
    try:
        stem = icd10.who_stem(code)
    except icd10.Icd10Error as exc:
        return DiagnosisCheck(code=code, valid=False, title=None, message=str(exc), hits=[])
    hits = []
    if network_id is not None:
        for found in catalogs.all_catalogs(session, network_id):
            entry = found.match(stem)
            if entry is not None:
                hits.append(
                    CatalogHint(
                        kind=found.kind,
                        entry=entry.entry,
                        name_zh=entry.name_zh,
                        name_en=entry.name_en,
                        requirement=found.requirement,
                    )
                )
    return DiagnosisCheck(
        code=icd10.normalise(code), valid=True, title=icd10.describe(stem), message=None, hits=hits
    )


def first_visit_hit(check: DiagnosisCheck, from_tier: str | None) -> CatalogHint | None:
    """B2: the disease is on a catalog of what the referring tier treats itself."""
    kinds = TIER_CATALOGS.get(from_tier or "", ())
    return next((h for h in check.hits if h.kind in kinds), None)


def needs_outward_approval(
    check: DiagnosisCheck, sender: registry.Institution, receiver: registry.Institution
) -> bool:
    """B2: a keep-in-city disease referred out of the city needs the network office."""
    out_of_city = sender.city_id != receiver.city_id
    return out_of_city and any(h.kind == "keep_in_city" for h in check.hits)


def green_channel(
    session: Session, resident_id: int, sender: registry.Institution, direction: str
) -> bool:
    """B4: a signed resident referred up by a primary institution."""
    return (
        direction == Direction.UP
        and sender.level == Level.PRIMARY
        and familydoctor.is_signed(session, resident_id, clock.today())
    )


def deductible_rule(
    session: Session, route_: Route, sender: registry.Institution, admission: bool
) -> DeductibleRule:
    """B7: an in-network referred admission with a primary first visit pays no second
    inpatient deductible, where the profile says so (GZ-C 三(六))."""
    if not admission:
        return DeductibleRule.NOT_ADMISSION
    profile = network_profile(session, route_.network_id)
    waived = profile is not None and bool(
        profile.parameter("no_second_inpatient_deductible", clock.today())
    )
    in_network = route_.direction in (Direction.UP, Direction.LATERAL)
    if waived and in_network and sender.level == Level.PRIMARY:
        return DeductibleRule.WAIVED_SECOND
    return DeductibleRule.STANDARD


DEDUCTIBLE_TEXT = {
    DeductibleRule.WAIVED_SECOND: (
        "B7: in-network referred admission after a primary first visit; the second inpatient "
        "deductible is not charged again (GZ-C 三(六))"
    ),
    DeductibleRule.STANDARD: (
        "standard: the admission pays the receiving hospital's inpatient deductible"
    ),
    DeductibleRule.NOT_ADMISSION: "not an admission: no inpatient deductible applies",
}


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
        return [Problem(field, f"department {department_id} is not part of that institution")]
    return []


def create(session: Session, principal: Principal, data: ReferralIn) -> Referral:
    """Write a referral (and submit it, and book its slot or bed, in the same step)."""
    from_id = _require_clinical(principal)
    access.patient_access(session, principal, data.resident_id)
    problems: list[Problem] = []
    receiver = registry.get_institution(session, data.to_institution_code)
    if receiver is None:
        problems.append(
            Problem("to_institution_code", f"no institution with code {data.to_institution_code!r}")
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
    if not check.valid:
        problems.append(Problem("diagnosis_code", f"{check.message} (B2: catalogs use ICD-10)"))
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


def _apply_rules(data: ReferralIn, route_: Route, check: DiagnosisCheck) -> None:
    """The rules that refuse a referral outright, each naming its requirement."""
    if route_.direction == Direction.DOWN:
        missing = [
            name
            for name in ("discharge_summary", "follow_up_plan")
            if not (getattr(data, name) or "").strip()
        ]
        if missing:
            raise RuleViolation(
                f"a downward referral hands over the discharge summary and the follow-up "
                f"plan; missing: {', '.join(missing)}",
                requirement="B5",
            )
    hit = first_visit_hit(check, route_.from_tier) if route_.direction == Direction.UP else None
    if hit is not None and not (data.justification or "").strip():
        raise RuleViolation(
            f"{check.code} is on the {hit.kind} catalog ({hit.entry} {hit.name_zh}): "
            "first visits stay at the member unit; give a justification to refer it up",
            requirement="B2",
        )
    if route_.direction == Direction.OUTWARD and not (data.patient_choice_reason or "").strip():
        raise RuleViolation(
            "the receiving institution is outside the patient's network; record the reason "
            "for the patient's choice (patient_choice_reason)",
            requirement="B6",
        )
    if data.submit and not data.consent:
        raise InvalidInput(
            [Problem("consent", "the patient's consent is needed to send a referral")]
        )


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
            f"referral {parent.id} is {parent.state}; the patient must have arrived first",
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
        ),
    )
    if child.direction != Direction.DOWN:
        raise RuleViolation(
            f"{target} is not below the lead in the network; a downward referral goes to a "
            "lower tier",
            requirement="B5",
        )
    child.parent_id = parent.id
    _event(session, principal, parent, "refer_down", parent.state, parent.state, f"#{child.id}")
    session.flush()
    return child


# --- moving ----------------------------------------------------------------------------------


def _check_version(referral: Referral, version: int) -> None:
    if referral.version != version:
        raise Conflict(
            f"referral {referral.id} changed since you loaded it (your version {version}, "
            f"now {referral.version}); reload and try again"
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
            f"referral {referral.id} is {referral.state}; '{action}' is allowed only from "
            f"{', '.join(sorted(sources))}"
        )
    side = ACTOR_SIDE[action]
    sides = side_of(principal, referral)
    if not principal.system and not (sides if side == EITHER else side in sides):
        who = {SENDER: "the referring", RECEIVER: "the receiving"}.get(side, "either")
        raise Forbidden(f"'{action}' is for {who} institution of referral {referral.id}")
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
            f"referral {referral_id} was changed by someone else at the same moment; reload"
        ) from None
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
            f"{referral.diagnosis_code} is on the keep-in-city catalog; the network office must "
            "approve this outward referral first",
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
        raise Conflict(f"referral {referral.id} already holds a slot; cancel it first")
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
        raise Conflict(f"referral {referral.id} needs no decision ({referral.approval})")
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
            f"referral {referral.id} must be acknowledged (accepted) before its follow-up",
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
    )


def count_down_referrals(
    session: Session,
    *,
    network_id: int,
    from_institution_ids: set[int],
    diagnosis_prefixes: tuple[str, ...],
    start: datetime,
    end: datetime,
) -> int:
    """Downward referrals within one network sent by these institutions in [start, end) whose
    diagnosis starts with one of the prefixes (B9: the lead's down-referrals of chronic
    patients; a hospital leading two groups counts each group's apart)."""
    rows = session.scalars(
        select(Referral.diagnosis_code).where(
            Referral.direction == Direction.DOWN,
            Referral.network_id == network_id,
            Referral.from_institution_id.in_(from_institution_ids),
            Referral.submitted_at >= start,
            Referral.submitted_at < end,
        )
    )
    return sum(1 for code in rows if code.upper().startswith(diagnosis_prefixes))


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
