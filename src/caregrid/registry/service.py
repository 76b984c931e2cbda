"""Registry reads for pages and the API, and the scoped writes (departments, practitioners).

Other packages read the registry only through this module. The table classes named in its
signatures are re-exported below as types, for annotations; other packages do not query
them directly but ask for what they need with a function here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from caregrid import yamlio
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.registry import importer
from caregrid.registry.layout import LayoutFile
from caregrid.registry.models import (
    City,
    CrossGridService,
    Department,
    Division,
    Grid,
    Institution,
    Membership,
    Network,
    Practitioner,
    grid_division,
)
from caregrid.registry.vocab import TIER_ORDER, NetworkRole, Tier, TitleLevel

# The table classes other packages may name in annotations (never query); the functions below
# are public as well.
__all__ = [
    "City",
    "CrossGridService",
    "Department",
    "Division",
    "Grid",
    "Institution",
    "LayoutFile",
    "Membership",
    "Network",
    "Practitioner",
]


def get_division(session: Session, code: str) -> Division | None:
    return session.get(Division, code)


def get_institution(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def get_institution_by_id(session: Session, institution_id: int) -> Institution | None:
    return session.get(Institution, institution_id)


def require_institution(session: Session, code: str) -> Institution:
    found = get_institution(session, code)
    if found is None:
        raise NotFound("no institution with code {code!r}", code=code)
    return found


def get_network(session: Session, code: str) -> Network:
    network = session.scalar(
        select(Network)
        .where(Network.code == code)
        .options(
            selectinload(Network.memberships).selectinload(Membership.institution),
            selectinload(Network.member_classes),
            selectinload(Network.grid).selectinload(Grid.city),
        )
    )
    if network is None:
        raise NotFound("no network with code {code!r}", code=code)
    return network


def grid_code_for_division(session: Session, code: str) -> str | None:
    """The grid covering a division, found by walking up the division tree."""
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current not in seen:
        seen.add(current)
        grid = session.scalar(
            select(Grid.code).join(Grid.divisions).where(Division.code == current).limit(1)
        )
        if grid is not None:
            return grid
        current = session.scalar(select(Division.parent_code).where(Division.code == current))
    return None


def cities(session: Session) -> list[City]:
    return list(
        session.scalars(
            select(City)
            .order_by(City.code)
            .options(
                selectinload(City.grids).selectinload(Grid.networks),
                selectinload(City.grids).selectinload(Grid.divisions),
            )
        )
    )


def networks(session: Session) -> list[Network]:
    return list(
        session.scalars(
            select(Network)
            .order_by(Network.code)
            .options(selectinload(Network.grid).selectinload(Grid.city))
        )
    )


def member_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Membership.network_id, func.count()).group_by(Membership.network_id)
    )
    return {network_id: count for network_id, count in rows}


@dataclass(frozen=True)
class TierGroup:
    tier: str
    role: str
    members: list[Membership]


def members_by_tier(network: Network) -> list[TierGroup]:
    """Members grouped lead first, then by tier (city → village), in source order inside a group."""
    role_order = [NetworkRole.LEAD, NetworkRole.MEMBER, NetworkRole.COLLABORATOR]
    groups: dict[tuple[str, str], list[Membership]] = {}
    for m in sorted(network.memberships, key=lambda m: m.position):
        groups.setdefault((m.role, m.tier), []).append(m)
    ordered = sorted(
        groups.items(),
        key=lambda kv: (role_order.index(NetworkRole(kv[0][0])), TIER_ORDER.index(Tier(kv[0][1]))),
    )
    return [TierGroup(tier=tier, role=role, members=ms) for (role, tier), ms in ordered]


def cross_grid_services(session: Session, network_id: int | None = None) -> list[CrossGridService]:
    query = (
        select(CrossGridService)
        .order_by(CrossGridService.code)
        .options(
            selectinload(CrossGridService.institutions),
            selectinload(CrossGridService.networks),
            selectinload(CrossGridService.lead),
        )
    )
    if network_id is not None:
        query = query.where(CrossGridService.networks.any(Network.id == network_id))
    return list(session.scalars(query))


def institution_detail(session: Session, code: str) -> Institution:
    inst = session.scalar(
        select(Institution)
        .where(Institution.code == code)
        .options(
            selectinload(Institution.memberships).selectinload(Membership.network),
            selectinload(Institution.division),
            selectinload(Institution.parent),
        )
    )
    if inst is None:
        raise NotFound("no institution with code {code!r}", code=code)
    return inst


def departments(session: Session, institution_id: int) -> list[Department]:
    return list(
        session.scalars(
            select(Department)
            .where(Department.institution_id == institution_id)
            .order_by(Department.code)
        )
    )


def practitioners(session: Session, institution_id: int) -> list[Practitioner]:
    """Practitioners based at the institution or practising there (H6)."""
    return list(
        session.scalars(
            select(Practitioner)
            .where(
                (Practitioner.home_institution_id == institution_id)
                | Practitioner.sites.any(Institution.id == institution_id)
            )
            .order_by(Practitioner.code)
            .options(selectinload(Practitioner.sites), selectinload(Practitioner.home_institution))
        )
    )


def create_department(
    session: Session,
    principal: Principal,
    *,
    institution_code: str,
    code: str,
    name_zh: str,
    name_en: str | None = None,
    specialty: str | None = None,
) -> Department:
    inst = require_institution(session, institution_code)
    access.require_manage_institution(session, principal, inst.id)
    if (
        session.scalar(
            select(Department.id).where(
                Department.institution_id == inst.id, Department.code == code
            )
        )
        is not None
    ):
        raise Conflict(
            "{institution_code} already has a department {code!r}",
            institution_code=institution_code,
            code=code,
        )
    dept = Department(
        institution_id=inst.id, code=code, name_zh=name_zh, name_en=name_en, specialty=specialty
    )
    session.add(dept)
    session.flush()
    audit.record(
        session,
        principal,
        action="department.create",
        subject_type="department",
        subject_id=dept.id,
        purpose="registry maintenance",
        detail={"institution": inst.code, "code": code},
    )
    return dept


def create_practitioner(
    session: Session,
    principal: Principal,
    *,
    code: str,
    name: str,
    title_level: str,
    home_institution_code: str,
    specialty: str | None = None,
    site_codes: list[str] | None = None,
) -> Practitioner:
    """Register a practitioner; extra practice sites must lie in a network of the home (H6)."""
    problems = []
    if title_level not in {t.value for t in TitleLevel}:
        problems.append(
            Problem(
                "title_level", msg("unknown title level {title_level!r}", title_level=title_level)
            )
        )
    home = get_institution(session, home_institution_code)
    if home is None:
        problems.append(
            Problem(
                "home_institution_code",
                msg(
                    "unknown institution {home_institution_code!r}",
                    home_institution_code=home_institution_code,
                ),
            )
        )
    sites = []
    for i, site_code in enumerate(site_codes or []):
        site = get_institution(session, site_code)
        if site is None:
            problems.append(
                Problem(
                    f"site_codes[{i}]",
                    msg("unknown institution {site_code!r}", site_code=site_code),
                )
            )
        elif home is not None and not shares_network(session, home.id, site.id):
            problems.append(
                Problem(
                    f"site_codes[{i}]",
                    msg(
                        "{site_code} is not in a network of {home_institution_code}; "
                        "multi-site practice without filing holds inside the network only (H6)",
                        site_code=site_code,
                        home_institution_code=home_institution_code,
                    ),
                )
            )
        else:
            sites.append(site)
    if problems:
        raise InvalidInput(problems)
    assert home is not None
    access.require_manage_institution(session, principal, home.id)
    if session.scalar(select(Practitioner.id).where(Practitioner.code == code)) is not None:
        raise Conflict("practitioner code {code!r} is taken", code=code)
    person = Practitioner(
        code=code,
        name=name,
        title_level=title_level,
        specialty=specialty,
        home_institution_id=home.id,
        sites=sites,
    )
    session.add(person)
    session.flush()
    audit.record(
        session,
        principal,
        action="practitioner.create",
        subject_type="practitioner",
        subject_id=person.id,
        purpose="registry maintenance",
        detail={"home": home.code, "sites": [s.code for s in sites]},
    )
    return person


def shares_network(session: Session, first_id: int, second_id: int) -> bool:
    mine = select(Membership.network_id).where(Membership.institution_id == first_id)
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.institution_id == second_id, Membership.network_id.in_(mine))
        )
        != 0
    )


def peer_departments(session: Session, institution_id: int) -> list[tuple[Institution, Department]]:
    """Departments of the other institutions in the networks the institution belongs to: whom
    its staff can ask for a teleconsultation (D4)."""
    mine = select(Membership.network_id).where(Membership.institution_id == institution_id)
    peers = select(Membership.institution_id).where(Membership.network_id.in_(mine))
    rows = session.execute(
        select(Institution, Department)
        .join(Department, Department.institution_id == Institution.id)
        .where(Institution.id.in_(peers), Institution.id != institution_id)
        .order_by(Institution.code, Department.code)
    )
    return [(inst, dept) for inst, dept in rows]


@dataclass(frozen=True)
class Placement:
    """An institution's place in one network: which network, profile, role and tier."""

    network_id: int
    network_code: str
    profile: str
    role: str
    tier: str


def placements(session: Session, institution_id: int) -> list[Placement]:
    """The networks an institution belongs to, those it leads first."""
    rows = session.execute(
        select(Membership, Network)
        .join(Network, Network.id == Membership.network_id)
        .where(Membership.institution_id == institution_id)
        .order_by(Membership.role != NetworkRole.LEAD.value, Network.code)
    ).all()
    return [
        Placement(network.id, network.code, network.profile, membership.role, membership.tier)
        for membership, network in rows
    ]


def get_department(session: Session, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound("no department with id {department_id}", department_id=department_id)
    return department


def get_network_by_id(session: Session, network_id: int) -> Network:
    network = session.get(Network, network_id)
    if network is None:
        raise NotFound("no network with id {network_id}", network_id=network_id)
    return network


def get_practitioner(session: Session, code: str) -> Practitioner | None:
    return session.scalar(select(Practitioner).where(Practitioner.code == code))


def get_practitioner_by_id(session: Session, practitioner_id: int) -> Practitioner:
    person = session.get(Practitioner, practitioner_id)
    if person is None:
        raise NotFound("no practitioner with id {practitioner_id}", practitioner_id=practitioner_id)
    return person


def lead_of(session: Session, network_id: int) -> Institution | None:
    """The network's (first) lead institution."""
    return session.scalar(
        select(Institution)
        .join(Membership, Membership.institution_id == Institution.id)
        .where(Membership.network_id == network_id, Membership.role == NetworkRole.LEAD.value)
        .order_by(Membership.position, Institution.code)
        .limit(1)
    )


def province_of(session: Session, institution: Institution) -> str | None:
    """The province of the institution's city, as the layout names it."""
    return session.scalar(select(City.province_zh).where(City.id == institution.city_id))


def network_member_ids(session: Session, network_id: int) -> set[int]:
    """Ids of the institutions that are members of the network."""
    rows = session.scalars(
        select(Membership.institution_id).where(Membership.network_id == network_id)
    )
    return set(rows)


def network_ids_of(session: Session, principal: Principal) -> set[int]:
    """The networks a user works in: their office's, or those their institution belongs to."""
    found = {principal.network_id} if principal.network_id is not None else set()
    if principal.institution_id is not None:
        found.update(network_ids_of_institution(session, principal.institution_id))
    return found


def network_ids_of_institution(session: Session, institution_id: int) -> set[int]:
    """The networks the institution is a member of (Jinhua's Central Hospital leads two)."""
    return set(
        session.scalars(
            select(Membership.network_id).where(Membership.institution_id == institution_id)
        )
    )


def network_peer_ids(session: Session, institution_id: int) -> set[int]:
    """The institution and every member of the networks it belongs to."""
    mine = select(Membership.network_id).where(Membership.institution_id == institution_id)
    rows = session.scalars(select(Membership.institution_id).where(Membership.network_id.in_(mine)))
    return {institution_id, *rows}


def institution_codes(session: Session) -> set[str]:
    """Every institution code in the registry."""
    return set(session.scalars(select(Institution.code)))


def home_institution_ids(session: Session, practitioner_ids: list[int]) -> set[int]:
    """The home institutions of these practitioners."""
    rows = session.scalars(
        select(Practitioner.home_institution_id).where(Practitioner.id.in_(practitioner_ids))
    )
    return set(rows)


def lock_practitioner(session: Session, practitioner_id: int) -> None:
    """Lock the practitioner's row until the transaction ends, to serialise work per person
    (two signings cannot both take a doctor's last panel place)."""
    session.scalar(
        select(Practitioner.id).where(Practitioner.id == practitioner_id).with_for_update()
    )


def lock_institution(session: Session, institution_id: int) -> None:
    """Lock the institution's row until the transaction ends, to serialise records kept per
    member (two offices cannot both name it a key member for the same days)."""
    session.scalar(select(Institution.id).where(Institution.id == institution_id).with_for_update())


def set_title_level(session: Session, practitioner_id: int, title_level: TitleLevel) -> None:
    """A practitioner's title after a promotion the workforce rules have let through (H4)."""
    get_practitioner_by_id(session, practitioner_id).title_level = title_level.value
    session.flush()


# --- the registry as plain codes, for the indicator engines ----------------------------------


def institution_levels(session: Session) -> dict[str, str]:
    """Institution code -> its level."""
    rows = session.execute(select(Institution.code, Institution.level))
    return {code: level for code, level in rows}


def network_ids_by_institution(session: Session) -> dict[int, set[int]]:
    """For every member institution, the networks it belongs to (one read of memberships)."""
    found: dict[int, set[int]] = {}
    for institution_id, network_id in session.execute(
        select(Membership.institution_id, Membership.network_id)
    ):
        found.setdefault(institution_id, set()).add(network_id)
    return found


def membership_codes(session: Session) -> list[tuple[str, str]]:
    """(institution code, network code) for every membership."""
    rows = session.execute(
        select(Institution.code, Network.code)
        .join(Membership, Membership.institution_id == Institution.id)
        .join(Network, Network.id == Membership.network_id)
    )
    return [(code, network) for code, network in rows]


def network_division_codes(session: Session) -> list[tuple[str, str]]:
    """(network code, division code) for every division of each network's grid."""
    rows = session.execute(
        select(Network.code, grid_division.c.division_code).join(
            grid_division, grid_division.c.grid_id == Network.grid_id
        )
    )
    return [(network, division) for network, division in rows]


def division_parents(session: Session) -> dict[str, str | None]:
    """Division code -> its parent's code."""
    rows = session.execute(select(Division.code, Division.parent_code))
    return {code: parent for code, parent in rows}


def institution_city_codes(session: Session) -> dict[str, str]:
    """Institution code -> its city's code."""
    rows = session.execute(
        select(Institution.code, City.code).join(City, City.id == Institution.city_id)
    )
    return {code: city for code, city in rows}


def network_city_codes(session: Session) -> dict[str, str]:
    """Network code -> its city's code."""
    rows = session.execute(
        select(Network.code, City.code)
        .join(Grid, Grid.id == Network.grid_id)
        .join(City, City.id == Grid.city_id)
    )
    return {network: city for network, city in rows}


def institution_names(session: Session) -> dict[str, str]:
    """Every institution's Chinese name by its code, for pages that list several."""
    return {
        code: name for code, name in session.execute(select(Institution.code, Institution.name_zh))
    }


def codes_by_id(session: Session) -> dict[int, str]:
    return {i: c for i, c in session.execute(select(Institution.id, Institution.code))}


def department_codes(session: Session) -> dict[int, str]:
    return {i: c for i, c in session.execute(select(Department.id, Department.code))}


def layout(session: Session, city_code: str) -> LayoutFile:
    """The city's layout as stored, in the file format (for the planner and exports)."""
    return importer.export(session, city_code)


def replace_layout(
    session: Session, actor: Principal, new: LayoutFile, *, purpose: str
) -> importer.ImportReport:
    """Check a whole layout as a file would be checked, then write it as the city's next
    version: all or nothing, audited (importer.apply)."""
    located = yamlio.load_text(importer.to_yaml(new), f"{new.city.code} layout")
    return importer.apply(session, importer.check(located), actor=actor, purpose=purpose)


def layout_text(new: LayoutFile) -> str:
    """A layout as the YAML file `registry import` reads."""
    return importer.to_yaml(new)


def layout_version(session: Session, city_code: str) -> int:
    """The number of the city's current layout version (0 before any import)."""
    found = importer.versions(session, city_code)
    return found[0].number if found else 0


def city_id(session: Session, code: str) -> int:
    found = session.scalar(select(City.id).where(City.code == code))
    if found is None:
        raise NotFound("no city with code {code!r}", code=code)
    return found


# --- the directory, page by page (the FHIR facade's searches) ------------------------------


@dataclass(frozen=True)
class DirectoryFilter:
    """What a directory search narrows by; None is no filter, an empty set matches nothing.
    Rows come in id order after `after`, so a client can page to the end on a moving table."""

    after: int = 0
    limit: int = 100
    ids: frozenset[int] | None = None
    codes: frozenset[str] | None = None
    name: str | None = None  # case-insensitive prefix of the Chinese or English name
    institution_ids: frozenset[int] | None = None


def _named(zh: InstrumentedAttribute[str], en: InstrumentedAttribute[str | None], name: str) -> Any:
    prefix = name.lower()
    return zh.startswith(name, autoescape=True) | func.lower(en).startswith(prefix, autoescape=True)


def _directory_page(
    table: Any,
    where: DirectoryFilter,
    named: Callable[[str], Any],
    within: Callable[[frozenset[int]], Any],
) -> Select[Any]:
    """The one shape of a directory page; `named` and `within` say what a name and an
    institution mean for the table."""
    query = select(table).where(table.id > where.after)
    if where.ids is not None:
        query = query.where(table.id.in_(where.ids))
    if where.codes is not None:
        query = query.where(table.code.in_(where.codes))
    if where.name:
        query = query.where(named(where.name))
    if where.institution_ids is not None:
        query = query.where(within(where.institution_ids))
    return query.order_by(table.id).limit(where.limit)


def institutions_page(session: Session, where: DirectoryFilter) -> list[Institution]:
    query = _directory_page(
        Institution,
        where,
        lambda name: _named(Institution.name_zh, Institution.name_en, name),
        Institution.id.in_,
    )
    return list(session.scalars(query))


def departments_page(session: Session, where: DirectoryFilter) -> list[Department]:
    query = _directory_page(
        Department,
        where,
        lambda name: _named(Department.name_zh, Department.name_en, name),
        Department.institution_id.in_,
    )
    return list(session.scalars(query))


def practitioners_page(session: Session, where: DirectoryFilter) -> list[Practitioner]:
    """Practitioners in id order; `institution_ids` matches the home or a practice site (H6)."""
    query = _directory_page(
        Practitioner,
        where,
        lambda name: Practitioner.name.startswith(name, autoescape=True),
        lambda ids: (
            Practitioner.home_institution_id.in_(ids)
            | Practitioner.sites.any(Institution.id.in_(ids))
        ),
    )
    return list(session.scalars(query.options(selectinload(Practitioner.sites))))
