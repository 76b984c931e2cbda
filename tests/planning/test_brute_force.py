"""Random small instances with every constraint at once (capacities, population bounds,
contiguity, a moves cap and weight) against enumeration of all assignments; where none
exists, the constraints named are those whose removal alone lets a plan exist."""

from __future__ import annotations

import numpy as np
import pytest
from tests.planning.brute import brute, check_plan, walks_contiguous, without

from caregrid.errors import InvalidInput
from caregrid.planning import solver
from caregrid.planning.problem import Problem, check

FAMILIES = ("population_min", "population_max", "capacity", "adjacency", "moves_max")


def random_instance(seed: int) -> Problem:
    """7 areas joined by a random spanning tree plus a few borders, 4 candidates standing in
    distinct areas, k = 2; each constraint present or not by the seed."""
    rng = np.random.default_rng(900 + seed)
    n, m, k = 7, 4, 2
    edges = {(int(rng.integers(0, i)), i) for i in range(1, n)}
    for _ in range(3):
        a, b = sorted(int(v) for v in rng.choice(n, size=2, replace=False))
        edges.add((a, b))
    xy = rng.random((n, 2)) * 10
    sites = rng.choice(n, size=m, replace=False)
    people = rng.integers(0, 10, size=n).astype(float)  # an empty area now and then
    dist = np.sqrt(((xy[:, None, :] - xy[None, sites, :]) ** 2).sum(axis=2))
    cost = np.round(people[:, None] * dist + rng.random((n, m)), 2)
    mean = people.sum() / k
    leads_today = rng.choice(m, size=k, replace=False)  # today: each area to the nearer
    today = leads_today[np.argmin(dist[:, leads_today] + rng.random((n, k)) * 3, axis=1)]
    today[rng.random(n) < 0.15] = -1
    flags = rng.random(6) < 0.5
    return Problem(
        f"brute-{seed}", cost, k, demand=people, site_area=sites,
        capacity=np.ceil(mean * rng.uniform(1.0, 1.6, size=m)) if flags[0] else None,
        population_min=float(np.floor(mean * 0.6)) if flags[1] else None,
        population_max=float(np.ceil(mean * 1.3)) if flags[2] else None,
        adjacency=tuple(sorted(edges)) if flags[3] or seed % 3 == 0 else None,
        current=today,
        moves_max=int(rng.integers(0, 5)) if flags[4] else None,
        move_weight=float(rng.integers(0, 6)) if flags[5] else 0.0,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_random_instances_with_every_constraint_match_brute_force(seed: int) -> None:
    problem = random_instance(seed)
    expected = brute(problem)
    try:
        check(problem)
    except InvalidInput:
        assert expected == np.inf  # refused up front only when no plan exists
        return
    if not np.isfinite(expected):
        with pytest.raises(InvalidInput) as caught:
            solver.solve(problem, seconds=20)
        named = [p.field for p in caught.value.problems]
        present = [f for f in FAMILIES if getattr(problem, f) is not None]
        blame = [f for f in present if np.isfinite(brute(without(problem, f)))]
        assert named == (blame or present)
        return
    bound = solver.solve(problem, seconds=20)
    plan = check_plan(problem, bound.plan)
    assert bound.optimal and bound.gap == 0.0
    assert plan.cost == pytest.approx(expected)
    assert solver.plain(problem, seconds=20).upper == pytest.approx(expected)


def test_the_random_set_reaches_every_case() -> None:
    """The seeds above cover plans with contiguity and a moves cap, and no-plan cases."""
    problems = [random_instance(seed) for seed in range(40)]
    values = [brute(p) for p in problems]
    assert sum(np.isinf(v) for v in values) >= 3
    both = [
        p for p, v in zip(problems, values, strict=True)
        if np.isfinite(v) and p.adjacency is not None and p.moves_max is not None
    ]  # fmt: skip
    assert len(both) >= 3


@pytest.mark.parametrize("seed", range(40))
def test_every_grid_of_every_plan_is_walked_contiguous(seed: int) -> None:
    problem = random_instance(seed)
    if problem.adjacency is None or not np.isfinite(brute(problem)):
        pytest.skip("no contiguity asked, or no plan")
    bound = solver.solve(problem, seconds=20)
    assert bound.plan is not None
    for lead, areas in bound.plan.grids().items():
        assert problem.site_area is not None and int(problem.site_area[lead]) in areas
    assert walks_contiguous(problem, bound.plan.assignment)
