"""Bed pools and stays (C1, C2): a department's beds with the reserved share marked, reserved
beds for member units' referred patients, admission and discharge.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.registry import service as registry
from caregrid.scheduling.models import LIVE_STAY_STATUSES, Bed, BedStay
from caregrid.scheduling.quotas import BED_SHARE, _require_booker, _spread, is_member_unit, quota
from caregrid.scheduling.vocab import StayStatus


def create_bed_pool(
    session: Session, principal: Principal, *, department_id: int, total: int
) -> list[Bed]:
    """A department's beds, the profile's reserved share of them marked reserved (C1, C2)."""
    department = registry.get_department(session, department_id)
    access.require_manage_institution(session, principal, department.institution_id)
    if not 1 <= total <= 2000:
        raise InvalidInput([Problem("total", "must be from 1 to 2000")])
    if session.scalar(select(func.count()).where(Bed.department_id == department.id)):
        raise Conflict("department {code} already has a bed pool", code=department.code)
    rule = quota(session, department.institution_id, BED_SHARE, clock.now())
    reserved = rule.required(total)
    beds = [
        Bed(
            institution_id=department.institution_id,
            department_id=department.id,
            label=f"{i + 1:03d}",
            reserved=flag,
        )
        for i, flag in enumerate(_spread(total, reserved))
    ]
    session.add_all(beds)
    session.flush()
    audit.record(
        session,
        principal,
        action="bed_pool.create",
        subject_type="department",
        subject_id=department.id,
        purpose="scheduling",
        detail={"total": total, "reserved": reserved},
    )
    return beds


@dataclass(frozen=True)
class BedView:
    bed: Bed
    stay: BedStay | None  # None for viewers outside the hospital when the bed is occupied
    occupied: bool


def bed_board(session: Session, principal: Principal, *, department_id: int) -> list[BedView]:
    """Every bed of the department; who lies in it only for the hospital's own staff."""
    department = registry.get_department(session, department_id)
    host = principal.system or principal.institution_id == department.institution_id
    beds = session.scalars(
        select(Bed).where(Bed.department_id == department_id).order_by(Bed.label)
    ).all()
    stays = {
        s.bed_id: s
        for s in session.scalars(
            select(BedStay).where(
                BedStay.bed_id.in_([b.id for b in beds]),
                BedStay.status.in_(LIVE_STAY_STATUSES),
            )
        )
    }
    return [BedView(b, stays.get(b.id) if host else None, b.id in stays) for b in beds]


def reserve_bed(
    session: Session,
    principal: Principal,
    *,
    department_id: int,
    resident_id: int,
    referral_id: int | None,
    for_institution_id: int | None = None,
) -> BedStay:
    """A reserved bed for a member unit's referred patient (C1); Conflict when none is free."""
    institution_id = for_institution_id or _require_booker(principal)
    department = registry.get_department(session, department_id)
    if not is_member_unit(session, institution_id, department.institution_id):
        raise RuleViolation(
            "reserved beds are for the network's member units and family-doctor teams",
            requirement="C1",
        )
    access.patient_access(session, principal, resident_id)
    live = exists().where(and_(BedStay.bed_id == Bed.id, BedStay.status.in_(LIVE_STAY_STATUSES)))
    candidates = session.scalars(
        select(Bed)
        .where(Bed.department_id == department.id, Bed.reserved, ~live)
        .order_by(Bed.label)
        .limit(8)
        .with_for_update(skip_locked=True, of=Bed)
    )
    for bed in candidates:
        stay = BedStay(
            bed_id=bed.id,
            resident_id=resident_id,
            referral_id=referral_id,
            booked_by=principal.username,
            booked_by_institution_id=institution_id,
            status="reserved",
            reserved_at=clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(stay)
                session.flush()
        except IntegrityError:
            continue
        audit.record(
            session,
            principal,
            action="bed_stay.reserve",
            subject_type="resident",
            subject_id=resident_id,
            purpose="admission",
            detail={"bed": bed.label, "department": department.code, "referral": referral_id},
        )
        return stay
    raise Conflict("no reserved bed of department {code} is free", code=department.code)


def live_stay_for_referral(session: Session, referral_id: int) -> BedStay | None:
    return session.scalar(
        select(BedStay).where(
            BedStay.referral_id == referral_id, BedStay.status.in_(LIVE_STAY_STATUSES)
        )
    )


def move_stay(session: Session, principal: Principal, *, stay_id: int, status: str) -> BedStay:
    """admitted (from reserved), discharged (from admitted: frees the bed) or cancelled."""
    stay = session.get(BedStay, stay_id)
    if stay is None:
        raise NotFound("no bed stay with id {stay_id}", stay_id=stay_id)
    bed = session.get(Bed, stay.bed_id)
    assert bed is not None
    if not (principal.system or principal.institution_id == bed.institution_id):
        raise Forbidden("only the hospital that holds the bed moves its stays")
    allowed = {"admitted": "reserved", "discharged": "admitted", "cancelled": "reserved"}
    if status not in allowed:
        raise InvalidInput([Problem("status", "must be admitted, discharged or cancelled")])
    if stay.status != allowed[status]:
        raise Conflict(
            "bed stay {id} is {status}; cannot become {status2}",
            id=stay.id,
            status=StayStatus(stay.status),
            status2=StayStatus(status),
        )
    stay.status = status
    if status == "admitted":
        stay.admitted_at = clock.now()
    if status == "discharged":
        stay.discharged_at = clock.now()
    session.flush()
    audit.record(
        session,
        principal,
        action=f"bed_stay.{status}",
        subject_type="resident",
        subject_id=stay.resident_id,
        purpose="admission",
        detail={"bed": bed.label},
    )
    return stay


def last_stay(session: Session, referral_id: int) -> BedStay | None:
    """The referral's latest bed stay, discharged or not (for the timeline's bed column)."""
    return session.scalar(
        select(BedStay)
        .where(BedStay.referral_id == referral_id, BedStay.status != "cancelled")
        .order_by(BedStay.id.desc())
        .limit(1)
    )


def bed_label(session: Session, stay: BedStay) -> str:
    bed = session.get(Bed, stay.bed_id)
    assert bed is not None
    return bed.label
