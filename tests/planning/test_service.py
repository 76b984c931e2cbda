"""The planner over the registry: a layout read as a problem, plans checked against brute
force and A1-A3, adoption as a new layout version, and every refusal naming its field."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import make_principal
from tests.planning.citylayout import POPULATION, division, planville, write

from caregrid.auth.models import AuditEntry
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.planning import frame as framing
from caregrid.planning import service as planner
from caregrid.planning.graph import stray_parts
from caregrid.planning.schemas import PlanRequest
from caregrid.registry import checks, importer
from caregrid.registry import service as registry


def _import(session: Session, tmp_path: Path, data: dict[str, object] | None = None) -> None:
    path = write(tmp_path, data or planville())
    importer.apply(session, importer.load(path), actor=SYSTEM)


@pytest.fixture
def regulator(session: Session, tmp_path: Path) -> Principal:
    _import(session, tmp_path)
    return make_principal(session, "planner-reg", Role.REGULATOR)


def _fields(caught: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {p.field: p.message for p in caught.value.problems}


def test_layout_reads_as_areas_candidates_and_today(session: Session, regulator: Principal) -> None:
    found = framing.build(registry.layout(session, "planville"), PlanRequest(grids=2))
    assert [a.code for a in found.areas] == sorted(POPULATION)
    assert [c.code for c in found.candidates] == ["h11", "h13", "h33"]  # s22 is secondary (A2)
    assert found.travel_unit == "km"
    assert found.problem.current is not None
    assert list(found.problem.current) == [0, 0, 1, 0, 0, 1, 0, 1, 1]
    # one lattice step of 0.05 degrees of latitude is about 5.56 km
    t21, h11 = 3, 0
    assert found.travel[t21, h11] == pytest.approx(5.56, abs=0.01)
    assert found.problem.cost[t21, h11] == pytest.approx(POPULATION["t21"] * found.travel[t21, h11])
    assert found.min_grids == 1 and len(found.problem.adjacency or ()) == 12


def _brute_force(found: framing.Frame, k: int) -> float:
    """Every assignment of the nine areas to every k leads, each lead in its own area, every
    grid contiguous: the cheapest."""
    problem = found.problem
    assert problem.site_area is not None
    best = float("inf")
    for leads in itertools.combinations(range(problem.candidates), k):
        for choice in itertools.product(leads, repeat=problem.areas):
            assignment = np.array(choice, dtype=np.int64)
            if any(assignment[problem.site_area[j]] != j for j in leads):
                continue
            if len(set(choice)) < k or stray_parts(problem, assignment):
                continue
            best = min(best, float(problem.cost[np.arange(problem.areas), assignment].sum()))
    return best


def test_plan_is_the_brute_force_optimum_and_passes_a1_to_a3(
    session: Session, regulator: Principal
) -> None:
    request = PlanRequest(grids=2, max_seconds=20)
    row = planner.draw(session, regulator, "planville", request)
    plan = planner.get(session, regulator, row.id)
    found = framing.build(registry.layout(session, "planville"), request)
    assert plan.objective == pytest.approx(_brute_force(found, 2), rel=1e-9)
    assert plan.optimal and plan.gap == 0.0
    assert {c.requirement: c.passed for c in plan.checks} == {
        "A1": True, "A2": True, "A3": True, "contiguity": True,
    }  # fmt: skip
    assert sorted(a for g in plan.grids for a in g.areas) == sorted(POPULATION)
    assert sum(g.population for g in plan.grids) == sum(POPULATION.values())
    assert plan.today is not None and plan.plan.objective <= plan.today.objective
    for grid in plan.grids:
        assert grid.beds is not None
        assert grid.beds_per_1000 == pytest.approx(grid.beds * 1000 / grid.population, abs=1e-3)
        assert grid.worst_travel >= grid.mean_travel


def test_three_grids_brute_force_with_bed_capacity(session: Session, regulator: Principal) -> None:
    request = PlanRequest(grids=3, beds_per_1000_min=2.5, max_seconds=20)
    plan = planner.get(
        session, regulator, planner.draw(session, regulator, "planville", request).id
    )
    for grid in plan.grids:
        assert grid.beds_per_1000 is not None and grid.beds_per_1000 >= 2.5
    found = framing.build(registry.layout(session, "planville"), request)
    assert found.problem.capacity is not None
    assert list(found.problem.capacity) == pytest.approx([200_000, 120_000, 160_000])
    # t22 (90,000) fits only with h11: with h33 its grid would pass 160,000
    assert plan.objective >= _brute_force(found, 3) - 1e-6


def test_refusals_name_the_field(session: Session, tmp_path: Path) -> None:
    data = planville(pilot_level="provincial")
    del division(data, "t23")["population"]
    del division(data, "t23")["population_source"]
    _import(session, tmp_path, data)
    reg = make_principal(session, "planner-reg2", Role.REGULATOR)
    with pytest.raises(InvalidInput) as caught:
        planner.draw(session, reg, "planville", PlanRequest(grids=1))
    fields = _fields(caught)
    assert "t23" in fields["divisions.population"]
    assert "at least 2 grids (A3" in fields["grids"]  # a provincial pilot city


def test_more_grids_than_candidate_leads(session: Session, regulator: Principal) -> None:
    with pytest.raises(InvalidInput) as caught:
        planner.draw(session, regulator, "planville", PlanRequest(grids=4))
    assert "only 3 candidates" in _fields(caught)["grids"]


def test_population_bounds_no_plan_can_meet(session: Session, regulator: Principal) -> None:
    total = sum(POPULATION.values())
    with pytest.raises(InvalidInput) as caught:
        planner.draw(
            session, regulator, "planville", PlanRequest(grids=2, population_min=total // 2 + 1)
        )
    assert "population_min" in _fields(caught)


def test_contiguity_needs_borders_and_hops_without_centroids(
    session: Session, tmp_path: Path
) -> None:
    data = planville()
    for d in data["divisions"]:
        d.pop("lat", None), d.pop("lon", None)
    _import(session, tmp_path, data)
    reg = make_principal(session, "planner-reg3", Role.REGULATOR)
    found = framing.build(registry.layout(session, "planville"), PlanRequest(grids=2))
    assert found.travel_unit == "hops"
    assert found.travel[8, 0] == 4  # t33 to h11 at t11: four borders
    for d in data["divisions"]:
        d["adjacent"] = []
    _import(session, tmp_path, data)
    with pytest.raises(InvalidInput) as caught:
        planner.draw(session, reg, "planville", PlanRequest(grids=2))
    assert "divisions.lat" in _fields(caught) and "contiguous" in _fields(caught)


def test_only_the_regulator_plans(session: Session, regulator: Principal) -> None:
    admin = make_principal(session, "planner-net", Role.NETWORK_ADMIN, network="pv-net-a")
    with pytest.raises(Forbidden):
        planner.draw(session, admin, "planville", PlanRequest(grids=2))


def test_adopting_writes_a_new_version_that_passes_the_checks(
    session: Session, regulator: Principal
) -> None:
    before = registry.layout_version(session, "planville")
    first = planner.draw(session, regulator, "planville", PlanRequest(grids=2, max_seconds=20))
    second = planner.draw(session, regulator, "planville", PlanRequest(grids=2, max_seconds=5))
    adopted = planner.adopt(session, regulator, first.id)
    assert adopted.state == "adopted"
    assert planner.get(session, regulator, second.id).state == "superseded"
    assert registry.layout_version(session, "planville") == before + 1
    stored = registry.layout(session, "planville")
    planned = {g.grid_code: sorted(g.areas) for g in adopted.grids}
    assert {g.code: sorted(g.divisions) for g in stored.grids} == planned
    for result in checks.run(session):
        if result.network in {"pv-net-a", "pv-net-b"} and result.requirement in {"A1", "A2", "A3"}:
            assert result.status == "pass", (result.network, result.requirement, result.render())
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_type.in_(["grid_plan", "city"]))
    ).all()
    assert {"plan.draw", "plan.adopt", "layout.import"} <= set(actions)
    with pytest.raises(Conflict):
        planner.adopt(session, regulator, first.id)


def test_a_plan_drawn_on_an_older_layout_is_not_adopted(
    session: Session, regulator: Principal, tmp_path: Path
) -> None:
    row = planner.draw(session, regulator, "planville", PlanRequest(grids=2))
    _import(session, tmp_path)  # someone re-imports: a new version
    with pytest.raises(Conflict, match="changed since plan"):
        planner.adopt(session, regulator, row.id)


def test_one_grid_for_two_networks_is_refused_at_adoption(
    session: Session, regulator: Principal
) -> None:
    row = planner.draw(session, regulator, "planville", PlanRequest(grids=1))
    version = registry.layout_version(session, "planville")
    with pytest.raises(Conflict, match="without one"):
        planner.adopt(session, regulator, row.id)
    assert registry.layout_version(session, "planville") == version


def test_a_new_lead_takes_over_the_matched_network(session: Session, regulator: Principal) -> None:
    row = planner.draw(session, regulator, "planville", PlanRequest(grids=3))
    plan = planner.get(session, regulator, row.id)
    layout = planner.layout_of(session, regulator, row.id)
    new = next(g for g in plan.grids if g.grid_code is None)
    assert new.lead == "h33" and "planville-grid-h33" in {g.code for g in layout.grids}
    for network in layout.networks:
        leads = [m.institution for m in network.members if m.role == "lead"]
        assert len(leads) == 1
