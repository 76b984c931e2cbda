"""The access rules (DESIGN.md, security model), decided here and nowhere else.

Registry structure is readable by every signed-in user. Writes are scoped: the regulator plans
grids and layouts; a network admin manages its own network's institutions; an institution admin
its own institution. Personal data needs a care relationship or a reasoned emergency access;
regulators and auditors see no person records at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

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


def care_relationship(session: Session, institution_id: int, resident_id: int) -> str | None:
    """The first relationship linking an institution to a resident, or None.

    Later domains (encounter) add their relationships here.
    """
    from caregrid.familydoctor.service import has_contract_with
    from caregrid.referral.service import has_referral_between
    from caregrid.residents.service import registered_institution_id

    if registered_institution_id(session, resident_id) == institution_id:
        return "registered_at_institution"
    if has_contract_with(session, institution_id, resident_id):
        return "contract"
    if has_referral_between(session, institution_id, resident_id):
        return "referral"
    return None


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
        from caregrid.residents.service import registered_institution_id

        home = registered_institution_id(session, resident_id)
        if home in network_institution_ids(session, principal.network_id):
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
