"""Structural checks of each network against its profile: A1-A4 and A9.

Each check gives pass, fail, not-evaluable (the data cannot decide: a level the source does not
state, members named only as a class) or not-applicable (the profile sets no such rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caregrid.errors import NotFound
from caregrid.policy import service as policy
from caregrid.policy.schema import InstitutionMatch, Profile
from caregrid.registry.models import City, Division, Grid, Institution, Membership, Network
from caregrid.registry.vocab import Category, Level, NetworkRole


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_EVALUABLE = "not-evaluable"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class CheckResult:
    network: str
    requirement: str
    status: Status
    detail: str
    profile: str

    def as_dict(self) -> dict[str, str]:
        out = asdict(self)
        out["status"] = self.status.value
        return out


Parents = dict[str, str | None]
Check = Callable[[Network, Profile, Parents], tuple[Status, str]]


def _name(inst: Institution) -> str:
    return f"{inst.name_zh} ({inst.code})"


def check_a1(network: Network, profile: Profile, parents: Parents) -> tuple[Status, str]:
    """A1: one network per grid, and the city's grids cover its area without overlap."""
    rule = profile.structure.one_network_per_grid
    if rule is None or not rule.value:
        return Status.NOT_APPLICABLE, f"profile {profile.name} sets no A1 rule"
    same_kind = [n.code for n in network.grid.networks if n.kind == network.kind]
    if len(same_kind) != 1:
        return Status.FAIL, (
            f"grid {network.grid.code} has {len(same_kind)} networks of kind "
            f"{network.kind}: {', '.join(sorted(same_kind))}"
        )
    city = network.grid.city

    def lineage(code: str) -> list[str]:
        chain = []
        current: str | None = code
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        return chain

    owner: dict[str, str] = {}
    for grid in city.grids:
        for div in grid.divisions:
            if div.code in owner and owner[div.code] != grid.code:
                return (
                    Status.FAIL,
                    f"division {div.code} is in grids {owner[div.code]} and {grid.code}",
                )
            owner[div.code] = grid.code
    for code, grid_code in owner.items():
        for ancestor in lineage(code)[1:]:
            if ancestor in owner and owner[ancestor] != grid_code:
                return Status.FAIL, (
                    f"division {code} (grid {grid_code}) lies inside {ancestor} "
                    f"(grid {owner[ancestor]})"
                )
    children: dict[str, list[str]] = {}
    for code, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(code)

    def gaps(code: str) -> list[str]:
        """The divisions under `code` that no grid covers (the smallest ones declared)."""
        if any(c in owner for c in lineage(code)):
            return []
        kids = children.get(code, [])
        if not kids:
            return [code]
        return [gap for kid in sorted(kids) for gap in gaps(kid)]

    missing = [gap for a in city.area for gap in gaps(a.division_code)]
    if missing:
        return Status.FAIL, f"area of {city.code} not covered by any grid: {', '.join(missing)}"
    return Status.PASS, (
        f"grid {network.grid.code} has exactly this network; {len(city.grids)} grids "
        f"cover the {len(city.area)} declared area divisions of {city.code} once"
    )


def check_a2(network: Network, profile: Profile, parents: Parents) -> tuple[Status, str]:
    """A2: the lead is a tertiary general (or TCM) hospital, as the profile says."""
    rule = profile.structure.lead
    if rule is None:
        return Status.NOT_APPLICABLE, f"profile {profile.name} sets no A2 rule"
    leads = [m.institution for m in network.memberships if m.role == NetworkRole.LEAD]
    if not leads:
        if any(c.role == NetworkRole.LEAD for c in network.member_classes):
            return Status.NOT_EVALUABLE, "the source names the lead only as a class"
        return Status.FAIL, "the network has no lead"
    problems, unknown = [], []
    for lead in leads:
        if rule.levels and lead.level == Level.UNKNOWN:
            unknown.append(f"{_name(lead)}: level not stated by the source")
        elif rule.levels and lead.level not in rule.levels:
            problems.append(f"{_name(lead)} is {lead.level}, needs {'/'.join(rule.levels)}")
        if rule.categories and lead.category == Category.UNKNOWN:
            unknown.append(f"{_name(lead)}: category not stated by the source")
        elif rule.categories and lead.category not in rule.categories:
            problems.append(
                f"{_name(lead)} is a {lead.category}, needs {'/'.join(rule.categories)}"
            )
    if problems:
        return Status.FAIL, "; ".join(problems)
    if unknown:
        return Status.NOT_EVALUABLE, "; ".join(unknown)
    return Status.PASS, "lead " + ", ".join(f"{_name(i)} {i.level} {i.category}" for i in leads)


def _matches(inst: Institution, match: InstitutionMatch) -> bool | None:
    """True/False when decidable, None when a needed attribute is unknown."""
    verdicts = []
    for wanted, have in ((match.level, inst.level), (match.category, inst.category)):
        if wanted is None:
            continue
        verdicts.append(None if have == "unknown" else have == wanted)
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _class_may_match(network: Network, wanted: list[InstitutionMatch]) -> bool:
    """Could a member named only as a class satisfy one of `wanted`? (Its level is never known.)"""
    for member_class in network.member_classes:
        if member_class.role != NetworkRole.MEMBER:
            continue
        categories = member_class.categories.split()
        if any(m.category is None or m.category in categories for m in wanted):
            return True
    return False


def check_a4(network: Network, profile: Profile, parents: Parents) -> tuple[Status, str]:
    """A4: for each member requirement, at least one named member matches."""
    rules = profile.structure.member_requirements
    if not rules:
        return Status.NOT_APPLICABLE, f"profile {profile.name} sets no A4 rule"
    members = [m.institution for m in network.memberships if m.role == NetworkRole.MEMBER]
    worst = Status.PASS
    details = []
    for rule in rules:
        hits = [i for i in members if any(_matches(i, m) for m in rule.any_of)]
        unsure = [i for i in members if any(_matches(i, m) is None for m in rule.any_of)]
        if hits:
            details.append(f"{rule.label_en}: {', '.join(_name(i) for i in hits[:3])}")
        elif unsure or _class_may_match(network, rule.any_of):
            why = [f"{_name(i)} has an unstated level or category" for i in unsure[:3]]
            if _class_may_match(network, rule.any_of):
                why.append("members named only as a class may match")
            details.append(f"{rule.label_en}: undecidable ({'; '.join(why)})")
            worst = Status.FAIL if worst == Status.FAIL else Status.NOT_EVALUABLE
        else:
            details.append(f"{rule.label_en}: no named member matches")
            worst = Status.FAIL
    return worst, "; ".join(details)


def check_a3(network: Network, profile: Profile, parents: Parents) -> tuple[Status, str]:
    """A3: the city plans at least the profile's minimum number of grids for its pilot level."""
    rule = profile.structure.min_grids
    if rule is None:
        return Status.NOT_APPLICABLE, f"profile {profile.name} sets no A3 rule"
    city: City = network.grid.city
    count = len(city.grids)
    if city.pilot_level == "provincial":
        needed = [rule.value["provincial_pilot"]]
    elif city.pilot_level == "other":
        needed = [rule.value["other"]]
    else:
        needed = sorted(set(rule.value.values()))
    if count >= max(needed):
        return Status.PASS, f"{city.code} plans {count} grids (needs at least {max(needed)})"
    if count < min(needed):
        return Status.FAIL, f"{city.code} plans {count} grids (needs at least {min(needed)})"
    return Status.NOT_EVALUABLE, (
        f"{city.code} plans {count} grids; the minimum depends on its "
        "pilot level, which the source does not state"
    )


def check_a9(network: Network, profile: Profile, parents: Parents) -> tuple[Status, str]:
    """A9: at least N township/community centres designated for secondary-level capacity."""
    rule = profile.structure.key_construction_min
    if rule is None:
        return Status.NOT_APPLICABLE, f"profile {profile.name} sets no A9 rule"
    chosen = [m.institution for m in network.memberships if m.key_construction]
    if not chosen:
        return (
            Status.NOT_EVALUABLE,
            "the layout records no designated centres (the source names none)",
        )
    status = Status.PASS if len(chosen) >= rule.value else Status.FAIL
    return status, f"{len(chosen)} designated (needs at least {rule.value})"


CHECKS: dict[str, Check] = {
    "A1": check_a1,
    "A2": check_a2,
    "A3": check_a3,
    "A4": check_a4,
    "A9": check_a9,
}


def _networks(session: Session, code: str | None) -> Iterable[Network]:
    query = (
        select(Network)
        .order_by(Network.code)
        .options(
            selectinload(Network.memberships).selectinload(Membership.institution),
            selectinload(Network.member_classes),
            selectinload(Network.grid).selectinload(Grid.city),
        )
    )
    if code is not None:
        query = query.where(Network.code == code)
    found = session.scalars(query).all()
    if code is not None and not found:
        raise NotFound(f"no network with code {code!r}")
    return found


def run(session: Session, *, network: str | None = None) -> list[CheckResult]:
    """Evaluate every structural rule of each network's profile."""
    results = []
    rows = session.execute(select(Division.code, Division.parent_code))
    parents: Parents = {code: parent for code, parent in rows}
    for net in _networks(session, network):
        profile = policy.get(net.profile)
        for requirement, check in CHECKS.items():
            status, detail = check(net, profile, parents)
            results.append(CheckResult(net.code, requirement, status, detail, profile.name))
    return results
