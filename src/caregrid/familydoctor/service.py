"""Family-doctor rules: teams (E1), signing network-wide with panel limits (E2), package
eligibility (E3), renewal and termination, and fulfilment of package items (E5).

The package's public entry: teams live in `teams`, menus and contracts in `contracts`,
deliveries and progress in `fulfilment`; this module holds the views and the `contract`
facts and re-exports what other packages and the routers use. Services only flush; the
request or command commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.familydoctor.contracts import (
    CLINICAL,
    contract_on,
    contracts_of,
    get_contract,
    ineligibility,
    is_signed,
    menu,
    menu_text,
    panel,
    renew,
    replace_menu,
    sign,
    team_contracts,
    team_panel_max,
    terminate,
    valid_on,
)
from caregrid.familydoctor.fulfilment import (
    ItemProgress,
    deliver,
    due_by,
    progress,
    record_delivery,
    team_fulfilment,
)
from caregrid.familydoctor.models import Contract, Team
from caregrid.familydoctor.schemas import ContractItemOut, ContractOut, MemberOut, TeamOut
from caregrid.familydoctor.teams import (
    SECONDARY_OR_HIGHER,
    SENIOR_TITLES,
    _people,
    create_team,
    get_team,
    set_members,
    team_by_code,
    team_checks,
    teams,
    teams_of,
    teams_with_hospital_doctors,
)
from caregrid.registry import service as registry

__all__ = [
    "CLINICAL",
    "SECONDARY_OR_HIGHER",
    "SENIOR_TITLES",
    "ItemProgress",
    "contract_on",
    "contracts_of",
    "create_team",
    "deliver",
    "due_by",
    "get_contract",
    "get_team",
    "ineligibility",
    "is_signed",
    "menu",
    "menu_text",
    "panel",
    "progress",
    "record_delivery",
    "renew",
    "replace_menu",
    "set_members",
    "sign",
    "team_by_code",
    "team_checks",
    "team_contracts",
    "team_fulfilment",
    "team_panel_max",
    "teams",
    "teams_of",
    "teams_with_hospital_doctors",
    "terminate",
    "valid_on",
]


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


def contract_facts(session: Session) -> list[dict[str, object]]:
    """Every contract as a `contract` fact, at its team's institution (E2), with its package
    items due and delivered (capped at due) by the earlier of today and its term's end (FD3)."""
    codes = registry.codes_by_id(session)
    teams_by_id = {t.id: t.institution_id for t in session.scalars(select(Team))}
    rows: list[dict[str, object]] = []
    for c in session.scalars(select(Contract).order_by(Contract.id)):
        steps = progress(session, c, min(clock.today(), c.ends_on))
        rows.append(
            {
                "contract_id": f"cg-{c.id}",
                "patient_id": f"cg-{c.resident_id}",
                "institution_code": codes[teams_by_id[c.team_id]],
                "starts_on": c.starts_on,
                "ends_on": c.ends_on,
                "items_due": sum(s.due for s in steps),
                "items_delivered": sum(min(s.delivered, s.due) for s in steps),
            }
        )
    return rows
