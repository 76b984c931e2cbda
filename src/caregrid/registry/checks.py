"""Structural checks of each network against its profile: A1-A4 and A9.

Each check gives pass, fail, not-evaluable (the data cannot decide: a level the source does not
state, members named only as a class) or not-applicable (the profile sets no such rule). Details
are message templates with parameters, so pages can show them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caregrid.errors import NotFound
from caregrid.i18n import Message, msg
from caregrid.policy import service as policy
from caregrid.policy.schema import InstitutionMatch, Profile
from caregrid.registry.models import Division, Grid, Institution, Membership, Network
from caregrid.registry.vocab import Category, Level, NetworkRole


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_EVALUABLE = "not-evaluable"
    NOT_APPLICABLE = "not-applicable"


Finding = tuple[Status, list[Message]]


@dataclass(frozen=True)
class CheckResult:
    network: str
    requirement: str
    status: Status
    messages: list[Message]
    profile: str

    def render(self, translate: Callable[[str], str] = str) -> str:
        return "; ".join(m.render(translate) for m in self.messages)

    @property
    def detail(self) -> str:
        return self.render()

    def as_dict(self) -> dict[str, str]:
        return {
            "network": self.network,
            "requirement": self.requirement,
            "status": self.status.value,
            "detail": self.detail,
            "profile": self.profile,
        }


Parents = dict[str, str | None]
Check = Callable[[Network, Profile, Parents], Finding]


def _name(inst: Institution) -> str:
    return f"{inst.name_zh} ({inst.code})"


def _names(insts: Iterable[Institution]) -> str:
    return ", ".join(_name(i) for i in insts)


def _not_applicable(profile: Profile, requirement: str) -> Finding:
    return Status.NOT_APPLICABLE, [
        msg(
            "profile {profile} sets no {requirement} rule",
            profile=profile.name,
            requirement=requirement,
        )
    ]


def check_a1(network: Network, profile: Profile, parents: Parents) -> Finding:
    """A1: one network per grid, and the city's grids cover its area without overlap."""
    rule = profile.structure.one_network_per_grid
    if rule is None or not rule.value:
        return _not_applicable(profile, "A1")
    same_kind = sorted(n.code for n in network.grid.networks if n.kind == network.kind)
    if len(same_kind) != 1:
        return Status.FAIL, [
            msg(
                "grid {grid} has {count} networks of kind {kind}: {codes}",
                grid=network.grid.code,
                count=len(same_kind),
                kind=network.kind,
                codes=", ".join(same_kind),
            )
        ]
    city = network.grid.city

    def lineage(code: str) -> list[str]:
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        return chain

    owner: dict[str, str] = {}
    for grid in city.grids:
        for div in grid.divisions:
            if div.code in owner and owner[div.code] != grid.code:
                return Status.FAIL, [
                    msg(
                        "division {division} is in grids {first} and {second}",
                        division=div.code,
                        first=owner[div.code],
                        second=grid.code,
                    )
                ]
            owner[div.code] = grid.code
    for code, grid_code in owner.items():
        for ancestor in lineage(code)[1:]:
            if ancestor in owner and owner[ancestor] != grid_code:
                return Status.FAIL, [
                    msg(
                        "division {division} (grid {grid}) lies inside {ancestor} (grid {other})",
                        division=code,
                        grid=grid_code,
                        ancestor=ancestor,
                        other=owner[ancestor],
                    )
                ]
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
        return Status.FAIL, [
            msg(
                "area of {city} not covered by any grid: {divisions}",
                city=city.code,
                divisions=", ".join(missing),
            )
        ]
    return Status.PASS, [
        msg(
            "grid {grid} has exactly this network; {grids} grids cover the "
            "{areas} declared area divisions of {city} once",
            grid=network.grid.code,
            grids=len(city.grids),
            areas=len(city.area),
            city=city.code,
        )
    ]


def check_a2(network: Network, profile: Profile, parents: Parents) -> Finding:
    """A2: the lead is a tertiary general (or TCM) hospital, as the profile says."""
    rule = profile.structure.lead
    if rule is None:
        return _not_applicable(profile, "A2")
    leads = [m.institution for m in network.memberships if m.role == NetworkRole.LEAD]
    if not leads:
        if any(c.role == NetworkRole.LEAD for c in network.member_classes):
            return Status.NOT_EVALUABLE, [msg("the source names the lead only as a class")]
        return Status.FAIL, [msg("the network has no lead")]
    problems: list[Message] = []
    unknown: list[Message] = []
    for lead in leads:
        if rule.levels and lead.level == Level.UNKNOWN:
            unknown.append(msg("{name}: level not stated by the source", name=_name(lead)))
        elif rule.levels and lead.level not in rule.levels:
            problems.append(
                msg(
                    "{name} is {level}, needs {levels}",
                    name=_name(lead),
                    level=lead.level,
                    levels="/".join(rule.levels),
                )
            )
        if rule.categories and lead.category == Category.UNKNOWN:
            unknown.append(msg("{name}: category not stated by the source", name=_name(lead)))
        elif rule.categories and lead.category not in rule.categories:
            problems.append(
                msg(
                    "{name} is a {category}, needs {categories}",
                    name=_name(lead),
                    category=lead.category,
                    categories="/".join(rule.categories),
                )
            )
    if problems:
        return Status.FAIL, problems
    if unknown:
        return Status.NOT_EVALUABLE, unknown
    return Status.PASS, [
        msg("lead {name} {level} {category}", name=_name(i), level=i.level, category=i.category)
        for i in leads
    ]


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


def check_a4(network: Network, profile: Profile, parents: Parents) -> Finding:
    """A4: for each member requirement, at least one named member matches."""
    rules = profile.structure.member_requirements
    if not rules:
        return _not_applicable(profile, "A4")
    members = [m.institution for m in network.memberships if m.role == NetworkRole.MEMBER]
    worst = Status.PASS
    details: list[Message] = []
    for rule in rules:
        labels = {"label_en": rule.label_en, "label_zh": rule.label_zh}
        hits = [i for i in members if any(_matches(i, m) for m in rule.any_of)]
        unsure = [i for i in members if any(_matches(i, m) is None for m in rule.any_of)]
        if hits:
            details.append(msg("{label_en}: {names}", names=_names(hits[:3]), **labels))
            continue
        worst = Status.FAIL if worst == Status.FAIL else Status.NOT_EVALUABLE
        if unsure:
            details.append(
                msg(
                    "{label_en}: undecidable, level or category not stated for {names}",
                    names=_names(unsure[:3]),
                    **labels,
                )
            )
        elif _class_may_match(network, rule.any_of):
            details.append(
                msg("{label_en}: undecidable, members named only as a class may match", **labels)
            )
        else:
            details.append(msg("{label_en}: no named member matches", **labels))
            worst = Status.FAIL
    return worst, details


def check_a3(network: Network, profile: Profile, parents: Parents) -> Finding:
    """A3: the city plans at least the profile's minimum number of grids for its pilot level."""
    rule = profile.structure.min_grids
    if rule is None:
        return _not_applicable(profile, "A3")
    city = network.grid.city
    count = len(city.grids)
    if city.pilot_level == "provincial":
        needed = [rule.value["provincial_pilot"]]
    elif city.pilot_level == "other":
        needed = [rule.value["other"]]
    else:
        needed = sorted(set(rule.value.values()))

    def planned(needed: int) -> list[Message]:
        return [
            msg(
                "{city} plans {count} grids (needs at least {needed})",
                city=city.code,
                count=count,
                needed=needed,
            )
        ]

    if count >= max(needed):
        return Status.PASS, planned(max(needed))
    if count < min(needed):
        return Status.FAIL, planned(min(needed))
    return Status.NOT_EVALUABLE, [
        msg(
            "{city} plans {count} grids; the minimum depends on its "
            "pilot level, which the source does not state",
            city=city.code,
            count=count,
        )
    ]


def check_a9(network: Network, profile: Profile, parents: Parents) -> Finding:
    """A9: at least N township/community centres designated for secondary-level capacity."""
    rule = profile.structure.key_construction_min
    if rule is None:
        return _not_applicable(profile, "A9")
    chosen = [m.institution for m in network.memberships if m.key_construction]
    if not chosen:
        return Status.NOT_EVALUABLE, [
            msg("the layout records no designated centres (the source names none)")
        ]
    status = Status.PASS if len(chosen) >= rule.value else Status.FAIL
    return status, [
        msg("{count} designated (needs at least {needed})", count=len(chosen), needed=rule.value)
    ]


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
        raise NotFound("no network with code {code!r}", code=code)
    return found


def run(session: Session, *, network: str | None = None) -> list[CheckResult]:
    """Evaluate every structural rule of each network's profile."""
    results = []
    rows = session.execute(select(Division.code, Division.parent_code))
    parents: Parents = {code: parent for code, parent in rows}
    for net in _networks(session, network):
        profile = policy.get(net.profile)
        for requirement, check in CHECKS.items():
            status, messages = check(net, profile, parents)
            results.append(CheckResult(net.code, requirement, status, messages, profile.name))
    return results
