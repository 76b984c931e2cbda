"""HTML pages of family-doctor teams: the roster with its E1 checks, the weekly worklist, the
contract signing form with the package menu, renewal and termination, and the network's
yearly measures. Thin: the rules live in `familydoctor.service` and `chronic.service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.chronic import service as chronic
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.api import COLUMNS, KEY_POPULATIONS, network_measures
from caregrid.familydoctor.schemas import ConsentIn, ContractIn
from caregrid.familydoctor.vocab import ConsentBy, ConsentMethod, TeamRole, TerminationReason
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.web.deps import DB, User, Year
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/teams", response_class=HTMLResponse)
def team_list(request: Request, session: DB, user: User) -> Response:
    views = [familydoctor.team_view(session, t) for t in familydoctor.teams_of(session, user)]
    return render(request, "familydoctor/teams.html", user, teams=views)


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def team_page(team_id: int, request: Request, session: DB, user: User) -> Response:
    team = familydoctor.team_view(session, familydoctor.get_team(session, team_id))
    return render(request, "familydoctor/team.html", user, team=team)


@router.get("/teams/{team_id}/worklist", response_class=HTMLResponse)
def worklist_page(
    team_id: int,
    request: Request,
    session: DB,
    user: User,
    doctor: Annotated[str, Query()] = "",
) -> Response:
    team = familydoctor.team_view(session, familydoctor.get_team(session, team_id))
    person = registry.get_practitioner(session, doctor) if doctor else None
    worklist = chronic.worklist(session, user, team_id, doctor_id=person.id if person else None)
    doctors = [m for m in team.members if m.role == TeamRole.GENERAL_PRACTITIONER]
    return render(
        request,
        "familydoctor/worklist.html",
        user,
        team=team,
        worklist=worklist,
        doctors=doctors,
        doctor=doctor,
        may_record=chronic.may_record(user),
        today=clock.today(),
    )


def _sign_page(
    request: Request,
    session: Session,
    user: Principal,
    resident_id: int,
    values: dict[str, object],
    error: FormError | None = None,
) -> Response:
    resident = residents.get(session, user, resident_id, purpose="contract signing")
    person = residents.record(session, resident_id)
    menus = []
    for team in familydoctor.teams_of(session, user):
        menu = familydoctor.menu(session, team.network_id)
        menus.append(
            (
                familydoctor.team_view(session, team),
                [(p, familydoctor.ineligibility(p, person, clock.today())) for p in menu.packages],
            )
        )
    return render(
        request,
        "familydoctor/sign.html",
        user,
        status=error.status if error else 200,
        resident=resident,
        menus=menus,
        values=values,
        error=error,
        methods=list(ConsentMethod),
        signers=list(ConsentBy),
    )


@router.get("/contracts/new", response_class=HTMLResponse)
def sign_form(
    request: Request, session: DB, user: User, resident_id: Annotated[int, Query()]
) -> Response:
    return _sign_page(request, session, user, resident_id, {})


@router.post("/contracts/new", response_class=HTMLResponse)
def sign_contract(
    request: Request,
    session: DB,
    user: User,
    resident_id: Annotated[int, Form()],
    team_code: Annotated[str, Form()] = "",
    doctor_code: Annotated[str, Form()] = "",
    packages: Annotated[list[str] | None, Form()] = None,
    consent_method: Annotated[str, Form()] = "",
    consent_by: Annotated[str, Form()] = "resident",
    signatory: Annotated[str, Form()] = "",
) -> Response:
    values: dict[str, object] = {
        "team_code": team_code,
        "doctor_code": doctor_code,
        "packages": packages or [],
        "consent_method": consent_method,
        "consent_by": consent_by,
        "signatory": signatory,
    }
    return submit(
        session,
        "contract",
        lambda: ContractIn.model_validate(
            {
                "resident_id": resident_id,
                "team_code": team_code,
                "doctor_code": doctor_code,
                "packages": packages or [],
                "consent": {"method": consent_method, "by": consent_by, "signatory": signatory},
            }
        ),
        lambda data: familydoctor.sign(session, user, data),
        refused=lambda error: _sign_page(request, session, user, resident_id, values, error),
        done=lambda _: f"/residents/{resident_id}",
    )


@router.post("/contracts/{contract_id}/renew", response_class=HTMLResponse)
def renew_contract(
    contract_id: int,
    session: DB,
    user: User,
    consent_method: Annotated[ConsentMethod, Form()],
    signatory: Annotated[str, Form()],
) -> Response:
    contract = familydoctor.renew(
        session, user, contract_id, consent=ConsentIn(method=consent_method, signatory=signatory)
    )
    return RedirectResponse(f"/residents/{contract.resident_id}", status_code=303)


@router.post("/contracts/{contract_id}/terminate", response_class=HTMLResponse)
def terminate_contract(
    contract_id: int,
    session: DB,
    user: User,
    reason: Annotated[TerminationReason, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    contract = familydoctor.terminate(session, user, contract_id, reason=reason, note=note or None)
    return RedirectResponse(f"/residents/{contract.resident_id}", status_code=303)


@router.get("/networks/{code}/family-doctor-measures", response_class=HTMLResponse)
def measures_page(
    code: str,
    request: Request,
    session: DB,
    user: User,
    year: Year = None,
) -> Response:
    found = network_measures(session, user, code, year)
    return render(
        request,
        "familydoctor/measures.html",
        user,
        found=found,
        year=found.year,
        columns=COLUMNS,
        key_populations=KEY_POPULATIONS,
    )
