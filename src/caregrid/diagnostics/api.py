"""REST API of shared centres, orders, reports and mutual recognition (D1-D3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.diagnostics import quality, supply, teleconsult
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.models import SterileSupply, Teleconsultation
from caregrid.diagnostics.schemas import (
    CentreIn,
    OrderIn,
    OrderOut,
    QualityAssessmentIn,
    QualityAssessmentOut,
    RepeatIn,
    ReportIn,
    ResultOut,
)
from caregrid.diagnostics.vocab import CentreKind, ConsultState, OrderState, RepeatReason
from caregrid.indicators import service as indicators
from caregrid.indicators.schemas import FigureOut
from caregrid.registry import service as registry
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


# --- the yearly measures (D2-D4), all indicator definitions ----------------------------------

NETWORK = ("MR2", "MR3", "TM2")  # for the network as a whole
REPEATS = tuple(f"MR4-{r.value}" for r in RepeatReason)  # repeats by coded reason
CONSULTS = tuple(f"TM1-{s.value}" for s in ConsultState)  # teleconsultations by state
CENTRE_KINDS = tuple(k for k in CentreKind if k is not CentreKind.STERILISATION)
TURNAROUND = tuple(f"DC{n}-{k.value}" for k in CENTRE_KINDS for n in (1, 2))  # per centre
# Every figure the page and this API show: the two-way test checks each one by hand.
FIGURES = NETWORK + REPEATS + CONSULTS + TURNAROUND


class CentreTurnaroundOut(BaseModel):
    centre: str
    kind: str
    institution_code: str  # the institution running it, where its figures are attributed
    within_turnaround: FigureOut  # DC1 of its kind: reports within the promise / reports
    mean_hours: FigureOut  # DC2 of its kind: hours summed / reports


class RecognitionMeasuresOut(BaseModel):
    network_code: str
    year: int
    first_month: str
    last_month: str
    as_of: date
    figures: dict[str, FigureOut]  # NETWORK, REPEATS and CONSULTS, for the network
    turnaround: list[CentreTurnaroundOut]


def network_measures(
    session: Session, principal: Principal, code: str, year: int | None
) -> RecognitionMeasuresOut:
    """For the network's office and the commission only: the figures span every member."""
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "these measures are for the network's office and the commission"
    )
    chosen = year if year is not None else clock.today().year
    period = indicators.year_period(chosen, clock.today())
    rows = {r.code: r.figures for r in indicators.network_rows(session, code, FIGURES, period)}
    codes = registry.codes_by_id(session)
    centres = []
    for centre in diagnostics.network_centres(session, network.id):
        if centre.kind == CentreKind.STERILISATION:
            continue
        at = rows[codes[centre.institution_id]]
        centres.append(
            CentreTurnaroundOut(
                centre=centre.name,
                kind=centre.kind,
                institution_code=codes[centre.institution_id],
                within_turnaround=FigureOut.of(at[f"DC1-{centre.kind}"]),
                mean_hours=FigureOut.of(at[f"DC2-{centre.kind}"]),
            )
        )
    return RecognitionMeasuresOut(
        network_code=network.code,
        year=chosen,
        first_month=period[0],
        last_month=period[1],
        as_of=min(clock.today(), indicators.period_end(period)),
        figures={i: FigureOut.of(rows[network.code][i]) for i in NETWORK + REPEATS + CONSULTS},
        turnaround=centres,
    )


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


# --- external quality assessment (D3): what makes an issuer's results eligible ---------------


@router.post("/quality-assessments", response_model=QualityAssessmentOut, status_code=201)
def record_quality_assessment(
    body: QualityAssessmentIn, session: DB, user: User
) -> QualityAssessmentOut:
    """Record one external quality assessment (the health commission)."""
    row = diagnostics.record_assessment(session, user, body)
    return quality.view(row, body.institution_code)


@router.get("/quality-assessments", response_model=list[QualityAssessmentOut])
def list_quality_assessments(
    session: DB, user: User, institution_code: Annotated[str | None, Query()] = None
) -> list[QualityAssessmentOut]:
    """Recorded assessments, newest first; one institution's with `institution_code`."""
    return diagnostics.assessments(session, user, institution_code)


@router.post(
    "/quality-assessments/import",
    response_model=list[QualityAssessmentOut],
    status_code=201,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_quality_assessments(
    request: Request, session: DB, user: User
) -> list[QualityAssessmentOut]:
    """A year's list in CSV (`institution_code,category,scheme,assessed_on,result,valid_until`):
    all rows or none; every bad cell comes back with its line and column."""
    text = (await request.body()).decode("utf-8", errors="replace")
    rows = diagnostics.import_csv(session, user, text, file="assessments.csv")
    codes = registry.codes_by_id(session)
    return [quality.view(r, codes[r.institution_id]) for r in rows]


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
    """Recognition, repeats by reason, cost avoided, turnaround per centre and
    teleconsultations for a year (D2-D4), each an indicator of the catalogue."""
    return network_measures(session, user, code, year)


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
