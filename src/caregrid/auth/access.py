"""The access rules (DESIGN.md, security model), decided here and nowhere else.

Registry structure is readable by every signed-in user. Writes are scoped: the regulator plans
grids and layouts; a network admin manages its own network's institutions; an institution admin
its own institution. Personal data needs a care relationship or a reasoned emergency access;
regulators and auditors see no person records at all.

Care relationships are rows of one table (`CareRelationship`), written by the services that
own their source records through `relate` and read here: deciding access never calls back up
into the domains that depend on this module.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.models import CareRelationship
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Forbidden

MIN_EMERGENCY_REASON = 10


def require_role(principal: Principal, *roles: Role) -> None:
    if not principal.has(*roles):
        raise Forbidden(f"needs one of the roles: {', '.join(sorted(roles))}")


def network_institution_ids(session: Session, network_id: int) -> set[int]:
    """The network's member institutions: the reach of its office's access."""
    # The registry's service takes principals and checks access here, so it is read lazily.
    from caregrid.registry.service import network_member_ids

    return network_member_ids(session, network_id)


def can_manage_institution(session: Session, principal: Principal, institution_id: int) -> bool:
    """Departments, practitioners and staff of an institution."""
    if principal.system:
        return True
    if principal.has(Role.INSTITUTION_ADMIN) and principal.institution_id == institution_id:
        return True
    return (
        principal.has(Role.NETWORK_ADMIN)
        and principal.network_id is not None
        and institution_id in network_institution_ids(session, principal.network_id)
    )


def require_manage_institution(session: Session, principal: Principal, institution_id: int) -> None:
    if not can_manage_institution(session, principal, institution_id):
        raise Forbidden("you may manage only your own institution (or your network's members)")


def is_network_office(principal: Principal, network_id: int) -> bool:
    """The health commission (any network) or this network's own office: who keeps a
    network's catalogs, menus and centres and sees all of its measures."""
    return principal.has(Role.REGULATOR) or (
        principal.has(Role.NETWORK_ADMIN) and principal.network_id == network_id
    )


def require_network_office(principal: Principal, network_id: int, refusal: str) -> None:
    if not is_network_office(principal, network_id):
        raise Forbidden(refusal)


def measure_scope(principal: Principal, network_id: int, refusal: str) -> int | None:
    """Whose rows of a network's measures the principal sees: None for every row (the
    commission, the network's office), else their own institution's."""
    if is_network_office(principal, network_id):
        return None
    if principal.institution_id is None:
        raise Forbidden(refusal)
    return principal.institution_id


def require_plan_layout(principal: Principal) -> None:
    """Grids, networks and layouts are the health commission's to plan."""
    require_role(principal, Role.REGULATOR)


@dataclass(frozen=True)
class PatientAccess:
    unmasked: bool
    basis: str  # care_relationship | network | emergency | system


class Relationship(StrEnum):
    """The kinds of care relationship, in the order `care_relationship` names them."""

    REGISTERED_AT_INSTITUTION = "registered_at_institution"  # holds the health record
    CONTRACT = "contract"  # the resident's family-doctor contract in force (E2)
    REFERRAL = "referral"  # a referral sent to or from the institution (B1)


def relate(
    session: Session,
    *,
    kind: Relationship,
    source_id: int,
    resident_id: int,
    institution_ids: Set[int],
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> None:
    """What a source record means for access from now on: these institutions have a care
    relationship of this kind with the resident from `started_at` (default now) until
    `ended_at` (None: until a later call ends it); an empty set ends the relationship now.

    The owning service calls this in the transaction that changes the record, so the
    relationship commits or rolls back with it. Rows already over stay as history; running
    ones are kept with the new end, or ended now for an institution no longer in the set.
    """
    now = clock.now()
    start = now if started_at is None else started_at
    rows = list(
        session.scalars(
            select(CareRelationship).where(
                CareRelationship.kind == kind, CareRelationship.source_id == source_id
            )
        )
    )
    running = {r.institution_id: r for r in rows if r.ended_at is None or r.ended_at > now}
    for institution_id, row in running.items():
        if institution_id in institution_ids:
            row.ended_at = None if ended_at is None else max(ended_at, row.started_at)
        else:
            row.ended_at = max(now, row.started_at)
    for institution_id in sorted(institution_ids - running.keys()):
        # An institution joining a relationship that already runs joins from now.
        begins = max(start, now) if rows else start
        session.add(
            CareRelationship(
                institution_id=institution_id,
                resident_id=resident_id,
                kind=kind.value,
                source_id=source_id,
                started_at=begins,
                ended_at=None if ended_at is None else max(ended_at, begins),
            )
        )
    session.flush()


def _in_force(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (
        CareRelationship.started_at <= now,
        or_(CareRelationship.ended_at.is_(None), CareRelationship.ended_at > now),
    )


def care_relationship(session: Session, institution_id: int, resident_id: int) -> str | None:
    """The first relationship in force linking an institution to a resident, or None."""
    kinds = set(
        session.scalars(
            select(CareRelationship.kind).where(
                CareRelationship.institution_id == institution_id,
                CareRelationship.resident_id == resident_id,
                *_in_force(clock.now()),
            )
        )
    )
    return next((kind.value for kind in Relationship if kind in kinds), None)


def registered_institution_ids(session: Session, resident_id: int) -> set[int]:
    """Where the resident's health record is held now (one institution, or none)."""
    return set(
        session.scalars(
            select(CareRelationship.institution_id).where(
                CareRelationship.resident_id == resident_id,
                CareRelationship.kind == Relationship.REGISTERED_AT_INSTITUTION,
                *_in_force(clock.now()),
            )
        )
    )


def patient_access(
    session: Session, principal: Principal, resident_id: int, *, emergency_reason: str | None = None
) -> PatientAccess:
    """May this principal see this resident, and unmasked? Raises Forbidden when not."""
    if principal.system:
        return PatientAccess(unmasked=True, basis="system")
    if principal.roles <= {Role.REGULATOR, Role.AUDITOR}:
        raise Forbidden("regulators and auditors see aggregates, not person records")
    clinical = principal.has(Role.CLINICIAN, Role.FAMILY_DOCTOR)
    if principal.institution_id is not None:
        basis = care_relationship(session, principal.institution_id, resident_id)
        if basis is not None:
            return PatientAccess(unmasked=clinical, basis=basis)
    if principal.has(Role.NETWORK_ADMIN) and principal.network_id is not None:
        homes = registered_institution_ids(session, resident_id)
        if homes & network_institution_ids(session, principal.network_id):
            return PatientAccess(unmasked=False, basis="network")
    if clinical and emergency_reason is not None:
        if len(emergency_reason.strip()) < MIN_EMERGENCY_REASON:
            raise Forbidden(
                f"emergency access needs a reason of at least {MIN_EMERGENCY_REASON} characters"
            )
        return PatientAccess(unmasked=True, basis="emergency")
    raise Forbidden(
        "no care relationship with this resident; a clinician may declare "
        "emergency access with a reason"
    )


def can_register_resident(principal: Principal, institution_id: int) -> bool:
    """Clinical staff and the institution's admin register residents at their own institution."""
    return principal.system or (
        principal.has(Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN)
        and principal.institution_id == institution_id
    )


def resident_scope(session: Session, principal: Principal) -> set[int] | None:
    """Institutions whose registered residents the principal may list (None: all, system only)."""
    if principal.system:
        return None
    if principal.roles <= {Role.REGULATOR, Role.AUDITOR}:
        raise Forbidden("regulators and auditors see aggregates, not person records")
    scope: set[int] = set()
    if principal.institution_id is not None:
        scope.add(principal.institution_id)
    if principal.has(Role.NETWORK_ADMIN) and principal.network_id is not None:
        scope |= network_institution_ids(session, principal.network_id)
    return scope
