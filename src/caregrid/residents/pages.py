"""HTML pages of resident records (masked where the role has no need for identifiers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caregrid import clock
from caregrid.chronic import service as chronic
from caregrid.chronic.pages import readings_chart
from caregrid.chronic.standard import Condition
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.vocab import ConsentMethod, TerminationReason
from caregrid.residents import service as residents
from caregrid.web.deps import DB, User
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/residents", response_class=HTMLResponse)
def resident_list(request: Request, session: DB, user: User) -> Response:
    return render(
        request,
        "residents/list.html",
        user,
        residents=residents.list_visible(session, user, purpose="resident list page"),
    )


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_detail(resident_id: int, request: Request, session: DB, user: User) -> Response:
    resident = residents.get(session, user, resident_id, purpose="resident page")
    visits = chronic.timeline(session, user, resident_id)
    return render(
        request,
        "residents/detail.html",
        user,
        resident=resident,
        contracts=[
            familydoctor.contract_view(session, c)
            for c in familydoctor.contracts_of(session, resident_id)
        ],
        can_sign=bool(familydoctor.teams_of(session, user))
        and not familydoctor.is_signed(session, resident_id, clock.today()),
        enrolments=[
            (e, chronic.next_due(session, e)) for e in chronic.enrolments(session, resident_id)
        ],
        visits=visits,
        charts=[(c, chart) for c in Condition if (chart := readings_chart(visits, c)) is not None],
        conditions=list(Condition),
        reasons=list(TerminationReason),
        methods=list(ConsentMethod),
    )
