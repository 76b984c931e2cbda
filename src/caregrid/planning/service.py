"""The grid planner over the registry: draw a plan for a city, keep it, show it beside
today's grids with the A1-A3 check, and adopt it as the city's next layout version.

Planning grids is the health commission's (`access.require_plan_layout`); every plan drawn
and adopted is audited.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, NotFound
from caregrid.errors import Problem as Fault
from caregrid.i18n import msg
from caregrid.planning import frame as framing
from caregrid.planning import solver
from caregrid.planning.graph import stray_parts
from caregrid.planning.matching import best_matching
from caregrid.planning.models import GridPlan
from caregrid.planning.problem import Plan
from caregrid.planning.schemas import (
    AreaOut,
    CandidateOut,
    CheckOut,
    Figures,
    GridOut,
    LeadChange,
    PlanOut,
    PlanRequest,
    SurveyOut,
)
from caregrid.planning.vocab import PlanState
from caregrid.registry import service as registry
from caregrid.registry.layout import DivisionSpec, GridSpec, LayoutFile, MemberSpec
from caregrid.registry.vocab import NetworkRole, Tier

__all__ = ["GridPlan", "adopt", "draw", "get", "layout_of", "plans", "survey"]

# The solver's field names, as the planner's request calls them.
REQUEST_FIELD = {
    "k": "grids",
    "capacity": "beds_per_1000_min",
    "adjacency": "contiguous",
    "site_area": "institutions.division",
    "cost": "divisions",
}


def survey(session: Session, actor: Principal, city: str) -> SurveyOut:
    """The city as the planner reads it; a layout it cannot plan yet lists every reason."""
    access.require_plan_layout(actor)
    layout = registry.layout(session, city)
    names = {g.code: g.name_zh for g in layout.grids}
    version = registry.layout_version(session, city)
    try:
        _profiles, minimum = framing.rules(layout, None)
        found = framing.build(layout, PlanRequest(grids=minimum, contiguous=False))
    except InvalidInput as exc:
        return SurveyOut(
            city=city,
            name_zh=layout.city.name_zh,
            name_en=layout.city.name_en,
            version=version,
            travel_unit=None,
            min_grids=None,
            areas=[_area(a, None, None) for a in framing.leaves(layout)],
            borders=[],
            candidates=[],
            grids=names,
            refusals=[f"{p.field}: {p.message}" for p in exc.problems],
        )
    assert found.problem.site_area is not None
    leads_today: dict[str, list[str]] = {}
    for n in layout.networks:
        lead = _lead(layout, n.code)
        if lead is not None:
            leads_today.setdefault(lead, []).append(n.grid)
    codes = [a.code for a in found.areas]
    return SurveyOut(
        city=city,
        name_zh=layout.city.name_zh,
        name_en=layout.city.name_en,
        version=version,
        travel_unit="km" if found.travel_unit == "km" else "hops",
        min_grids=found.min_grids,
        areas=[_area(a, found.today_grid[i], None) for i, a in enumerate(found.areas)],
        borders=[(codes[a], codes[b]) for a, b in framing.borders(found.areas)],
        candidates=[
            CandidateOut(
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                beds=c.beds,
                site=codes[int(found.problem.site_area[j])],
                leads_today=leads_today.get(c.code, []),
            )
            for j, c in enumerate(found.candidates)
        ],
        grids=names,
        refusals=[],
    )


def _area(a: DivisionSpec, today: str | None, planned: str | None) -> AreaOut:
    return AreaOut(
        code=a.code,
        name_zh=a.name_zh,
        name_en=a.name_en,
        population=a.population or 0,
        lat=a.lat,
        lon=a.lon,
        today=today,
        planned=planned or "",
    )


def draw(session: Session, actor: Principal, city: str, request: PlanRequest) -> GridPlan:
    """Solve for the city's grids within the request's time, keep the plan, audit it."""
    access.require_plan_layout(actor)
    layout = registry.layout(session, city)
    found = framing.build(layout, request)
    try:
        bound = solver.solve(found.problem, seconds=request.max_seconds)
    except InvalidInput as exc:
        raise InvalidInput(
            [Fault(REQUEST_FIELD.get(p.field, p.field), p.reason) for p in exc.problems]
        ) from exc
    if bound.plan is None:
        reason = bound.note or f"no plan found in {request.max_seconds:g} s"
        raise InvalidInput(
            [
                Fault(
                    "max_seconds",
                    msg("{reason}; allow more time or loosen the bounds", reason=reason),
                )
            ]
        )
    result = _report(layout, found, bound.plan, registry.layout_version(session, city))
    result.lower_bound, result.gap = bound.lower, bound.gap
    result.optimal, result.seconds = bound.optimal, bound.seconds
    row = GridPlan(
        city_id=registry.city_id(session, city),
        created_at=clock.now(),
        created_by=actor.username,
        request=request.model_dump(mode="json"),
        result=result.model_dump(mode="json", exclude={"id"}),
        state="proposed",
    )
    session.add(row)
    session.flush()
    audit.record_for(
        session,
        actor,
        action="plan.draw",
        subject_type="grid_plan",
        subject_id=row.id,
        purpose="grid planning",
        detail={"city": city, "grids": request.grids, "gap": round(bound.gap, 6)},
    )
    return row


def _report(layout: LayoutFile, found: framing.Frame, plan: Plan, version: int) -> PlanOut:
    """Figures per grid, the plan against today's, and the A1-A3 check of the result."""
    areas, candidates, travel = found.areas, found.candidates, found.travel
    population = np.array([a.population or 0 for a in areas], dtype=float)
    assignment = np.array(plan.assignment, dtype=np.int64)
    current = found.problem.current if found.problem.current is not None else None
    today_code = {
        i: candidates[int(current[i])].code
        for i in range(len(areas))
        if current is not None and current[i] >= 0
    }
    match = _match(layout, found, plan)
    grids = []
    for lead, members in sorted(plan.grids().items(), key=lambda kv: candidates[kv[0]].code):
        inst = candidates[lead]
        pop = float(population[members].sum())
        km = travel[members, lead]
        grid_code, network, _shares = match.get(lead, (None, None, True))
        grids.append(
            GridOut(
                lead=inst.code,
                lead_name_zh=inst.name_zh,
                lead_name_en=inst.name_en,
                grid_code=grid_code,
                network=network,
                areas=[areas[i].code for i in members],
                population=int(pop),
                beds=inst.beds,
                beds_per_1000=None if inst.beds is None else round(inst.beds * 1000 / pop, 3),
                mean_travel=round(float((km * population[members]).sum() / pop), 3),
                worst_travel=round(float(km.max()), 3),
                moved_in=sum(1 for i in members if today_code.get(i) != inst.code),
            )
        )
    moved = sum(1 for i, j in enumerate(plan.assignment) if today_code.get(i) != candidates[j].code)
    out = PlanOut(
        city=layout.city.code,
        based_on_version=version,
        travel_unit="km" if found.travel_unit == "km" else "hops",
        outside_today=sum(g is None for g in found.today_grid),
        grids=grids,
        areas=[
            AreaOut(
                code=a.code,
                name_zh=a.name_zh,
                name_en=a.name_en,
                population=a.population or 0,
                lat=a.lat,
                lon=a.lon,
                today=today_code.get(i),
                planned=candidates[plan.assignment[i]].code,
            )
            for i, a in enumerate(areas)
        ],
        objective=plan.cost,
        lower_bound=plan.cost,
        gap=0.0,
        optimal=False,
        seconds=0.0,
        moved=moved,
        checks=_checks(layout, found, plan),
        plan=_figures(found, assignment, plan.cost),
        today=_today_figures(found),
        lead_changes=[
            LeadChange(network=network, old=old, new=candidates[lead].code, shares=shares)
            for lead, (_grid, network, shares) in match.items()
            if network is not None and (old := _lead(layout, network)) != candidates[lead].code
        ],
    )
    return out


def _figures(found: framing.Frame, assignment: np.ndarray, objective: float) -> Figures:
    population = found.problem.loads()
    loads = np.bincount(assignment, weights=population, minlength=found.problem.candidates)
    used = loads[np.unique(assignment)]
    km = found.travel[np.arange(len(assignment)), assignment]
    return Figures(
        objective=round(objective, 3),
        grids=len(used),
        population_min=int(used.min()),
        population_max=int(used.max()),
        mean_travel=round(float((km * population).sum() / population.sum()), 3),
        worst_travel=round(float(km.max()), 3),
    )


def _today_figures(found: framing.Frame) -> Figures | None:
    """Today's grids on the same scale, when every area's grid has a candidate lead."""
    current = found.problem.current
    if current is None or np.any(current < 0):
        return None
    cost = float(found.problem.cost[np.arange(len(current)), current].sum())
    return _figures(found, current, cost)


def _checks(layout: LayoutFile, found: framing.Frame, plan: Plan) -> list[CheckOut]:
    """The result against A1-A3 and contiguity, each verified on the plan itself."""
    n = len(found.areas)
    assigned = len(plan.assignment) == n and all(j in plan.leads for j in plan.assignment)
    leads = [found.candidates[j] for j in plan.leads]
    contiguous = found.problem.adjacency is None or not stray_parts(
        found.problem, np.array(plan.assignment, dtype=np.int64)
    )
    k = len(set(plan.leads))
    return [
        CheckOut(
            requirement="A1",
            passed=assigned,
            detail=f"{n} areas of {layout.city.code}, each in exactly one of {k} grids",
        ),
        CheckOut(
            requirement="A2",
            passed=len(leads) == k and all(framing.may_lead(i, found.profiles) for i in leads),
            detail="one lead per grid: "
            + ", ".join(f"{i.code} ({i.level} {i.category})" for i in leads),
        ),
        CheckOut(
            requirement="A3",
            passed=k >= found.min_grids,
            detail=f"{k} grids, at least {found.min_grids} required",
        ),
        CheckOut(
            requirement="contiguity",
            passed=contiguous,
            detail="every grid connected over shared borders"
            if found.problem.adjacency is not None
            else "not asked for",
        ),
    ]


def _lead(layout: LayoutFile, network: str) -> str | None:
    net = next(n for n in layout.networks if n.code == network)
    return next((m.institution for m in net.members if m.role is NetworkRole.LEAD), None)


# planned lead -> (today's grid, its network, whether they share residents)
Matched = dict[int, tuple[str, str | None, bool]]


def _match(layout: LayoutFile, found: framing.Frame, plan: Plan) -> Matched:
    """Which of today's grids each planned grid continues, one to one, keeping the most
    residents in matched pairs (a planned lead that leads a grid today counts as sharing all
    of it, so it keeps its grid). A pair sharing no one is no continuation: that planned grid
    is new, unless that grid of today holds a network: the network then moves to the planned
    grid (flagged, so the page says so) rather than be left without a grid (A1). A matched grid
    keeps its code and its network."""
    population = found.problem.loads()
    leads = sorted(plan.leads)
    grids = [g.code for g in layout.grids]
    weights = np.zeros((len(leads), len(grids)))
    row = {lead: r for r, lead in enumerate(leads)}
    column = {code: c for c, code in enumerate(grids)}
    for i, lead in enumerate(plan.assignment):
        grid = found.today_grid[i]
        if grid is not None:
            weights[row[lead], column[grid]] += float(population[i])
    network_of = {n.grid: n.code for n in layout.networks}
    for n in layout.networks:
        lead_code = _lead(layout, n.code)
        for r, lead in enumerate(leads):
            if found.candidates[lead].code == lead_code:
                weights[r, column[n.grid]] += float(population.sum())
    return {
        leads[r]: (grids[c], network_of.get(grids[c]), bool(weights[r, c] > 0))
        for r, c in best_matching(weights).items()
        if weights[r, c] > 0 or grids[c] in network_of
    }


def get(session: Session, actor: Principal, plan_id: int) -> PlanOut:
    access.require_plan_layout(actor)
    row = session.get(GridPlan, plan_id)
    if row is None:
        raise NotFound("no grid plan {plan_id}", plan_id=plan_id)
    return _out(row)


def _out(row: GridPlan) -> PlanOut:
    return PlanOut.model_validate({**row.result, "id": row.id, "state": row.state})


def plans(session: Session, actor: Principal, city: str) -> list[PlanOut]:
    """The city's plans, newest first."""
    access.require_plan_layout(actor)
    rows = session.scalars(
        select(GridPlan)
        .where(GridPlan.city_id == registry.city_id(session, city))
        .order_by(GridPlan.id.desc())
    )
    return [_out(r) for r in rows]


def layout_of(session: Session, actor: Principal, plan_id: int) -> LayoutFile:
    """The city's layout with the plan's grids in place of today's: what adopting writes,
    and what the export hands to `registry import`."""
    plan = get(session, actor, plan_id)
    return _planned(registry.layout(session, plan.city), plan)


def _planned(layout: LayoutFile, plan: PlanOut) -> LayoutFile:
    """Each planned grid continues the today's grid it matched (code, name, network; the
    network's lead becomes the planned lead), or is a new grid. A network whose grid the
    plan does not continue would be left without a grid (A1): refused, naming it."""
    kept = {g.grid_code for g in plan.grids if g.grid_code}
    orphans = [n.code for n in layout.networks if n.grid not in kept]
    if orphans:
        raise Conflict(
            "the plan draws {count} grids but networks {orphans} would be left without one "
            "(A1): draw as many grids as there are networks, or merge those networks first",
            count=len(plan.grids),
            orphans=", ".join(orphans),
        )
    names = {i.code: i for i in layout.institutions}
    grids_by_code = {g.code: g for g in layout.grids}
    grids: list[GridSpec] = []
    for g in plan.grids:
        if g.grid_code is not None:
            old = grids_by_code[g.grid_code]
            grids.append(old.model_copy(update={"divisions": sorted(g.areas)}))
        else:
            lead = names[g.lead]
            grids.append(
                GridSpec(
                    code=f"{layout.city.code}-grid-{lead.code}",
                    name_zh=f"{lead.name_zh}网格",
                    name_en=f"{lead.name_en} grid" if lead.name_en else None,
                    divisions=sorted(g.areas),
                    note=f"drawn by the grid planner (plan {plan.id})",
                )
            )
    new_lead = {g.network: g.lead for g in plan.grids if g.network}
    networks = []
    for n in layout.networks:
        planned = new_lead.get(n.code)
        if planned is not None:
            n = n.model_copy(update={"members": _relead(n.members, planned)})
        networks.append(n)
    return layout.model_copy(update={"grids": grids, "networks": networks})


def _relead(members: list[MemberSpec], lead: str) -> list[MemberSpec]:
    """The planned lead leads; a former lead stays as a member at the same tier."""
    old = next((m for m in members if m.role is NetworkRole.LEAD), None)
    if old is not None and old.institution == lead:
        return members
    tier = old.tier if old is not None else Tier.CITY
    out = [
        m.model_copy(update={"role": NetworkRole.MEMBER}) if m.role is NetworkRole.LEAD else m
        for m in members
        if m.institution != lead
    ]
    return [MemberSpec(institution=lead, role=NetworkRole.LEAD, tier=tier), *out]


def adopt(session: Session, actor: Principal, plan_id: int) -> PlanOut:
    """Write the plan as the city's next layout version, through the registry's checks (all or
    nothing); refused when the layout changed since the plan was drawn."""
    access.require_plan_layout(actor)
    row = session.get(GridPlan, plan_id, with_for_update=True)
    if row is None:
        raise NotFound("no grid plan {plan_id}", plan_id=plan_id)
    plan = _out(row)
    if row.state != "proposed":
        raise Conflict(
            "plan {plan_id} is {state}; only a proposed plan can be adopted",
            plan_id=plan_id,
            state=PlanState(row.state),
        )
    now = registry.layout_version(session, plan.city)
    if now != plan.based_on_version:
        raise Conflict(
            "the layout of {city} changed since plan {plan_id} was drawn (version "
            "{based_on_version}, now {now}): draw the plan again",
            city=plan.city,
            plan_id=plan_id,
            based_on_version=plan.based_on_version,
            now=now,
        )
    report = registry.replace_layout(
        session, actor, _planned(registry.layout(session, plan.city), plan),
        purpose=f"grid plan {plan_id} adopted",
    )  # fmt: skip
    for other in session.scalars(
        select(GridPlan).where(
            GridPlan.city_id == row.city_id, GridPlan.state == "proposed", GridPlan.id != row.id
        )
    ):
        other.state = "superseded"
    row.state, row.adopted_at, row.adopted_by = "adopted", clock.now(), actor.username
    row.layout_version = report.version
    session.flush()
    audit.record_for(
        session,
        actor,
        action="plan.adopt",
        subject_type="grid_plan",
        subject_id=row.id,
        purpose="grid planning",
        detail={"city": plan.city, "version": report.version},
    )
    return _out(row)
