"""REST API of shared centres, orders, reports and mutual recognition (D1-D3)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caregrid.auth import access
from caregrid.diagnostics import measures, supply, teleconsult
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.models import SterileSupply, Teleconsultation
from caregrid.diagnostics.schemas import CentreIn, OrderIn, OrderOut, RepeatIn, ReportIn, ResultOut
from caregrid.diagnostics.vocab import OrderState
from caregrid.rates import RateOut
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["diagnostics"])


class CentreOut(BaseModel):
    id: int
    kind: str
    name: str
    institution_id: int
    items: dict[str, int]  # item code -> promised turnaround hours
    members: list[int]


class AdvanceIn(BaseModel):
    to: OrderState


class ReuseIn(BaseModel):
    result_id: int


class TurnaroundOut(BaseModel):
    centre: str
    reports: int
    within_promise: int
    median_hours: float | None


class RecognitionMeasuresOut(BaseModel):
    network_code: str
    year: int
    recognition_rate: RateOut
    repeats_by_reason: dict[str, int]
    cost_avoided_cny: Decimal
    turnaround: list[TurnaroundOut]
    teleconsultations_by_state: dict[str, int]
    teleconsultation_median_response_hours: float | None


@router.post("/centres", response_model=CentreOut, status_code=201)
def create_centre(body: CentreIn, session: DB, user: User) -> CentreOut:
    centre = diagnostics.create_centre(session, user, body)
    return CentreOut(
        id=centre.id,
        kind=centre.kind,
        name=centre.name,
        institution_id=centre.institution_id,
        items={i.item_code: i.turnaround_hours for i in centre.items},
        members=[m.institution_id for m in centre.members],
    )


@router.post("/orders", response_model=OrderOut, status_code=201)
def place_order(body: OrderIn, session: DB, user: User) -> OrderOut:
    """Order an item; valid prior results in scope come back as `offers`."""
    return diagnostics.order_view(session, diagnostics.place_order(session, user, body))


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: int, session: DB, user: User) -> OrderOut:
    order = diagnostics.get_order(session, order_id)
    access.patient_access(session, user, order.resident_id)
    return diagnostics.order_view(session, order)


@router.post("/orders/{order_id}/advance", response_model=OrderOut)
def advance(order_id: int, body: AdvanceIn, session: DB, user: User) -> OrderOut:
    return diagnostics.order_view(session, diagnostics.advance(session, user, order_id, body.to))


@router.post("/orders/{order_id}/report", response_model=ResultOut, status_code=201)
def report(order_id: int, body: ReportIn, session: DB, user: User) -> ResultOut:
    result = diagnostics.report(session, user, order_id, body)
    return diagnostics.result_view(session, result, own=True)


@router.post("/orders/{order_id}/recognise", response_model=OrderOut)
def recognise(order_id: int, body: ReuseIn, session: DB, user: User) -> OrderOut:
    """Reuse a valid prior result (D3)."""
    return diagnostics.order_view(
        session, diagnostics.recognise(session, user, order_id, body.result_id)
    )


@router.post("/orders/{order_id}/repeat", response_model=OrderOut)
def repeat(order_id: int, body: RepeatIn, session: DB, user: User) -> OrderOut:
    """Repeat despite a valid prior result, with one of the six coded reasons (D3)."""
    return diagnostics.order_view(session, diagnostics.repeat(session, user, order_id, body))


@router.get("/networks/{code}/recognition-measures", response_model=RecognitionMeasuresOut)
def recognition_measures(
    code: str,
    session: DB,
    user: User,
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> RecognitionMeasuresOut:
    found = measures.network_year(session, user, code, year)
    return RecognitionMeasuresOut(
        network_code=found.network_code,
        year=year,
        recognition_rate=RateOut.of(found.rate),
        repeats_by_reason=found.repeats_by_reason,
        cost_avoided_cny=found.cost_avoided_cny,
        turnaround=[TurnaroundOut(**t.__dict__) for t in found.turnaround],
        teleconsultations_by_state=found.consults.by_state,
        teleconsultation_median_response_hours=found.consults.median_response_hours,
    )


# --- teleconsultation (D4) and sterilisation supply ------------------------------------------


class ConsultIn(BaseModel):
    resident_id: int
    to_institution_code: str
    to_department_id: int
    question: str
    expert_code: str | None = None


class ConsultScheduleIn(BaseModel):
    at: datetime
    meeting_link: str


class ConsultAnswerIn(BaseModel):
    opinion: str


class ConsultOut(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    resident_id: int
    state: str
    question: str
    requested_at: datetime
    scheduled_for: datetime | None
    meeting_link: str | None
    opinion: str | None
    answered_by: str | None
    answered_at: datetime | None


class SupplyIn(BaseModel):
    package: str
    quantity: int


class DispatchIn(BaseModel):
    due_back_on: date


class SupplyOut(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    package: str
    quantity: int
    state: str
    due_back_on: date | None


@router.post("/teleconsultations", response_model=ConsultOut, status_code=201)
def request_consult(body: ConsultIn, session: DB, user: User) -> Teleconsultation:
    return teleconsult.request(session, user, **body.model_dump())


@router.get("/teleconsultations/inbox", response_model=list[ConsultOut])
def consult_inbox(session: DB, user: User) -> list[Teleconsultation]:
    return teleconsult.inbox(session, user)


@router.post("/teleconsultations/{consult_id}/schedule", response_model=ConsultOut)
def schedule_consult(
    consult_id: int, body: ConsultScheduleIn, session: DB, user: User
) -> Teleconsultation:
    return teleconsult.schedule(
        session, user, consult_id, at=body.at, meeting_link=body.meeting_link
    )


@router.post("/teleconsultations/{consult_id}/answer", response_model=ConsultOut)
def answer_consult(
    consult_id: int, body: ConsultAnswerIn, session: DB, user: User
) -> Teleconsultation:
    return teleconsult.answer(session, user, consult_id, opinion=body.opinion)


@router.post("/teleconsultations/{consult_id}/close", response_model=ConsultOut)
def close_consult(consult_id: int, session: DB, user: User) -> Teleconsultation:
    return teleconsult.close(session, user, consult_id)


@router.post("/sterile-supplies", response_model=SupplyOut, status_code=201)
def request_supply(body: SupplyIn, session: DB, user: User) -> SterileSupply:
    return supply.request(session, user, package=body.package, quantity=body.quantity)


@router.post("/sterile-supplies/{supply_id}/dispatch", response_model=SupplyOut)
def dispatch_supply(supply_id: int, body: DispatchIn, session: DB, user: User) -> SterileSupply:
    return supply.dispatch(session, user, supply_id, due_back_on=body.due_back_on)


@router.post("/sterile-supplies/{supply_id}/return", response_model=SupplyOut)
def return_supply(supply_id: int, session: DB, user: User) -> SterileSupply:
    return supply.record_return(session, user, supply_id)
