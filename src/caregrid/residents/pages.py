"""HTML pages of resident records (masked where the role has no need for identifiers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from caregrid import clock
from caregrid.auth.reasons import emergency_reasons
from caregrid.auth.roles import Principal, Role
from caregrid.chronic import service as chronic
from caregrid.chronic.pages import readings_chart
from caregrid.chronic.standard import Condition
from caregrid.config import get_settings
from caregrid.errors import Forbidden
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.vocab import ConsentMethod, TerminationReason
from caregrid.pharmacy import service as pharmacy
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.residents.schemas import EmergencyAccessIn, ResidentSearchIn
from caregrid.web.deps import DB, User
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


LIST_ROWS = 50


@router.get("/residents", response_class=HTMLResponse)
def resident_list(
    request: Request,
    session: DB,
    user: User,
    search: Annotated[ResidentSearchIn, Query()],
    after: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    """The residents in the user's scope, searched by name, ID or phone suffix, 50 a page."""
    rows = residents.list_visible(
        session, user, purpose="resident list page", limit=LIST_ROWS + 1, where=search, after=after
    )
    typed = {k: v for k, v in search.model_dump().items() if v}
    return render(
        request,
        "residents/list.html",
        user,
        residents=rows[:LIST_ROWS],
        typed=typed,
        more=rows[LIST_ROWS - 1].id if len(rows) > LIST_ROWS else None,
    )


def _emergency_page(
    request: Request,
    user: Principal,
    resident_id: int,
    refusal: str,
    values: dict[str, str],
    error: FormError | None = None,
) -> Response:
    """The refusal of a clinician without a care relationship, with the emergency form."""
    return render(
        request,
        "residents/emergency.html",
        user,
        status=error.status if error else 403,
        resident_id=resident_id,
        refusal=refusal,
        reasons=emergency_reasons(),
        minutes=get_settings().emergency_grant_minutes,
        values=values,
        error=error,
    )


@router.post("/residents/{resident_id}/emergency-access", response_class=HTMLResponse)
def open_emergency_access(
    resident_id: int,
    request: Request,
    session: DB,
    user: User,
    reason_code: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form()] = "",
) -> Response:
    values = {"reason_code": reason_code, "reason_text": reason_text}
    return submit(
        session,
        "emergency",
        lambda: EmergencyAccessIn.model_validate(values),
        lambda data: residents.open_emergency_access(session, user, resident_id, data),
        refused=lambda error: _emergency_page(request, user, resident_id, "", values, error),
        done=lambda _: f"/residents/{resident_id}",
    )


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_detail(resident_id: int, request: Request, session: DB, user: User) -> Response:
    try:
        resident = residents.get(session, user, resident_id, purpose="resident page")
    except Forbidden as refused:
        if not user.has(Role.CLINICIAN, Role.FAMILY_DOCTOR):
            raise
        return _emergency_page(request, user, resident_id, refused.detail, {})
    visits = chronic.timeline(session, user, resident_id)
    try:  # the patient's medicines, for those in their care
        prescriptions = pharmacy.resident_prescriptions(session, user, resident_id)
        regimens = pharmacy.resident_regimens(session, user, resident_id)
    except Forbidden:
        prescriptions, regimens = [], []
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
        may_record=chronic.may_record(user),
        charts=[(c, chart) for c in Condition if (chart := readings_chart(visits, c)) is not None],
        conditions=list(Condition),
        reasons=list(TerminationReason),
        methods=list(ConsentMethod),
        prescriptions=prescriptions,
        regimens=regimens,
        names=registry.institution_names(session),
    )
