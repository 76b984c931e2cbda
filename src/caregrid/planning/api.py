"""REST API of the grid planner: thin, calls the service."""

from __future__ import annotations

from fastapi import APIRouter, Response

from caregrid.planning import service as planner
from caregrid.planning.schemas import PlanOut, PlanRequest, SurveyOut
from caregrid.registry import service as registry
from caregrid.web.deps import DB, RowId, User

router = APIRouter(prefix="/api", tags=["planning"])


@router.get("/cities/{city}/planning", response_model=SurveyOut)
def survey(city: str, session: DB, user: User) -> SurveyOut:
    return planner.survey(session, user, city)


@router.get("/cities/{city}/plans", response_model=list[PlanOut])
def plans(city: str, session: DB, user: User) -> list[PlanOut]:
    return planner.plans(session, user, city)


@router.post("/cities/{city}/plans", response_model=PlanOut, status_code=201)
def draw(city: str, body: PlanRequest, session: DB, user: User) -> PlanOut:
    row = planner.draw(session, user, city, body)
    return planner.get(session, user, row.id)


@router.get("/plans/{plan_id}", response_model=PlanOut)
def get(plan_id: RowId, session: DB, user: User) -> PlanOut:
    return planner.get(session, user, plan_id)


@router.get("/plans/{plan_id}/layout", responses={200: {"content": {"application/yaml": {}}}})
def layout(plan_id: RowId, session: DB, user: User) -> Response:
    """The city's layout with the plan's grids, as `registry import` reads it."""
    text = registry.layout_text(planner.layout_of(session, user, plan_id))
    return Response(text, media_type="application/yaml")


@router.post("/plans/{plan_id}/adopt", response_model=PlanOut)
def adopt(plan_id: RowId, session: DB, user: User) -> PlanOut:
    return planner.adopt(session, user, plan_id)
