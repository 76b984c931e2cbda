"""REST API of teams, package menus, contracts and delivered services (E1-E5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from caregrid import clock
from caregrid.auth import access
from caregrid.familydoctor import measures
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.schemas import (
    ContractIn,
    ContractOut,
    DeliveryIn,
    DeliveryOut,
    MeasureRowOut,
    MeasuresOut,
    MembersIn,
    RenewIn,
    TeamIn,
    TeamOut,
    TerminateIn,
)
from caregrid.rates import RateOut
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User, Year

router = APIRouter(prefix="/api", tags=["family doctors"])
YAML = "application/yaml"


@router.get("/teams", response_model=list[TeamOut])
def list_teams(
    session: DB, user: User, network: Annotated[str | None, Query()] = None
) -> list[TeamOut]:
    """Teams of the caller's institution or network (all of a network for its office)."""
    rows = (
        familydoctor.teams(session, network_id=registry.get_network(session, network).id)
        if network
        else familydoctor.teams_of(session, user)
    )
    return [familydoctor.team_view(session, t) for t in rows]


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, session: DB, user: User) -> TeamOut:
    return familydoctor.team_view(session, familydoctor.create_team(session, user, body))


@router.get("/teams/{team_id}", response_model=TeamOut)
def get_team(team_id: int, session: DB, user: User) -> TeamOut:
    return familydoctor.team_view(session, familydoctor.get_team(session, team_id))


@router.put("/teams/{team_id}/members", response_model=TeamOut)
def set_members(team_id: int, body: MembersIn, session: DB, user: User) -> TeamOut:
    team = familydoctor.set_members(session, user, team_id, body.members)
    return familydoctor.team_view(session, team)


@router.get("/networks/{code}/packages", response_class=PlainTextResponse, tags=["policy"])
def get_packages(code: str, session: DB, user: User) -> PlainTextResponse:
    """The network's package menu as YAML (the starter menu until it sets its own)."""
    network = registry.get_network(session, code)
    return PlainTextResponse(familydoctor.menu_text(session, network.id), media_type=YAML)


@router.put(
    "/networks/{code}/packages",
    response_class=PlainTextResponse,
    tags=["policy"],
    openapi_extra={"requestBody": {"content": {YAML: {"schema": {"type": "string"}}}}},
)
async def replace_packages(
    code: str, request: Request, session: DB, user: User
) -> PlainTextResponse:
    """Replace the menu with a YAML document (`caregrid-packages/1`): all of it or nothing."""
    text = (await request.body()).decode("utf-8", errors="replace")
    familydoctor.replace_menu(session, user, network_code=code, text=text, file="packages.yaml")
    return PlainTextResponse(text, media_type=YAML)


@router.post("/contracts", response_model=ContractOut, status_code=201)
def sign(body: ContractIn, session: DB, user: User) -> ContractOut:
    return familydoctor.contract_view(session, familydoctor.sign(session, user, body))


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(contract_id: int, session: DB, user: User) -> ContractOut:
    contract = familydoctor.get_contract(session, contract_id)
    access.patient_access(session, user, contract.resident_id)
    return familydoctor.contract_view(session, contract)


@router.get("/residents/{resident_id}/contracts", response_model=list[ContractOut])
def resident_contracts(resident_id: int, session: DB, user: User) -> list[ContractOut]:
    access.patient_access(session, user, resident_id)
    return [
        familydoctor.contract_view(session, c)
        for c in familydoctor.contracts_of(session, resident_id)
    ]


@router.post("/contracts/{contract_id}/renew", response_model=ContractOut, status_code=201)
def renew(contract_id: int, body: RenewIn, session: DB, user: User) -> ContractOut:
    contract = familydoctor.renew(
        session, user, contract_id, consent=body.consent, packages=body.packages
    )
    return familydoctor.contract_view(session, contract)


@router.post("/contracts/{contract_id}/terminate", response_model=ContractOut)
def terminate(contract_id: int, body: TerminateIn, session: DB, user: User) -> ContractOut:
    contract = familydoctor.terminate(
        session, user, contract_id, reason=body.reason, note=body.note
    )
    return familydoctor.contract_view(session, contract)


@router.post("/deliveries", response_model=DeliveryOut, status_code=201)
def record_delivery(body: DeliveryIn, session: DB, user: User) -> DeliveryOut:
    return DeliveryOut.model_validate(familydoctor.record_delivery(session, user, body))


def measures_out(found: measures.NetworkYear) -> MeasuresOut:
    target = found.down_referral_growth_target
    return MeasuresOut(
        network_code=found.network_code,
        year=found.year,
        as_of=found.as_of,
        rows=[
            MeasureRowOut(
                institution_code=row.institution_code,
                institution_name=row.institution_name,
                signing=RateOut.of(row.signing),
                key_population_signing=RateOut.of(row.key_population_signing),
                by_key_population={
                    k: RateOut.of(v) for k, v in sorted(row.by_key_population.items())
                },
                fulfilment=RateOut.of(row.fulfilment),
                appointment_keeping=RateOut.of(row.appointment_keeping),
                standardised={k: RateOut.of(v) for k, v in row.standardised.items()},
                controlled={k: RateOut.of(v) for k, v in row.controlled.items()},
                primary_visits=RateOut.of(row.primary_visits),
            )
            for row in found.rows
        ],
        down_referrals=found.down_referrals,
        down_referrals_last_year=found.down_referrals_last_year,
        down_referral_growth=found.down_referral_growth,
        down_referral_growth_target=float(target) if target is not None else None,
    )


@router.get("/networks/{code}/family-doctor-measures", response_model=MeasuresOut)
def family_doctor_measures(
    code: str,
    session: DB,
    user: User,
    year: Year = None,
) -> MeasuresOut:
    """Signing, fulfilment, standardised management and control rates for a year (E5, F3, B9)."""
    chosen = year if year is not None else clock.today().year
    return measures_out(measures.network_year(session, user, code, chosen))
