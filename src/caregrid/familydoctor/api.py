"""REST API of teams, package menus, contracts and delivered services (E1-E5)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.schemas import (
    ContractIn,
    ContractOut,
    DeliveryIn,
    DeliveryOut,
    MembersIn,
    RenewIn,
    TeamIn,
    TeamOut,
    TerminateIn,
)
from caregrid.indicators import service as indicators
from caregrid.indicators.schemas import FigureOut
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


# --- the yearly measures (E5, F2, F3, B9), all indicator definitions -------------------------

# The columns of the measures table, per member and for the network.
COLUMNS = ("FD1", "FD2", "FD3", "FD4", "CD1", "CD2", "CD4", "CD5", "CD7")
# FD2 for each key population (data/key_populations.yaml).
KEY_POPULATIONS = (
    "FD2-children",
    "FD2-elderly",
    "FD2-pregnant_postpartum",
    "FD2-hypertension",
    "FD2-diabetes",
    "FD2-severe_mental_disorder",
    "FD2-tuberculosis",
    "FD2-malignant_tumour",
    "FD2-disabled",
)
# B9: the lead's downward referrals of hypertension and diabetes patients, against a year earlier.
LEAD = ("RF6",)
# Every figure the page and this API show: the two-way test checks each one by hand.
FIGURES = COLUMNS + KEY_POPULATIONS + LEAD


class MeasureRowOut(BaseModel):
    institution_code: str  # the network's code for its total
    institution_name: str
    figures: dict[str, FigureOut]  # by indicator id: COLUMNS and KEY_POPULATIONS


class MeasuresOut(BaseModel):
    network_code: str
    year: int
    first_month: str
    last_month: str
    as_of: date  # targets in force on this day
    rows: list[MeasureRowOut]
    lead_code: str | None
    down_referrals: FigureOut | None  # RF6 at the lead, with the same months a year earlier


def network_measures(
    session: Session, principal: Principal, code: str, year: int | None
) -> MeasuresOut:
    """The office and the commission see every member and the network's total; a member
    sees its own row (and the lead's down-referrals); others are refused."""
    network = registry.get_network(session, code)
    own = access.measure_scope(
        session,
        principal,
        network.id,
        "these measures are for the network's office, its members and the commission",
    )
    if own is not None and own not in access.network_institution_ids(session, network.id):
        raise Forbidden("your institution is not a member of {code}", code=network.code)
    chosen = year if year is not None else clock.today().year
    period = indicators.year_period(chosen, clock.today())
    rows = indicators.network_rows(session, network.code, FIGURES, period)
    lead = registry.lead_of(session, network.id)
    at_lead = next((r for r in rows if lead is not None and r.code == lead.code), None)
    own_code = None if own is None else registry.codes_by_id(session).get(own)
    return MeasuresOut(
        network_code=network.code,
        year=chosen,
        first_month=period[0],
        last_month=period[1],
        as_of=min(clock.today(), indicators.period_end(period)),
        rows=[
            MeasureRowOut(
                institution_code=row.code,
                institution_name=row.name,
                figures={i: FigureOut.of(row.figures[i]) for i in COLUMNS + KEY_POPULATIONS},
            )
            for row in rows
            if own_code is None or row.code == own_code
        ],
        lead_code=None if lead is None else lead.code,
        down_referrals=None if at_lead is None else FigureOut.of(at_lead.figures["RF6"]),
    )


@router.get("/networks/{code}/family-doctor-measures", response_model=MeasuresOut)
def family_doctor_measures(
    code: str,
    session: DB,
    user: User,
    year: Year = None,
) -> MeasuresOut:
    """Signing, fulfilment, standardised management and control rates for a year (E5, F3, B9),
    each an indicator of the catalogue computed by the engine over the recorded facts."""
    return network_measures(session, user, code, year)
