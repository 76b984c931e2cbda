"""HTML pages of shared diagnostics: the order form, an order with its recognition offer
(reuse, or repeat with a coded reason) and report form, a centre's work queue, and a patient's
results across the network. Thin: the rules live in `diagnostics.service`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics import supply, teleconsult
from caregrid.diagnostics.api import CONSULTS, REPEATS, network_measures
from caregrid.diagnostics.schemas import (
    OrderIn,
    QualityAssessmentIn,
    RepeatIn,
    ReportIn,
    ValueIn,
)
from caregrid.diagnostics.vocab import AssessmentResult, CentreKind, OrderState, RepeatReason
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.web.deps import DB, User, Year
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/orders/new", response_class=HTMLResponse)
def order_form(
    request: Request, session: DB, user: User, resident_id: Annotated[int, Query()]
) -> Response:
    resident = residents.get(session, user, resident_id, purpose="diagnostic order")
    items = diagnostics.orderable(session, user.institution_id) if user.institution_id else []
    return render(request, "diagnostics/new.html", user, resident=resident, items=items)


@router.post("/orders/new", response_class=HTMLResponse)
def place_order(
    session: DB,
    user: User,
    resident_id: Annotated[int, Form()],
    item_code: Annotated[str, Form()],
    acquired_at_member: Annotated[bool, Form()] = False,
) -> Response:
    order = diagnostics.place_order(
        session,
        user,
        OrderIn(
            resident_id=resident_id, item_code=item_code, acquired_at_member=acquired_at_member
        ),
    )
    return RedirectResponse(f"/orders/{order.id}", status_code=303)


def _order_page(
    request: Request,
    session: Session,
    user: Principal,
    order_id: int,
    error: FormError | None = None,
) -> Response:
    order = diagnostics.get_order(session, order_id)
    view = diagnostics.order_view(session, order)
    centre = diagnostics.centre_of(session, order.centre_id)
    result = None
    if order.result_id is not None:
        result = next(
            (
                r
                for r in diagnostics.results_of(session, user, order.resident_id)
                if r.id == order.result_id
            ),
            None,
        )
    return render(
        request,
        "diagnostics/order.html",
        user,
        status=error.status if error else 200,
        order=view,
        item=diagnostics.item(order.item_code),
        centre=centre,
        result=result,
        error=error,
        reasons=list(RepeatReason),
        ordering=user.institution_id == order.ordering_institution_id,
        reading=user.username in {r.username for r in centre.readers},
        at_centre=user.institution_id == centre.institution_id,
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(order_id: int, request: Request, session: DB, user: User) -> Response:
    return _order_page(request, session, user, order_id)


def _act(
    session: Session,
    refused: Callable[[FormError], Response],
    done: str,
    form: str,
    work: Callable[[], object],
) -> Response:
    """Run a service call from a form: back to `done`, or the page again with the refusal."""
    return submit(
        session, form, lambda: None, lambda _: work(), refused=refused, done=lambda _: done
    )


def _on_order(
    request: Request,
    session: Session,
    user: Principal,
    order_id: int,
    form: str,
    work: Callable[[], object],
) -> Response:
    return _act(
        session,
        lambda error: _order_page(request, session, user, order_id, error),
        f"/orders/{order_id}",
        form,
        work,
    )


@router.post("/orders/{order_id}/recognise", response_class=HTMLResponse)
def recognise(
    order_id: int, request: Request, session: DB, user: User, result_id: Annotated[int, Form()]
) -> Response:
    return _on_order(
        request,
        session,
        user,
        order_id,
        "recognition",
        lambda: diagnostics.recognise(session, user, order_id, result_id),
    )


@router.post("/orders/{order_id}/repeat", response_class=HTMLResponse)
def repeat(
    order_id: int,
    request: Request,
    session: DB,
    user: User,
    prior_result_id: Annotated[int, Form()],
    reason: Annotated[RepeatReason, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    data = RepeatIn(prior_result_id=prior_result_id, reason=reason, text=text or None)
    return _on_order(
        request,
        session,
        user,
        order_id,
        "recognition",
        lambda: diagnostics.repeat(session, user, order_id, data),
    )


@router.post("/orders/{order_id}/advance", response_class=HTMLResponse)
def advance(
    order_id: int, request: Request, session: DB, user: User, to: Annotated[OrderState, Form()]
) -> Response:
    return _on_order(
        request,
        session,
        user,
        order_id,
        "advance",
        lambda: diagnostics.advance(session, user, order_id, to),
    )


@router.post("/orders/{order_id}/report", response_class=HTMLResponse)
async def report(order_id: int, request: Request, session: DB, user: User) -> Response:
    """Values arrive as `value.<component>`; units are the item's own."""
    form = await request.form()
    wanted = diagnostics.item(diagnostics.get_order(session, order_id).item_code)

    def read() -> ReportIn:
        values: list[ValueIn] = []
        problems: list[Problem] = []
        for component in wanted.components:
            raw = str(form.get(f"value.{component.code}", "")).strip()
            try:
                values.append(
                    ValueIn(component=component.code, value=Decimal(raw), unit=component.unit)
                )
            except InvalidOperation:
                problems.append(
                    Problem(f"value.{component.code}", msg("{raw!r} is not a number", raw=raw))
                )
        data = ReportIn(
            values=values,
            findings=str(form.get("findings", "")) or None,
            conclusion=str(form.get("conclusion", "")) or None,
        )
        if problems:
            raise InvalidInput(problems)
        return data

    return submit(
        session,
        "report",
        read,
        lambda data: diagnostics.report(session, user, order_id, data),
        refused=lambda error: _order_page(request, session, user, order_id, error),
        done=lambda _: f"/orders/{order_id}",
    )


@router.get("/centres/{centre_id}/queue", response_class=HTMLResponse)
def centre_queue(centre_id: int, request: Request, session: DB, user: User) -> Response:
    centre = diagnostics.centre_of(session, centre_id)
    orders = diagnostics.queue(session, user, centre_id)
    return render(request, "diagnostics/queue.html", user, centre=centre, orders=orders)


@router.get("/residents/{resident_id}/results", response_class=HTMLResponse)
def resident_results(resident_id: int, request: Request, session: DB, user: User) -> Response:
    resident = residents.get(session, user, resident_id, purpose="results across the network")
    results = diagnostics.results_of(session, user, resident_id)
    return render(
        request,
        "diagnostics/results.html",
        user,
        resident=resident,
        results=results,
        items=diagnostics.item,
    )


def _consult_page(
    request: Request, session: Session, user: Principal, error: FormError | None = None
) -> Response:
    """Requests to the user's institution (schedule, answer) and those it sent (close)."""
    return render(
        request,
        "diagnostics/teleconsultations.html",
        user,
        status=error.status if error else 200,
        error=error,
        inbox=teleconsult.inbox(session, user),
        sent=teleconsult.sent(session, user),
    )


def _on_consult(
    request: Request, session: Session, user: Principal, form: str, work: Callable[[], object]
) -> Response:
    return _act(
        session,
        lambda error: _consult_page(request, session, user, error),
        "/teleconsultations",
        form,
        work,
    )


@router.get("/teleconsultations", response_class=HTMLResponse)
def consult_page(request: Request, session: DB, user: User) -> Response:
    return _consult_page(request, session, user)


def _consult_form(
    request: Request,
    session: Session,
    user: Principal,
    resident_id: int,
    error: FormError | None = None,
) -> Response:
    resident = residents.get(session, user, resident_id, purpose="teleconsultation request")
    own = user.institution_id
    return render(
        request,
        "diagnostics/consult_new.html",
        user,
        status=error.status if error else 200,
        error=error,
        resident=resident,
        departments=registry.peer_departments(session, own) if own else [],
    )


@router.get("/teleconsultations/new", response_class=HTMLResponse)
def consult_form(
    request: Request, session: DB, user: User, resident_id: Annotated[int, Query()]
) -> Response:
    return _consult_form(request, session, user, resident_id)


@router.post("/teleconsultations/new", response_class=HTMLResponse)
def request_consult(
    request: Request,
    session: DB,
    user: User,
    resident_id: Annotated[int, Form()],
    to_department_id: Annotated[int, Form()],
    question: Annotated[str, Form()] = "",
    expert_code: Annotated[str, Form()] = "",
) -> Response:
    """The department names its institution, so the form asks only for the department."""
    department = registry.get_department(session, to_department_id)
    receiver = registry.get_institution_by_id(session, department.institution_id)
    assert receiver is not None
    return _act(
        session,
        lambda error: _consult_form(request, session, user, resident_id, error),
        "/teleconsultations",
        "consult",
        lambda: teleconsult.request(
            session,
            user,
            resident_id=resident_id,
            to_institution_code=receiver.code,
            to_department_id=department.id,
            question=question,
            expert_code=expert_code.strip() or None,
        ),
    )


@router.post("/teleconsultations/{consult_id}/schedule", response_class=HTMLResponse)
def schedule_consult(
    consult_id: int,
    request: Request,
    session: DB,
    user: User,
    at: Annotated[str, Form()],
    meeting_link: Annotated[str, Form()],
) -> Response:
    def work() -> object:
        try:
            moment = clock.local_input(at)
        except ValueError as exc:
            raise InvalidInput(
                [Problem("at", msg("{at!r} is not a date and time", at=at))]
            ) from exc
        return teleconsult.schedule(session, user, consult_id, at=moment, meeting_link=meeting_link)

    return _on_consult(request, session, user, f"consult-{consult_id}", work)


@router.post("/teleconsultations/{consult_id}/answer", response_class=HTMLResponse)
def answer_consult(
    consult_id: int,
    request: Request,
    session: DB,
    user: User,
    opinion: Annotated[str, Form()] = "",
) -> Response:
    return _on_consult(
        request,
        session,
        user,
        f"consult-{consult_id}",
        lambda: teleconsult.answer(session, user, consult_id, opinion=opinion),
    )


@router.post("/teleconsultations/{consult_id}/close", response_class=HTMLResponse)
def close_consult(consult_id: int, request: Request, session: DB, user: User) -> Response:
    return _on_consult(
        request,
        session,
        user,
        f"consult-{consult_id}",
        lambda: teleconsult.close(session, user, consult_id),
    )


@router.get("/centres", response_class=HTMLResponse)
def centres_page(request: Request, session: DB, user: User) -> Response:
    """The centres the user's institution runs (their queues) and those that serve it."""
    own = user.institution_id
    return render(
        request,
        "diagnostics/centres.html",
        user,
        running=diagnostics.centres_run_by(session, own) if own else [],
        serving=diagnostics.centres_serving(session, own) if own else [],
        items=diagnostics.item,
    )


def _supply_page(
    request: Request, session: Session, user: Principal, error: FormError | None = None
) -> Response:
    own = user.institution_id
    desks = [
        (centre, supply.open_at(session, centre.id))
        for centre in (diagnostics.centres_run_by(session, own) if own else [])
        if centre.kind == CentreKind.STERILISATION
    ]
    return render(
        request,
        "diagnostics/supply.html",
        user,
        status=error.status if error else 200,
        error=error,
        served=supply.serves(session, own) if own else False,
        mine=supply.of_institution(session, own) if own else [],
        desks=desks,
        today=clock.today(),
    )


@router.get("/sterile-supplies", response_class=HTMLResponse)
def supply_page(request: Request, session: DB, user: User) -> Response:
    return _supply_page(request, session, user)


def _on_supply(
    request: Request, session: Session, user: Principal, form: str, work: Callable[[], object]
) -> Response:
    return _act(
        session,
        lambda error: _supply_page(request, session, user, error),
        "/sterile-supplies",
        form,
        work,
    )


@router.post("/sterile-supplies/new", response_class=HTMLResponse)
def request_supply(
    request: Request,
    session: DB,
    user: User,
    package: Annotated[str, Form()],
    quantity: Annotated[int, Form()],
) -> Response:
    return _on_supply(
        request,
        session,
        user,
        "request",
        lambda: supply.request(session, user, package=package, quantity=quantity),
    )


@router.post("/sterile-supplies/{supply_id}/dispatch", response_class=HTMLResponse)
def dispatch_supply(
    supply_id: int,
    request: Request,
    session: DB,
    user: User,
    due_back_on: Annotated[date, Form()],
) -> Response:
    return _on_supply(
        request,
        session,
        user,
        f"supply-{supply_id}",
        lambda: supply.dispatch(session, user, supply_id, due_back_on=due_back_on),
    )


@router.post("/sterile-supplies/{supply_id}/return", response_class=HTMLResponse)
def return_supply(supply_id: int, request: Request, session: DB, user: User) -> Response:
    return _on_supply(
        request,
        session,
        user,
        f"supply-{supply_id}",
        lambda: supply.record_return(session, user, supply_id),
    )


@router.get("/networks/{code}/diagnostics-measures", response_class=HTMLResponse)
def measures_page(
    code: str,
    request: Request,
    session: DB,
    user: User,
    year: Year = None,
) -> Response:
    """Recognition rate, repeats by reason, cost avoided, turnaround per centre and
    teleconsultations (D2-D4)."""
    found = network_measures(session, user, code, year)
    return render(
        request,
        "diagnostics/measures.html",
        user,
        found=found,
        year=found.year,
        repeats=REPEATS,
        consults=CONSULTS,
    )


# --- external quality assessment (D3), the commission's page ---------------------------------


def _quality_page(
    request: Request,
    session: Session,
    user: Principal,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    access.require_role(user, Role.REGULATOR)
    found = diagnostics.assessments(session, user)
    names = {}
    for code in {a.institution_code for a in found}:
        institution = registry.get_institution(session, code)
        names[code] = institution.name_zh if institution else code
    return render(
        request,
        "diagnostics/quality.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        assessments=found,
        names=names,
        categories=diagnostics.categories(),
        results=list(AssessmentResult),
        today=clock.today(),
    )


@router.get("/quality-assessments", response_class=HTMLResponse)
def quality_page(request: Request, session: DB, user: User) -> Response:
    """Every institution's external quality assessments, and the form to record one."""
    return _quality_page(request, session, user)


@router.post("/quality-assessments", response_class=HTMLResponse)
def record_quality(
    request: Request,
    session: DB,
    user: User,
    institution_code: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    scheme: Annotated[str, Form()] = "",
    assessed_on: Annotated[str, Form()] = "",
    result: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
) -> Response:
    typed = {
        "institution_code": institution_code.strip(),
        "category": category,
        "scheme": scheme.strip(),
        "assessed_on": assessed_on,
        "result": result,
        "valid_until": valid_until,
    }
    return submit(
        session,
        "quality",
        lambda: QualityAssessmentIn.model_validate(typed),
        lambda data: diagnostics.record_assessment(session, user, data),
        refused=lambda error: _quality_page(request, session, user, error, typed),
        done=lambda _: "/quality-assessments",
    )
