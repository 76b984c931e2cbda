"""The access rules (DESIGN.md, security model), decided here and nowhere else.

Registry structure is readable by every signed-in user. Writes are scoped: the regulator plans
grids and layouts; a network admin manages its own network's institutions; an institution admin
its own institution. Personal data needs a care relationship or an emergency grant (bounded:
the clinician's own networks, a coded reason, a time limit, a daily cap per account); regulators
and auditors see no person records at all.

Care relationships are rows of one table (`CareRelationship`), written by the services that
own their source records through `relate` and read here: deciding access never calls back up
into the domains that depend on this module.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.models import CareRelationship, EmergencyGrant, User
from caregrid.auth.reasons import emergency_reasons
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.errors import Conflict, Forbidden, InvalidInput, Problem, TooManyAttempts
from caregrid.i18n import msg

# The free text beside an emergency reason's code, in characters (Chinese or not).
MIN_EMERGENCY_TEXT = 10
MAX_EMERGENCY_TEXT = 500
EMERGENCY_CAP_WINDOW = timedelta(hours=24)


def require_role(principal: Principal, *roles: Role) -> None:
    if not principal.has(*roles):
        raise Forbidden("needs one of the roles: {roles}", roles=", ".join(sorted(roles)))


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


def can_manage_account(session: Session, principal: Principal, institution_id: int | None) -> bool:
    """Another user's account (revoking its tokens): the commission (regulator) or the system
    any; otherwise whoever manages the account's institution (`can_manage_institution`). An
    account of no institution is the commission's alone."""
    if principal.has(Role.REGULATOR):
        return True
    return institution_id is not None and can_manage_institution(session, principal, institution_id)


# Roles an institution's administrators hand out to its own staff; the commission may grant
# every role (a network's office and its auditors hold no institution).
INSTITUTION_ROLES = frozenset({Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN})


def grantable_roles(principal: Principal) -> frozenset[Role]:
    """The roles this principal may give an account it manages (`can_manage_account`)."""
    if principal.has(Role.REGULATOR):
        return frozenset(Role)
    if principal.has(Role.INSTITUTION_ADMIN, Role.NETWORK_ADMIN):
        return INSTITUTION_ROLES
    return frozenset()


def is_network_office(principal: Principal, network_id: int) -> bool:
    """The health commission (any network) or this network's own office: who keeps a
    network's catalogs, menus and centres and sees all of its measures."""
    return principal.has(Role.REGULATOR) or (
        principal.has(Role.NETWORK_ADMIN) and principal.network_id == network_id
    )


def require_network_office(principal: Principal, network_id: int, refusal: str) -> None:
    if not is_network_office(principal, network_id):
        raise Forbidden(refusal)


def measure_scope(
    session: Session, principal: Principal, network_id: int, refusal: str
) -> int | None:
    """Whose rows of a network's measures the principal sees: None for every row (the
    commission, the network's office), else their own institution's if it is a member (J9);
    anyone else is refused."""
    if is_network_office(principal, network_id):
        return None
    member = principal.institution_id in network_institution_ids(session, network_id)
    if principal.institution_id is None or not member:
        raise Forbidden(refusal)
    return principal.institution_id


def sees_measures(session: Session, principal: Principal, network_id: int) -> bool:
    """Whether a network's cockpit and measures open for the principal at all."""
    try:
        measure_scope(session, principal, network_id, "")
    except Forbidden:
        return False
    return True


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


@dataclass(frozen=True)
class EmergencyReason:
    """A reason for emergency access: a code of the catalog and the clinician's free text."""

    code: str
    text: str


def _bad_character(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return f"character U+{ord(ch):04X} is not allowed in a reason"
    return None


def emergency_reason(
    code: str, text: str, *, fields: tuple[str, str] = ("reason_code", "reason_text")
) -> EmergencyReason:
    """A checked reason; every problem is named by its field (422)."""
    problems: list[Problem] = []
    catalog = emergency_reasons()
    code = code.strip()
    if code not in catalog:
        problems.append(
            Problem(
                fields[0],
                msg(
                    "unknown reason code {code!r}; known: {catalog}",
                    code=code,
                    catalog=", ".join(catalog),
                ),
            )
        )
    text = text.strip()
    bad = _bad_character(text)
    if bad is not None:
        problems.append(Problem(fields[1], bad))
    elif len(text) < MIN_EMERGENCY_TEXT:
        problems.append(
            Problem(
                fields[1],
                msg(
                    "must be at least {min_emergency_text} characters",
                    min_emergency_text=MIN_EMERGENCY_TEXT,
                ),
            )
        )
    elif len(text) > MAX_EMERGENCY_TEXT:
        problems.append(
            Problem(
                fields[1],
                msg(
                    "must be at most {max_emergency_text} characters",
                    max_emergency_text=MAX_EMERGENCY_TEXT,
                ),
            )
        )
    if problems:
        raise InvalidInput(problems)
    return EmergencyReason(code=code, text=text)


def active_emergency_grant(
    session: Session, principal: Principal, resident_id: int
) -> EmergencyGrant | None:
    """This account's grant on this resident in force now, if any."""
    if principal.user_id is None:
        return None
    now = clock.now()
    return session.scalar(
        select(EmergencyGrant)
        .where(
            EmergencyGrant.user_id == principal.user_id,
            EmergencyGrant.resident_id == resident_id,
            EmergencyGrant.granted_at <= now,
            EmergencyGrant.expires_at > now,
        )
        .order_by(EmergencyGrant.expires_at.desc())
        .limit(1)
    )


def _emergency_reach(session: Session, principal: Principal) -> set[int]:
    """The institutions whose residents a clinician may open in an emergency: their own and
    every member of the networks it belongs to (and of the account's network, if set)."""
    # The registry's service takes principals and checks access here, so it is read lazily.
    from caregrid.registry.service import network_peer_ids

    reach: set[int] = set()
    if principal.institution_id is not None:
        reach |= network_peer_ids(session, principal.institution_id)
    if principal.network_id is not None:
        reach |= network_institution_ids(session, principal.network_id)
    return reach


def _referral_institution_ids(session: Session, resident_id: int) -> set[int]:
    """The senders and receivers of the resident's referrals in force now."""
    return set(
        session.scalars(
            select(CareRelationship.institution_id).where(
                CareRelationship.resident_id == resident_id,
                CareRelationship.kind == Relationship.REFERRAL,
                *_in_force(clock.now()),
            )
        )
    )


def open_emergency_grant(
    session: Session, principal: Principal, resident_id: int, reason: EmergencyReason
) -> EmergencyGrant:
    """Open time-limited emergency access to a resident the principal has no care relationship
    with. The caller has checked that the resident exists and validated the reason.

    Refused (403) for anyone but a clinician or family doctor at an institution, and for a
    resident registered outside the clinician's networks with no referral in force to or from
    them; 409 while the account's earlier grant on the resident runs; 429 with Retry-After once
    the account opened `emergency_grants_per_day` grants in the last 24 hours."""
    settings = get_settings()
    if not principal.has(Role.CLINICIAN, Role.FAMILY_DOCTOR) or principal.system:
        raise Forbidden("only a clinician or family doctor may open emergency access")
    if principal.user_id is None or principal.institution_id is None:
        raise Forbidden("emergency access needs an account at an institution")
    if care_relationship(session, principal.institution_id, resident_id) is not None:
        raise Conflict("your institution has a care relationship with this resident already")
    reach = _emergency_reach(session, principal)
    homes = registered_institution_ids(session, resident_id)
    if not (homes & reach) and not (_referral_institution_ids(session, resident_id) & reach):
        raise Forbidden(
            "emergency access is limited to residents registered in your own networks or with "
            "a referral in progress to or from them; this resident is registered elsewhere"
        )
    # One account's grants are decided one at a time (the cap and the running grant are
    # read-then-write): the account's row is the lock on PostgreSQL; SQLite's write lock
    # is taken at BEGIN.
    session.scalar(select(User.id).where(User.id == principal.user_id).with_for_update())
    now = clock.now()
    if active_emergency_grant(session, principal, resident_id) is not None:
        raise Conflict("you hold an emergency grant on this resident already; it is still running")
    since = now - EMERGENCY_CAP_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(EmergencyGrant.granted_at)).where(
            EmergencyGrant.user_id == principal.user_id, EmergencyGrant.granted_at > since
        )
    ).one()
    if count >= settings.emergency_grants_per_day:
        free_at: datetime = oldest + EMERGENCY_CAP_WINDOW
        raise TooManyAttempts(
            "at most {emergency_grants_per_day} emergency grants in 24 hours per account; ask "
            "a colleague or wait",
            emergency_grants_per_day=settings.emergency_grants_per_day,
            retry_after=max(1, math.ceil((free_at - now).total_seconds())),
        )
    grant = EmergencyGrant(
        user_id=principal.user_id,
        resident_id=resident_id,
        institution_id=principal.institution_id,
        reason_code=reason.code,
        reason_text=reason.text,
        granted_at=now,
        expires_at=now + timedelta(minutes=settings.emergency_grant_minutes),
    )
    session.add(grant)
    session.flush()
    audit.record_for(
        session,
        principal,
        "emergency.grant",
        resident_id,
        purpose="emergency access",
        detail={
            "grant": grant.id,
            "institution_id": principal.institution_id,
            "reason_code": reason.code,
            "reason_text": reason.text,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


def recent_emergency_grants(session: Session, principal: Principal) -> list[EmergencyGrant]:
    """The grants opened in the last `emergency_alert_days` days, newest first (auditors)."""
    require_role(principal, Role.AUDITOR)
    since = clock.now() - timedelta(days=get_settings().emergency_alert_days)
    return list(
        session.scalars(
            select(EmergencyGrant)
            .where(EmergencyGrant.granted_at > since)
            .order_by(EmergencyGrant.granted_at.desc(), EmergencyGrant.id.desc())
        )
    )


def patient_access(
    session: Session,
    principal: Principal,
    resident_id: int,
    *,
    emergency: EmergencyReason | None = None,
) -> PatientAccess:
    """May this principal see this resident, and unmasked? Raises Forbidden when not.

    A clinician without a care relationship reads through an emergency grant in force, or
    opens one with `emergency` (a checked reason) on the way."""
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
    if clinical:
        if active_emergency_grant(session, principal, resident_id) is not None:
            return PatientAccess(unmasked=True, basis="emergency")
        if emergency is not None:
            open_emergency_grant(session, principal, resident_id, emergency)
            return PatientAccess(unmasked=True, basis="emergency")
    raise Forbidden(
        "no care relationship with this resident; a clinician may open emergency access "
        "with a coded reason (POST /api/residents/{id}/emergency-access)"
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
