"""HTML pages of the grid planner: the city with today's grids, the request form, a plan on
the map beside today's grids with its figures and A1-A3 check, adopt and export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault
from caregrid.i18n import msg
from caregrid.planning import service as planner
from caregrid.planning.schemas import PlanOut, PlanRequest, SurveyOut
from caregrid.registry import service as registry
from caregrid.web.deps import DB, RowId, User
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/planning", response_class=HTMLResponse)
def cities(request: Request, session: DB, user: User) -> Response:
    found = [planner.survey(session, user, c.code) for c in registry.cities(session)]
    return render(request, "planning/index.html", user, surveys=found)


def _map_data(survey: SurveyOut, plan: PlanOut | None = None) -> dict[str, Any]:
    """What planner.js draws: areas as points, borders, leads, today's and the plan's grid."""
    planned = {a.code: a.planned for a in plan.areas} if plan else {}
    return {
        "unit": survey.travel_unit,
        "areas": [
            {
                "code": a.code,
                "name": a.name_zh,
                "population": a.population,
                "lat": a.lat,
                "lon": a.lon,
                "today": a.today,
                "planned": planned.get(a.code),
            }
            for a in survey.areas
        ],
        "borders": survey.borders,
        "leads": [{"code": c.code, "name": c.name_zh, "site": c.site} for c in survey.candidates],
    }


def _city_page(
    request: Request, session: DB, user: User, city: str, error: FormError | None = None
) -> Response:
    survey = planner.survey(session, user, city)
    return render(
        request,
        "planning/city.html",
        user,
        status=error.status if error else 200,
        survey=survey,
        plans=planner.plans(session, user, city),
        data=_map_data(survey),
        error=error,
    )


@router.get("/planning/{city}", response_class=HTMLResponse)
def city_page(city: str, request: Request, session: DB, user: User) -> Response:
    return _city_page(request, session, user, city)


def _number(raw: object, name: str, kind: type[int] | type[float]) -> int | float | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError as exc:
        raise InvalidInput([Fault(name, msg("{text!r} is not a number", text=text))]) from exc


@router.post("/planning/{city}/plans", response_class=HTMLResponse)
async def draw(city: str, request: Request, session: DB, user: User) -> Response:
    form = await request.form()

    def read() -> PlanRequest:
        values = {
            name: _number(form.get(name), name, kind)
            for name, kind in (
                ("grids", int),
                ("population_min", int),
                ("population_max", int),
                ("beds_per_1000_min", float),
                ("moves_max", int),
                ("max_seconds", float),
            )
        }
        return PlanRequest.model_validate(
            {
                **{k: v for k, v in values.items() if v is not None},
                "contiguous": form.get("contiguous") == "on",
            }
        )

    return submit(
        session,
        "plan",
        read,
        lambda body: planner.draw(session, user, city, body),
        refused=lambda error: _city_page(request, session, user, city, error),
        done=lambda row: f"/planning/plans/{row.id}",
    )


def _plan_page(
    request: Request, session: DB, user: User, plan_id: int, error: FormError | None = None
) -> Response:
    plan = planner.get(session, user, plan_id)
    survey = planner.survey(session, user, plan.city)
    return render(
        request,
        "planning/plan.html",
        user,
        status=error.status if error else 200,
        plan=plan,
        survey=survey,
        data=_map_data(survey, plan),
        leads={c.code: c for c in survey.candidates},
        error=error,
        current_version=survey.version,
    )


@router.get("/planning/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(plan_id: RowId, request: Request, session: DB, user: User) -> Response:
    return _plan_page(request, session, user, plan_id)


@router.post("/planning/plans/{plan_id}/adopt", response_class=HTMLResponse)
def adopt(plan_id: RowId, request: Request, session: DB, user: User) -> Response:
    return submit(
        session,
        "adopt",
        lambda: plan_id,
        lambda pid: planner.adopt(session, user, pid),
        refused=lambda error: _plan_page(request, session, user, plan_id, error),
        done=lambda plan: f"/planning/plans/{plan.id}",
    )


@router.get("/planning/plans/{plan_id}/layout.yaml")
def export(plan_id: RowId, session: DB, user: User) -> Response:
    plan = planner.get(session, user, plan_id)
    text = registry.layout_text(planner.layout_of(session, user, plan_id))
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{plan.city}-plan-{plan_id}.yaml"'},
    )
