"""Service periods by region (H3, GZ-C 二(二) 统一人员管理: 根据地域特点可将县域划分为山区、
半山区、平原和城区等区域，并分别确定各区域服务年限). The county profile names the regions
(`service_period_regions`); the plan leaves the years to each county, so its office sets each
region's period in months and places each member in a region. A first post at a member in a
region with a period must run it (`postings.record_posting` asks `period_of`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.workforce.models import MemberRegion, ServicePeriod
from caregrid.workforce.schemas import (
    MemberRegionIn,
    RegionOut,
    ServicePeriodIn,
    ServicePeriodsOut,
)

PURPOSE = "workforce"
REGIONS = "service_period_regions"  # H3: the profile's regions, space-separated

__all__ = ["REGIONS", "period_of", "place_member", "regions_of", "service_periods", "set_period"]


def regions_of(profile: str, on: date) -> list[str]:
    """The regions the profile names on `on`, in its order; none: it names none."""
    value = policy.get(profile).parameter(REGIONS, on)
    return str(value).split() if value else []


def _known(network: registry.Network, region: str) -> None:
    named = regions_of(network.profile, clock.today())
    if region not in named:
        reason = (
            msg("is not one of the profile's regions: {regions}", regions=", ".join(named))
            if named
            else msg("the network's profile names no regions (H3)")
        )
        raise InvalidInput([Problem("region", reason)])


def _office(session: Session, principal: Principal, code: str) -> registry.Network:
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "a county's service periods are set by its office"
    )
    return network


def _audit(
    session: Session, principal: Principal, network_id: int, action: str, **detail: object
) -> None:
    audit.record(
        session,
        principal,
        action=action,
        subject_type="network",
        subject_id=network_id,
        purpose=PURPOSE,
        detail=detail,
    )


def set_period(
    session: Session, principal: Principal, code: str, region: str, data: ServicePeriodIn
) -> ServicePeriodsOut:
    """A region's service period, set anew when the county changes it; postings recorded
    before keep the period they were checked against."""
    network = _office(session, principal, code)
    _known(network, region)
    row = session.scalar(
        select(ServicePeriod)
        .where(ServicePeriod.network_id == network.id, ServicePeriod.region == region)
        .with_for_update()
    )
    if row is None:
        row = ServicePeriod(network_id=network.id, region=region)
        session.add(row)
    row.months, row.set_by, row.set_at = data.months, principal.username, clock.now()
    session.flush()
    _audit(session, principal, network.id, "service_period.set", region=region, months=data.months)
    return _view(session, network)


def place_member(
    session: Session, principal: Principal, code: str, institution_code: str, data: MemberRegionIn
) -> ServicePeriodsOut:
    """A member placed in one of the profile's regions (moved, if it was in another)."""
    network = _office(session, principal, code)
    member = registry.get_institution(session, institution_code)
    if member is None or member.id not in registry.network_member_ids(session, network.id):
        raise InvalidInput([Problem("institution_code", "is not a member of the network")])
    _known(network, data.region)
    row = session.scalar(
        select(MemberRegion)
        .where(MemberRegion.network_id == network.id, MemberRegion.institution_id == member.id)
        .with_for_update()
    )
    if row is None:
        row = MemberRegion(network_id=network.id, institution_id=member.id)
        session.add(row)
    row.region, row.set_by, row.set_at = data.region, principal.username, clock.now()
    session.flush()
    _audit(session, principal, network.id, "member_region.set", member=member.code,
           region=data.region)  # fmt: skip
    return _view(session, network)


def _view(session: Session, network: registry.Network) -> ServicePeriodsOut:
    named = regions_of(network.profile, clock.today())
    if not named:
        return ServicePeriodsOut(regions=[], unplaced=[])
    months = {
        row.region: row.months
        for row in session.scalars(
            select(ServicePeriod).where(ServicePeriod.network_id == network.id)
        )
    }
    codes = registry.codes_by_id(session)
    placed: dict[str, list[str]] = {region: [] for region in named}
    seen = set()
    for row in session.scalars(select(MemberRegion).where(MemberRegion.network_id == network.id)):
        placed.setdefault(row.region, []).append(codes[row.institution_id])
        seen.add(row.institution_id)
    members = registry.network_member_ids(session, network.id)
    return ServicePeriodsOut(
        regions=[
            RegionOut(region=r, months=months.get(r), members=sorted(placed.get(r, [])))
            for r in named
        ],
        unplaced=sorted(codes[i] for i in members - seen),
    )


def service_periods(session: Session, principal: Principal, code: str) -> ServicePeriodsOut:
    """Each of the profile's regions with its period and members, and the members in none."""
    return _view(session, _office(session, principal, code))


def period_of(session: Session, institution_id: int) -> tuple[str, int] | None:
    """The region of the member and its service period in months, from the first of its
    networks (by id) that placed it in a region with a period; None: no period applies."""
    for network_id in sorted(registry.network_ids_of_institution(session, institution_id)):
        found = session.execute(
            select(ServicePeriod.region, ServicePeriod.months)
            .join(
                MemberRegion,
                (MemberRegion.network_id == ServicePeriod.network_id)
                & (MemberRegion.region == ServicePeriod.region),
            )
            .where(
                MemberRegion.network_id == network_id,
                MemberRegion.institution_id == institution_id,
            )
        ).first()
        if found is not None:
            return str(found[0]), int(found[1])
    return None
