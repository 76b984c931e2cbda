"""Family-doctor rules: teams (E1), signing network-wide with panel limits (E2), package
eligibility (E3), renewal and termination, and fulfilment of package items (E5).

Services only flush; the request or command commits.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.familydoctor import packages as menus
from caregrid.familydoctor.models import (
    Contract,
    ContractItem,
    NetworkPackageSet,
    ServiceDelivery,
    Team,
    TeamMember,
)
from caregrid.familydoctor.schemas import (
    ConsentIn,
    ContractIn,
    ContractItemOut,
    ContractOut,
    DeliveryIn,
    FulfilmentOut,
    MemberIn,
    MemberOut,
    TeamCheckOut,
    TeamIn,
    TeamOut,
)
from caregrid.familydoctor.vocab import ContractStatus, ServiceKind, TeamRole, TerminationReason
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level, TitleLevel
from caregrid.residents import service as residents

CLINICAL = (Role.FAMILY_DOCTOR, Role.CLINICIAN)
SENIOR_TITLES = {TitleLevel.ASSOCIATE_SENIOR.value, TitleLevel.SENIOR.value}
SECONDARY_OR_HIGHER = {Level.SECONDARY.value, Level.TERTIARY.value}


# --- teams (E1) ----------------------------------------------------------------------------


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"no family-doctor team with id {team_id}")
    return team


def team_by_code(session: Session, code: str) -> Team | None:
    return session.scalar(select(Team).where(Team.code == code))


def teams(
    session: Session, *, institution_id: int | None = None, network_id: int | None = None
) -> list[Team]:
    query = select(Team).order_by(Team.code)
    if institution_id is not None:
        query = query.where(Team.institution_id == institution_id)
    if network_id is not None:
        query = query.where(Team.network_id == network_id)
    return list(session.scalars(query))


def teams_of(session: Session, principal: Principal) -> list[Team]:
    """The teams a user works in: those of their institution (or network, for its office)."""
    if principal.institution_id is not None:
        return teams(session, institution_id=principal.institution_id)
    if principal.network_id is not None:
        return teams(session, network_id=principal.network_id)
    return teams(session) if principal.has(Role.REGULATOR) else []


def _require_manage_team(
    session: Session, principal: Principal, institution_id: int, network_id: int
) -> None:
    if access.can_manage_institution(session, principal, institution_id):
        return
    if principal.has(Role.NETWORK_ADMIN) and principal.network_id == network_id:
        return
    raise Forbidden("teams are kept by their institution's or network's administrators")


def _members(session: Session, members: list[MemberIn], network_id: int) -> list[TeamMember]:
    """Validate a member list (E1): known practitioners, once each, from the network, with a
    general practitioner among them."""
    problems: list[Problem] = []
    in_network = access.network_institution_ids(session, network_id)
    rows: list[TeamMember] = []
    seen: set[int] = set()
    for i, member in enumerate(members):
        person = registry.get_practitioner(session, member.practitioner_code)
        field = f"members.{i}.practitioner_code"
        if person is None:
            problems.append(
                Problem(field, f"no practitioner with code {member.practitioner_code!r}")
            )
            continue
        if person.id in seen:
            problems.append(Problem(field, f"{person.code} is listed twice"))
            continue
        if person.home_institution_id not in in_network:
            problems.append(Problem(field, f"{person.code} works outside the team's network (E1)"))
        seen.add(person.id)
        rows.append(TeamMember(practitioner_id=person.id, role=member.role.value, position=i))
    if not any(m.role == TeamRole.GENERAL_PRACTITIONER for m in members):
        problems.append(Problem("members", "a team needs a general practitioner (E1)"))
    if problems:
        raise InvalidInput(problems)
    return rows


def create_team(session: Session, principal: Principal, data: TeamIn) -> Team:
    """A team based at a primary member institution of the network (E1)."""
    problems: list[Problem] = []
    network = registry.get_network(session, data.network_code)
    institution = registry.get_institution(session, data.institution_code)
    if institution is None:
        raise InvalidInput(
            [Problem("institution_code", f"no institution with code {data.institution_code!r}")]
        )
    _require_manage_team(session, principal, institution.id, network.id)
    if institution.id not in access.network_institution_ids(session, network.id):
        problems.append(Problem("institution_code", f"{institution.code} is not in {network.code}"))
    elif institution.level != Level.PRIMARY:
        problems.append(
            Problem("institution_code", "a family-doctor team is based at a primary institution")
        )
    if team_by_code(session, data.code) is not None:
        problems.append(Problem("code", f"a team with code {data.code!r} exists"))
    try:
        members = _members(session, data.members, network.id)
    except InvalidInput as exc:
        problems.extend(exc.problems)
        members = []
    if problems:
        raise InvalidInput(problems)
    team = Team(
        code=data.code,
        name=data.name,
        institution_id=institution.id,
        network_id=network.id,
        created_at=clock.now(),
        members=members,
    )
    session.add(team)
    session.flush()
    _audit(session, principal, "team.create", "team", team.id, {"code": team.code})
    return team


def set_members(
    session: Session, principal: Principal, team_id: int, members: list[MemberIn]
) -> Team:
    team = get_team(session, team_id)
    _require_manage_team(session, principal, team.institution_id, team.network_id)
    rows = _members(session, members, team.network_id)
    general_practitioners = {
        m.practitioner_id for m in rows if m.role == TeamRole.GENERAL_PRACTITIONER
    }
    orphaned = session.scalar(
        select(func.count())
        .select_from(Contract)
        .where(
            Contract.team_id == team.id,
            Contract.status == ContractStatus.ACTIVE,
            Contract.doctor_id.not_in(general_practitioners),
        )
    )
    if orphaned:
        raise Conflict(
            f"{orphaned} active contracts name a doctor who would leave the team's general "
            "practitioners; move them first"
        )
    team.members.clear()
    session.flush()
    team.members.extend(rows)
    session.flush()
    _relate_team(session, team.id)
    _audit(session, principal, "team.members", "team", team.id, {"members": len(rows)})
    return team


def team_checks(session: Session, team: Team) -> list[TeamCheckOut]:
    """E1 per team: a general practitioner, and the profile's minimum of senior-title doctors
    from secondary-or-higher hospitals (Jinhua: one)."""
    people = _people(session, team)
    checks = [
        TeamCheckOut(
            requirement="E1",
            outcome="pass"
            if any(m.role == TeamRole.GENERAL_PRACTITIONER for m in team.members)
            else "fail",
            detail="general practitioner in the team",
        )
    ]
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    minimum = profile.parameter("family_doctor_team_senior_doctors_min", clock.today())
    if minimum is None:
        checks.append(
            TeamCheckOut(
                requirement="E1",
                outcome="not-applicable",
                detail="the profile sets no minimum of senior-title hospital doctors",
            )
        )
    else:
        seniors = sum(
            1
            for person in people.values()
            if person.title_level in SENIOR_TITLES
            and person.home_institution.level in SECONDARY_OR_HIGHER
        )
        checks.append(
            TeamCheckOut(
                requirement="E1",
                outcome="pass" if seniors >= int(minimum) else "fail",
                detail=f"{seniors} senior-title doctors from secondary-or-higher hospitals "
                f"(at least {minimum})",
            )
        )
    return checks


def teams_with_hospital_doctors(session: Session, network_id: int) -> int:
    """Teams of the network with a doctor from a secondary-or-higher hospital (全专结合)."""
    return sum(
        1
        for team in teams(session, network_id=network_id)
        if any(
            p.home_institution.level in SECONDARY_OR_HIGHER for p in _people(session, team).values()
        )
    )


def _people(session: Session, team: Team) -> dict[int, registry.Practitioner]:
    return {
        m.practitioner_id: registry.get_practitioner_by_id(session, m.practitioner_id)
        for m in team.members
    }


def team_fulfilment(session: Session, team_id: int, on: date) -> FulfilmentOut:
    """E5 per team: items delivered (capped at what is due) over items due, across the
    team's contracts in force on `on`."""
    delivered = due = 0
    for contract in team_contracts(session, team_id, on):
        for step in progress(session, contract, on):
            delivered += min(step.delivered, step.due)
            due += step.due
    return FulfilmentOut(delivered=delivered, due=due)


def team_view(session: Session, team: Team) -> TeamOut:
    people = _people(session, team)
    institution = registry.get_institution_by_id(session, team.institution_id)
    network = registry.get_network_by_id(session, team.network_id)
    return TeamOut(
        id=team.id,
        code=team.code,
        name=team.name,
        institution_code=institution.code if institution else "",
        network_code=network.code,
        members=[
            MemberOut(
                practitioner_id=m.practitioner_id,
                practitioner_code=people[m.practitioner_id].code,
                name=people[m.practitioner_id].name,
                role=m.role,
                title_level=people[m.practitioner_id].title_level,
                institution_code=people[m.practitioner_id].home_institution.code,
                institution_level=people[m.practitioner_id].home_institution.level,
            )
            for m in team.members
        ],
        checks=team_checks(session, team),
        panel=panel(session, team_id=team.id, on=clock.today()),
        fulfilment=team_fulfilment(session, team.id, clock.today()),
        panel_max=team_panel_max(session, team, clock.today()),
    )


# --- package menus (E3) ----------------------------------------------------------------------


def menu(session: Session, network_id: int) -> menus.Menu:
    """The network's own menu, or the shipped starter menu."""
    own = session.get(NetworkPackageSet, network_id)
    if own is None:
        return menus.starter()
    return menus.parse(own.document, file=f"network {network_id} packages")


def menu_text(session: Session, network_id: int) -> str:
    own = session.get(NetworkPackageSet, network_id)
    return menus.starter_text() if own is None else own.document


def replace_menu(
    session: Session, principal: Principal, *, network_code: str, text: str, file: str
) -> menus.Menu:
    """A network replaces its menu as a whole; signed contracts keep the items they signed."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal,
        network.id,
        "a network's package menu is kept by its office or the health commission",
    )
    parsed = menus.parse(text, file=file)
    own = session.get(NetworkPackageSet, network.id)
    if own is None:
        own = NetworkPackageSet(network_id=network.id)
        session.add(own)
    own.document = text
    own.updated_at = clock.now()
    own.updated_by = principal.username
    session.flush()
    _audit(
        session,
        principal,
        "packages.replace",
        "network",
        network.id,
        {"packages": [p.code for p in parsed.packages]},
    )
    return parsed


def ineligibility(package: menus.Package, resident: residents.Resident, on: date) -> str | None:
    """Why the resident may not sign this package on `on` (E3), or None."""
    rule = package.eligibility
    age = residents.age_on(resident.birth_date, on)
    if rule.min_age is not None and age < rule.min_age:
        return f"{package.code} is for residents aged {rule.min_age} and over (age {age})"
    if rule.max_age is not None and age > rule.max_age:
        return f"{package.code} is for residents aged up to {rule.max_age} (age {age})"
    if rule.sex is not None and resident.sex != rule.sex:
        return f"{package.code} is for {rule.sex} residents"
    if rule.key_population is not None and rule.key_population not in residents.key_populations(
        resident, on
    ):
        return f"{package.code} is for the key population {rule.key_population!r}"
    return None


# --- contracts (E2) ------------------------------------------------------------------------


def valid_on(on: date) -> Select[Contract]:
    """Contracts in force on a date: within their term and not terminated by then. A renewed
    or expired contract still counts for its own term."""
    return select(Contract).where(
        Contract.starts_on <= on,
        Contract.ends_on >= on,
        or_(Contract.terminated_on.is_(None), Contract.terminated_on > on),
    )


def is_signed(session: Session, resident_id: int, on: date) -> bool:
    """Is the resident signed with a family doctor on `on`? Read by the green channel (B4)."""
    return contract_on(session, resident_id, on) is not None


def contract_on(session: Session, resident_id: int, on: date) -> Contract | None:
    return session.scalar(
        valid_on(on).where(Contract.resident_id == resident_id).order_by(Contract.id.desc())
    )


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract with id {contract_id}")
    return contract


def contracts_of(session: Session, resident_id: int) -> list[Contract]:
    return list(
        session.scalars(
            select(Contract).where(Contract.resident_id == resident_id).order_by(Contract.id.desc())
        )
    )


def team_contracts(
    session: Session, team_id: int, on: date, *, doctor_id: int | None = None
) -> list[Contract]:
    """The team's contracts in force on `on` (one doctor's, if given)."""
    query = valid_on(on).where(Contract.team_id == team_id)
    if doctor_id is not None:
        query = query.where(Contract.doctor_id == doctor_id)
    return list(session.scalars(query.order_by(Contract.id)))


def signed_resident_ids(session: Session, on: date) -> set[int]:
    """Every resident signed on `on`, in one query (the signing rates' numerators)."""
    return set(session.scalars(valid_on(on).with_only_columns(Contract.resident_id)))


def _relate(session: Session, contract: Contract) -> None:
    """The care relationship a contract gives (DESIGN.md, security model): the team's
    institution and its members' home institutions, on the days the contract is in force
    (`valid_on`: its term, up to the day it was terminated)."""
    team = get_team(session, contract.team_id)
    after = contract.ends_on + timedelta(days=1)
    if contract.terminated_on is not None:
        after = min(after, contract.terminated_on)
    homes = registry.home_institution_ids(session, [m.practitioner_id for m in team.members])
    access.relate(
        session,
        kind=access.Relationship.CONTRACT,
        source_id=contract.id,
        resident_id=contract.resident_id,
        institution_ids={team.institution_id} | homes,
        started_at=clock.start_of(contract.starts_on),
        ended_at=clock.start_of(max(after, contract.starts_on)),
    )


def _relate_team(session: Session, team_id: int) -> None:
    """After a change of members: the team's contracts in force today or later follow it."""
    today = clock.today()
    query = select(Contract).where(
        Contract.team_id == team_id,
        Contract.ends_on >= today,
        or_(Contract.terminated_on.is_(None), Contract.terminated_on > today),
    )
    for contract in list(session.scalars(query)):
        _relate(session, contract)


def panel(
    session: Session, *, on: date, team_id: int | None = None, doctor_id: int | None = None
) -> int:
    """Residents signed on `on` with a team or with one doctor."""
    inner = valid_on(on)
    if team_id is not None:
        inner = inner.where(Contract.team_id == team_id)
    if doctor_id is not None:
        inner = inner.where(Contract.doctor_id == doctor_id)
    return session.scalar(select(func.count()).select_from(inner.subquery())) or 0


def team_panel_max(session: Session, team: Team, on: date) -> int | None:
    """The profile's team limit, or the per-doctor limit times the general practitioners."""
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    explicit = profile.parameter("family_doctor_team_panel_max", on)
    if explicit is not None:
        return int(explicit)
    per_doctor = profile.parameter("family_doctor_panel_max", on)
    if per_doctor is None:
        return None
    doctors = sum(1 for m in team.members if m.role == TeamRole.GENERAL_PRACTITIONER)
    return int(per_doctor) * doctors


def _term_end(starts_on: date, months: int) -> date:
    """The last day of a term of whole months (2026-01-31 + 1 month ends 2026-02-27)."""
    month = starts_on.month - 1 + months
    year, month = starts_on.year + month // 12, month % 12 + 1
    day = min(starts_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


def _items(
    session: Session, network_id: int, codes: list[str], resident: residents.Resident, on: date
) -> list[ContractItem]:
    """Snapshot the chosen packages' items, refusing unknown or ineligible packages (E3)."""
    problems: list[Problem] = []
    chosen = menu(session, network_id)
    items: list[ContractItem] = []
    if len(set(codes)) != len(codes):
        problems.append(Problem("packages", "a package is chosen twice"))
    for i, code in enumerate(dict.fromkeys(codes)):
        package = chosen.get(code)
        if package is None:
            problems.append(Problem(f"packages.{i}", f"no package {code!r} on the network's menu"))
            continue
        reason = ineligibility(package, resident, on)
        if reason is not None:
            problems.append(Problem(f"packages.{i}", f"not eligible: {reason} (E3)"))
            continue
        items.extend(
            ContractItem(
                package_code=package.code,
                package_name_zh=package.name_zh,
                package_name_en=package.name_en,
                service=item.service,
                kind=item.kind.value,
                name_zh=item.name_zh,
                name_en=item.name_en,
                times_per_year=item.times_per_year,
                price_cny=item.price_cny,
                insurance_share=item.insurance_share,
            )
            for item in package.items
        )
    if problems:
        raise InvalidInput(problems)
    return items


def _check_panel(session: Session, team: Team, doctor: registry.Practitioner, on: date) -> None:
    """E2: signing past a doctor's or a team's panel limit is refused with the numbers."""
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    per_doctor = profile.parameter("family_doctor_panel_max", on)
    # Serialise signings per doctor so two at once cannot both take the last place.
    registry.lock_practitioner(session, doctor.id)
    if per_doctor is not None:
        signed = panel(session, on=on, doctor_id=doctor.id)
        if signed >= int(per_doctor):
            raise RuleViolation(
                f"{doctor.name} already has {signed} signed residents; the panel limit is "
                f"{per_doctor}",
                requirement="E2",
            )
    limit = team_panel_max(session, team, on)
    if limit is not None:
        signed = panel(session, on=on, team_id=team.id)
        if signed >= limit:
            raise RuleViolation(
                f"team {team.code} already has {signed} signed residents; its panel limit is "
                f"{limit}",
                requirement="E2",
            )


def _require_signer(principal: Principal, team: Team) -> None:
    if principal.system:
        return
    if not principal.has(*CLINICAL) or principal.institution_id != team.institution_id:
        raise Forbidden("contracts are signed by the team's own clinical staff")


def _retire_lapsed(session: Session, resident_id: int, today: date) -> None:
    """An active contract past its term is expired, so the resident can sign anew."""
    for contract in session.scalars(
        select(Contract).where(
            Contract.resident_id == resident_id,
            Contract.status == ContractStatus.ACTIVE,
            Contract.ends_on < today,
        )
    ):
        contract.status = ContractStatus.EXPIRED
    session.flush()


def sign(session: Session, principal: Principal, data: ContractIn) -> Contract:
    """E2: a resident signs with a team at any primary institution of the network and is
    signed network-wide; one active contract per resident."""
    today = clock.today()
    team = team_by_code(session, data.team_code)
    if team is None:
        raise InvalidInput([Problem("team_code", f"no team with code {data.team_code!r}")])
    _require_signer(principal, team)
    resident = residents.find_record(session, data.resident_id)
    if resident is None:
        raise InvalidInput([Problem("resident_id", f"no resident with id {data.resident_id}")])
    problems: list[Problem] = []
    if resident.registered_institution_id not in access.network_institution_ids(
        session, team.network_id
    ):
        problems.append(
            Problem("resident_id", "the resident is registered outside the team's network (E2)")
        )
    starts_on = data.starts_on or today
    if starts_on < today:
        problems.append(Problem("starts_on", f"{starts_on} is in the past"))
    doctor = registry.get_practitioner(session, data.doctor_code)
    if doctor is None or not any(
        m.practitioner_id == doctor.id and m.role == TeamRole.GENERAL_PRACTITIONER
        for m in team.members
    ):
        problems.append(
            Problem(
                "doctor_code", f"{data.doctor_code!r} is not a general practitioner of the team"
            )
        )
    try:
        items = _items(session, team.network_id, data.packages, resident, starts_on)
    except InvalidInput as exc:
        problems.extend(exc.problems)
        items = []
    if problems:
        raise InvalidInput(problems)
    assert doctor is not None
    _retire_lapsed(session, resident.id, today)
    current = session.scalar(
        select(Contract).where(
            Contract.resident_id == resident.id, Contract.status == ContractStatus.ACTIVE
        )
    )
    if current is not None:
        raise Conflict(
            f"resident {resident.id} already has an active contract ({current.id}, until "
            f"{current.ends_on}); renew or terminate it first"
        )
    _check_panel(session, team, doctor, starts_on)
    contract = _new_contract(
        session, principal, team, doctor.id, resident.id, starts_on, items, data.consent
    )
    _audit(
        session,
        principal,
        "contract.sign",
        "resident",
        resident.id,
        {
            "contract": contract.id,
            "team": team.code,
            "packages": sorted({i.package_code for i in items}),
        },
    )
    return contract


def _new_contract(
    session: Session,
    principal: Principal,
    team: Team,
    doctor_id: int,
    resident_id: int,
    starts_on: date,
    items: list[ContractItem],
    consent: ConsentIn,
    *,
    renewed_from: int | None = None,
) -> Contract:
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    months = profile.parameter("contract_term_months", starts_on)
    if months is None:
        raise RuleViolation(
            f"profile {profile.name} sets no contract_term_months", requirement="E2"
        )
    contract = Contract(
        resident_id=resident_id,
        team_id=team.id,
        network_id=team.network_id,
        doctor_id=doctor_id,
        starts_on=starts_on,
        ends_on=_term_end(starts_on, int(months)),
        status=ContractStatus.ACTIVE.value,
        consent_method=consent.method.value,
        consent_by=consent.by.value,
        consent_signatory=consent.signatory,
        renewed_from_id=renewed_from,
        created_at=clock.now(),
        created_by=principal.username,
        items=items,
    )
    try:
        with session.begin_nested():
            session.add(contract)
            session.flush()
    except IntegrityError as exc:  # a concurrent signing won the partial unique index
        raise Conflict(f"resident {resident_id} was signed by someone else just now") from exc
    _relate(session, contract)
    return contract


def renew(
    session: Session,
    principal: Principal,
    contract_id: int,
    *,
    consent: ConsentIn,
    packages: list[str] | None = None,
) -> Contract:
    """A new term with the same team and doctor, from the day after the old one ends (or
    today, if it has lapsed); eligibility is checked again against the current menu."""
    old = get_contract(session, contract_id)
    team = get_team(session, old.team_id)
    _require_signer(principal, team)
    if old.status != ContractStatus.ACTIVE:
        raise Conflict(f"contract {old.id} is {old.status}; only an active contract is renewed")
    today = clock.today()
    starts_on = max(old.ends_on + timedelta(days=1), today)
    resident = residents.find_record(session, old.resident_id)
    assert resident is not None
    codes = (
        packages if packages is not None else list(dict.fromkeys(i.package_code for i in old.items))
    )
    items = _items(session, team.network_id, codes, resident, starts_on)
    old.status = ContractStatus.RENEWED.value
    session.flush()
    contract = _new_contract(
        session,
        principal,
        team,
        old.doctor_id,
        old.resident_id,
        starts_on,
        items,
        consent,
        renewed_from=old.id,
    )
    _audit(
        session,
        principal,
        "contract.renew",
        "resident",
        old.resident_id,
        {"contract": contract.id, "from": old.id},
    )
    return contract


def terminate(
    session: Session,
    principal: Principal,
    contract_id: int,
    *,
    reason: TerminationReason,
    note: str | None,
) -> Contract:
    """End a contract today with a coded reason ("other" needs a note)."""
    contract = get_contract(session, contract_id)
    _require_signer(principal, get_team(session, contract.team_id))
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(f"contract {contract.id} is {contract.status}, not active")
    if reason == TerminationReason.OTHER and not (note or "").strip():
        raise InvalidInput([Problem("note", "say why when the reason is 'other'")])
    today = clock.today()
    contract.status = ContractStatus.TERMINATED.value
    contract.terminated_on = max(today, contract.starts_on)
    contract.termination_reason = reason.value
    contract.termination_note = note
    session.flush()
    _relate(session, contract)
    _audit(
        session,
        principal,
        "contract.terminate",
        "resident",
        contract.resident_id,
        {"contract": contract.id, "reason": reason.value},
    )
    return contract


# --- fulfilment (E5) -----------------------------------------------------------------------


def record_delivery(session: Session, principal: Principal, data: DeliveryIn) -> ServiceDelivery:
    """A delivered service, matched to the item of the contract in force that day."""
    if not principal.has(*CLINICAL) or principal.institution_id is None:
        raise Forbidden("services are recorded by clinical staff of an institution")
    access.patient_access(session, principal, data.resident_id)
    on = data.delivered_on or clock.today()
    if on > clock.today():
        raise InvalidInput([Problem("delivered_on", f"{on} is in the future")])
    return deliver(
        session,
        principal,
        resident_id=data.resident_id,
        service=data.service,
        kind=data.kind,
        on=on,
        note=data.note,
    )


def deliver(
    session: Session,
    principal: Principal,
    *,
    resident_id: int,
    service: str,
    kind: ServiceKind | None,
    on: date,
    note: str | None = None,
) -> ServiceDelivery:
    """Record one service; also called by the chronic follow-up (its face-to-face visit)."""
    contract = contract_on(session, resident_id, on)
    item = None
    if contract is not None:
        item = next((i for i in contract.items if i.service == service), None)
    if kind is None and item is None:
        raise InvalidInput(
            [
                Problem(
                    "kind", f"{service!r} is not an item of the resident's contract; give its kind"
                )
            ]
        )
    institution_id = principal.institution_id
    if institution_id is None:  # the system records on behalf of the contract's team
        if contract is None:
            raise InvalidInput([Problem("resident_id", "no contract to record the service under")])
        institution_id = get_team(session, contract.team_id).institution_id
    delivery = ServiceDelivery(
        resident_id=resident_id,
        contract_id=contract.id if contract else None,
        item_id=item.id if item else None,
        service=service,
        kind=kind.value if kind is not None else item.kind if item is not None else "",
        delivered_on=on,
        institution_id=institution_id,
        recorded_by=principal.username,
        recorded_at=clock.now(),
        note=note,
    )
    session.add(delivery)
    session.flush()
    return delivery


@dataclass(frozen=True)
class ItemProgress:
    item: ContractItem
    delivered: int
    due: int


def due_by(item: ContractItem, contract: Contract, on: date) -> int:
    """Items due by `on`, pro rata over the term (4 a year are 2 due half-way)."""
    term = (contract.ends_on - contract.starts_on).days + 1
    elapsed = min(max((on - contract.starts_on).days + 1, 0), term)
    return item.times_per_year * elapsed // term


def progress(session: Session, contract: Contract, on: date) -> list[ItemProgress]:
    """Per item: deliveries within the term up to `on`, and how many were due by then."""
    counts = dict(
        session.execute(
            select(ServiceDelivery.item_id, func.count())
            .where(
                ServiceDelivery.contract_id == contract.id,
                ServiceDelivery.delivered_on <= on,
                ServiceDelivery.item_id.is_not(None),
            )
            .group_by(ServiceDelivery.item_id)
        ).all()
    )
    return [
        ItemProgress(
            item=item, delivered=int(counts.get(item.id, 0)), due=due_by(item, contract, on)
        )
        for item in contract.items
    ]


def contract_view(session: Session, contract: Contract) -> ContractOut:
    today = clock.today()
    team = get_team(session, contract.team_id)
    doctor = registry.get_practitioner_by_id(session, contract.doctor_id)
    network = registry.get_network_by_id(session, contract.network_id)
    items = []
    for step in progress(session, contract, min(today, contract.ends_on)):
        out = ContractItemOut.model_validate(step.item)
        items.append(out.model_copy(update={"delivered": step.delivered, "due": step.due}))
    valid = session.scalar(valid_on(today).where(Contract.id == contract.id)) is not None
    return ContractOut(
        id=contract.id,
        resident_id=contract.resident_id,
        team_code=team.code,
        team_name=team.name,
        network_code=network.code,
        doctor_code=doctor.code,
        doctor_name=doctor.name,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        status=contract.status,
        valid_today=valid,
        terminated_on=contract.terminated_on,
        termination_reason=contract.termination_reason,
        consent_method=contract.consent_method,
        consent_by=contract.consent_by,
        consent_signatory=contract.consent_signatory,
        renewed_from_id=contract.renewed_from_id,
        items=items,
    )


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: int,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        principal,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        purpose="family doctor",
        detail=detail,
    )


def contract_facts(session: Session) -> list[dict[str, object]]:
    """Every contract as a `contract` fact, at its team's institution (E2)."""
    codes = registry.codes_by_id(session)
    teams_by_id = {t.id: t.institution_id for t in session.scalars(select(Team))}
    return [
        {
            "contract_id": f"cg-{c.id}",
            "patient_id": f"cg-{c.resident_id}",
            "institution_code": codes[teams_by_id[c.team_id]],
            "starts_on": c.starts_on,
            "ends_on": c.ends_on,
        }
        for c in session.scalars(select(Contract).order_by(Contract.id))
    ]
