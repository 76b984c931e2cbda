"""The solver against brute force on small instances, and against published optima."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import SHARED, require_shared
from tests.planning.brute import brute, check_plan

from caregrid.errors import InvalidInput
from caregrid.planning import instances, lagrangian, solver
from caregrid.planning.graph import stray_parts
from caregrid.planning.problem import Problem, target_below

DATA = SHARED / "data"


@pytest.mark.parametrize("seed", range(12))
def test_uncapacitated_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(8, 20)), int(rng.integers(4, 9))
    cost = rng.integers(0, 50, size=(n, m)).astype(float)
    if seed % 2:
        cost = cost * rng.random((n, m))  # real-valued costs too
    problem = Problem(f"random-{seed}", cost, k=int(rng.integers(1, m)))
    bound = solver.solve(problem, seconds=20)
    check_plan(problem, bound.plan)
    assert bound.optimal and bound.gap == 0.0
    assert bound.upper == pytest.approx(brute(problem))
    assert solver.plain(problem, seconds=20).upper == pytest.approx(bound.upper)


@pytest.mark.parametrize("seed", range(8))
def test_capacitated_with_population_floor_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, m, k = 7, 5, int(rng.integers(2, 4))
    demand = rng.integers(1, 10, size=n).astype(float)
    cost = rng.integers(1, 30, size=(n, m)) * demand[:, None]  # population-weighted
    capacity = np.full(m, np.ceil(demand.sum() / k * 1.25))
    floor = float(demand.sum() / k * 0.5) if seed % 2 else None
    problem = Problem(
        f"cap-{seed}", cost.astype(float), k, demand=demand, capacity=capacity,
        population_min=floor,
    )  # fmt: skip
    expected = brute(problem)
    if not np.isfinite(expected):
        with pytest.raises(InvalidInput):
            solver.solve(problem, seconds=20)
        return
    bound = solver.solve(problem, seconds=20)
    plan = check_plan(problem, bound.plan)
    loads = np.bincount(plan.assignment, weights=demand, minlength=m)
    assert np.all(loads <= capacity)
    assert bound.optimal and plan.cost == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(4))
def test_contiguous_grids_with_their_lead_inside_match_brute_force(seed: int) -> None:
    """A 3x3 block of areas; each lead's own area is in its grid and every grid is one
    connected piece (a cheap detached area is not allowed to join a far grid)."""
    rng = np.random.default_rng(200 + seed)
    side = 3
    xy = np.array([(r, c) for r in range(side) for c in range(side)], dtype=float)
    adjacency = tuple(
        (a, b) for a in range(9) for b in range(a + 1, 9) if abs(xy[a] - xy[b]).sum() == 1
    )
    sites = np.sort(rng.choice(9, size=4, replace=False))
    population = rng.integers(1, 20, size=9).astype(float)
    dist = np.abs(xy[:, None, :] - xy[None, sites, :]).sum(axis=2)
    cost = population[:, None] * (dist + rng.random((9, 4)) * 3)
    problem = Problem(
        f"contig-{seed}", cost, k=2, demand=population, site_area=sites, adjacency=adjacency,
        population_max=float(population.sum() * 0.7),
    )  # fmt: skip
    bound = solver.solve(problem, seconds=30)
    plan = check_plan(problem, bound.plan)
    assert not stray_parts(problem, np.asarray(plan.assignment))
    assert bound.optimal and plan.cost == pytest.approx(brute(problem))


@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5", "pmed6"])
def test_pmed_reaches_the_published_optimum(name: str) -> None:
    ref = instances.orlib_pmed(require_shared(DATA / "orlib_pmed"), name)
    bound = solver.solve(ref.problem, seconds=60)
    check_plan(ref.problem, bound.plan)
    assert bound.optimal and bound.upper == ref.best_known and bound.lower == ref.best_known


def test_capacitated_instance_keeps_capacities_and_reaches_its_optimum() -> None:
    ref = instances.orlib_pmedcap(require_shared(DATA / "orlib_pmedcap1" / "pmedcap1_01.txt"))
    problem = ref.problem
    bound = solver.solve(problem, seconds=60)
    plan = check_plan(problem, bound.plan)
    assert problem.capacity is not None and problem.demand is not None
    loads = np.bincount(plan.assignment, weights=problem.demand, minlength=problem.candidates)
    assert loads.max() <= 120 and loads.sum() == problem.demand.sum()
    assert bound.optimal and bound.upper == ref.best_known == 713


def test_more_grids_than_candidate_leads_is_refused() -> None:
    problem = Problem("too-many", np.ones((6, 3)), k=4)
    with pytest.raises(InvalidInput) as caught:
        solver.solve(problem)
    assert caught.value.problems[0].field == "k"
    assert "4 grids need 4 candidate lead hospitals (A2), only 3 candidates" in str(caught.value)


def test_capacity_below_demand_is_refused() -> None:
    problem = Problem(
        "short", np.ones((4, 3)), k=2, demand=np.array([5.0, 5, 5, 5]), capacity=np.full(3, 9.0)
    )
    with pytest.raises(InvalidInput) as caught:
        solver.plain(problem)
    assert [p.field for p in caught.value.problems] == ["capacity"]
    assert "serve at most 18, below the total demand 20" in str(caught.value)


def test_population_bounds_that_cannot_both_hold_are_refused() -> None:
    problem = Problem("bounds", np.ones((4, 3)), k=2, population_min=3, population_max=2)
    with pytest.raises(InvalidInput, match="population_min: 3 is above population_max 2"):
        solver.solve(problem)


def test_a_cheaper_detached_area_does_not_join_a_far_grid() -> None:
    """Path 0-1-2-3, leads standing in areas 0 and 3. Unconstrained, area 1 would go to the
    lead in 3 and area 2 to the lead in 0 (cost 2), leaving both grids in pieces."""
    cost = np.array([[0.0, 9], [10, 1], [1, 10], [9, 0]])
    problem = Problem(
        "path", cost, k=2, site_area=np.array([0, 3]), adjacency=((0, 1), (1, 2), (2, 3))
    )
    bound = solver.solve(problem, seconds=10)
    plan = check_plan(problem, bound.plan)
    assert bound.optimal and plan.cost == 11
    assert plan.assignment in ((0, 1, 1, 1), (0, 0, 0, 1))
    free = solver.solve(Problem("path", cost, k=2, site_area=np.array([0, 3])), seconds=10)
    assert free.upper == 2


@pytest.mark.parametrize("capacitated", [False, True])
def test_reductions_keep_every_optimal_plan(capacitated: bool) -> None:
    """With the target at the optimum, the bound may drop nothing an optimal plan uses."""
    for seed in range(6):
        rng = np.random.default_rng(300 + seed)
        demand = rng.integers(1, 8, size=7).astype(float)
        cost = rng.integers(0, 40, size=(7, 5)).astype(float)
        caps = np.full(5, np.ceil(demand.sum() / 2 * 1.2)) if capacitated else None
        problem = Problem(f"reduce-{seed}", cost, k=2, demand=demand, capacity=caps)
        best = solver.solve(problem, seconds=20)
        assert best.optimal and best.plan is not None
        target = target_below(problem, best.upper + 1)  # plans at most the optimum
        relaxation = lagrangian.relax(problem, best.upper + 5, target, iterations=400)
        assert relaxation.lower <= target
        cut = lagrangian.reduce(problem, relaxation, target)
        leads, assignment = list(best.plan.leads), np.asarray(best.plan.assignment)
        assert cut.may_open[leads].all()
        assert cut.pairs[np.arange(7), assignment].all()


def test_at_the_time_limit_the_plan_is_valid_and_the_bound_holds() -> None:
    ref = instances.orlib_pmedcap(require_shared(DATA / "orlib_pmedcap1" / "pmedcap1_15.txt"))
    assert ref.best_known is not None
    bound = solver.solve(ref.problem, seconds=3)
    check_plan(ref.problem, bound.plan)
    assert bound.lower <= ref.best_known <= bound.upper
    assert bound.gap == pytest.approx((bound.upper - bound.lower) / bound.upper)


def test_contiguity_without_lead_sites_is_refused() -> None:
    problem = Problem("no-sites", np.ones((3, 2)), k=2, adjacency=((0, 1), (1, 2)))
    with pytest.raises(InvalidInput, match="adjacency: contiguous grids need site_area"):
        solver.solve(problem)
