"""Family-doctor teams (E1): based at a primary member institution, with a general
practitioner and the profile's minimum of senior-title hospital doctors.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.familydoctor import care
from caregrid.familydoctor.models import Contract, Team, TeamMember
from caregrid.familydoctor.schemas import MemberIn, TeamCheckOut, TeamIn
from caregrid.familydoctor.vocab import ContractStatus, TeamRole
from caregrid.i18n import Message, msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level, TitleLevel

SENIOR_TITLES = {TitleLevel.ASSOCIATE_SENIOR.value, TitleLevel.SENIOR.value}
SECONDARY_OR_HIGHER = {Level.SECONDARY.value, Level.TERTIARY.value}


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("no family-doctor team with id {team_id}", team_id=team_id)
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
                Problem(
                    field,
                    msg(
                        "no practitioner with code {practitioner_code!r}",
                        practitioner_code=member.practitioner_code,
                    ),
                )
            )
            continue
        if person.id in seen:
            problems.append(Problem(field, msg("{code} is listed twice", code=person.code)))
            continue
        if person.home_institution_id not in in_network:
            problems.append(
                Problem(
                    field, msg("{code} works outside the team's network (E1)", code=person.code)
                )
            )
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
            [
                Problem(
                    "institution_code",
                    msg(
                        "no institution with code {institution_code!r}",
                        institution_code=data.institution_code,
                    ),
                )
            ]
        )
    _require_manage_team(session, principal, institution.id, network.id)
    if institution.id not in access.network_institution_ids(session, network.id):
        problems.append(
            Problem(
                "institution_code",
                msg("{code} is not in {code2}", code=institution.code, code2=network.code),
            )
        )
    elif institution.level != Level.PRIMARY:
        problems.append(
            Problem("institution_code", "a family-doctor team is based at a primary institution")
        )
    if team_by_code(session, data.code) is not None:
        problems.append(Problem("code", msg("a team with code {code!r} exists", code=data.code)))
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
    audit.record_for(
        session,
        principal,
        "team.create",
        team.id,
        subject_type="team",
        purpose="family doctor",
        detail={"code": team.code},
    )
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
            "{orphaned} active contracts name a doctor who would leave the team's general "
            "practitioners; move them first",
            orphaned=orphaned,
        )
    team.members.clear()
    session.flush()
    team.members.extend(rows)
    session.flush()
    care.relate_team(session, team.id)
    audit.record_for(
        session,
        principal,
        "team.members",
        team.id,
        subject_type="team",
        purpose="family doctor",
        detail={"members": len(rows)},
    )
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
            detail=Message("general practitioner in the team"),
        )
    ]
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    minimum = profile.parameter("family_doctor_team_senior_doctors_min", clock.today())
    if minimum is None:
        checks.append(
            TeamCheckOut(
                requirement="E1",
                outcome="not-applicable",
                detail=Message("the profile sets no minimum of senior-title hospital doctors"),
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
                detail=msg(
                    "{seniors} senior-title doctors from secondary-or-higher hospitals "
                    "(at least {minimum})",
                    seniors=seniors,
                    minimum=int(minimum),
                ),
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
