"""The reserved share an institution opens (C1, C2) and who it is for: the network's member
units, booking through clinical or institution accounts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Forbidden
from caregrid.policy import service as policy
from caregrid.policy.schema import Profile
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level, NetworkRole

SLOT_SHARE = "reserved_outpatient_slot_share"
BED_SHARE = "reserved_bed_share"


@dataclass(frozen=True)
class Quota:
    """The reserved share an institution must open (C1, C2), from its network's profile."""

    network_id: int | None
    profile: Profile | None
    share: Fraction
    requirement: str | None

    def required(self, total: int) -> int:
        """Reserved units needed so that reserved/total is at least the share (exactly)."""
        return math.ceil(self.share * total)


def quota(session: Session, institution_id: int, key: str, when: datetime) -> Quota:
    """The share of `key` the institution reserves on the local date of `when`."""
    on = clock.local(when).date()
    for place in registry.placements(session, institution_id):
        profile = policy.get(place.profile)
        entry = profile.parameters.get(key)
        if entry is None or not _bound(session, institution_id, place, profile, on):
            continue
        share = entry.ratio_at(on)
        if share is not None:
            return Quota(place.network_id, profile, share, entry.requirement)
    return Quota(None, None, Fraction(0), None)


def reserves(session: Session, institution_id: int, network_code: str, on: date) -> bool:
    """Whether the network's profile asks the institution to reserve slots and beds."""
    for place in registry.placements(session, institution_id):
        if place.network_code == network_code:
            return _bound(session, institution_id, place, policy.get(place.profile), on)
    return False


def _bound(
    session: Session, institution_id: int, place: registry.Placement, profile: Profile, on: date
) -> bool:
    """C1 binds the network's lead, or every secondary-or-higher hospital where the profile
    says `reserved_share_applies_to: secondary_and_above` (GZ-U 三(三)9)."""
    if place.role == NetworkRole.LEAD:
        return True
    if (profile.parameter("reserved_share_applies_to", on) or "lead") != "secondary_and_above":
        return False
    institution = registry.get_institution_by_id(session, institution_id)
    return institution is not None and institution.level in (Level.SECONDARY, Level.TERTIARY)


def _spread(total: int, reserved: int) -> list[bool]:
    """Which positions are reserved: `reserved` of `total`, spread evenly over the session."""
    return [(i + 1) * reserved // total > i * reserved // total for i in range(total)]


def is_member_unit(session: Session, booker_institution_id: int | None, host_id: int) -> bool:
    """A member unit of one of the host's networks (not the host itself): who reserved slots
    and beds are for (C1)."""
    if booker_institution_id is None or booker_institution_id == host_id:
        return False
    return registry.shares_network(session, booker_institution_id, host_id)


def _require_booker(principal: Principal) -> int:
    if not principal.has(Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN):
        raise Forbidden("booking needs a clinician, family-doctor or institution-admin account")
    if principal.institution_id is None and not principal.system:
        raise Forbidden("booking needs an account that belongs to an institution")
    return principal.institution_id or 0
