"""Minimal change: at most ``moves_max`` areas leave today's lead, or ``move_weight`` per
area moved in the objective; both against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from tests.planning.brute import brute, check_plan

from caregrid.errors import InvalidInput
from caregrid.planning import solver
from caregrid.planning.problem import Problem

# Six areas on a path 0-1-2-3-4-5, leads standing in areas 0 and 5. Today the lead in 0
# serves areas 0-3, although 2 and 3 lie nearer the lead in 5.
COST = np.array([[0.0, 50], [10, 40], [30, 20], [40, 10], [50, 5], [60, 0]])
TODAY = np.array([0, 0, 0, 0, 1, 1])
PATH = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5))


def path(**extra: object) -> Problem:
    return Problem(
        "path", COST, k=2, site_area=np.array([0, 5]), adjacency=PATH, current=TODAY,
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_cheapest_plan_moves_areas_and_a_cap_of_zero_keeps_today() -> None:
    free = solver.solve(path(), seconds=10)
    assert free.plan is not None and free.plan.assignment == (0, 0, 1, 1, 1, 1)
    assert free.plan.cost == 45
    kept = solver.solve(path(moves_max=0), seconds=10)
    plan = check_plan(path(moves_max=0), kept.plan)
    assert kept.optimal and plan.assignment == tuple(TODAY)
    assert plan.cost == 0 + 10 + 30 + 40 + 5 + 0


@pytest.mark.parametrize("most", [1, 2, 3])
def test_a_cap_on_moves_matches_brute_force(most: int) -> None:
    problem = path(moves_max=most)
    bound = solver.solve(problem, seconds=10)
    plan = check_plan(problem, bound.plan)
    assert bound.optimal and plan.cost == pytest.approx(brute(problem))
    assert problem.moved(np.asarray(plan.assignment)) <= most
    if most == 1:
        assert plan.assignment == (0, 0, 0, 1, 1, 1)  # area 3 moves, the cheaper of the two


@pytest.mark.parametrize("weight", [0.0, 5.0, 9.99, 10.01, 100.0])
def test_a_weight_per_move_matches_brute_force(weight: float) -> None:
    """Moving area 3 saves 30, area 2 saves 10: at a weight between 10 and 30 only area 3
    moves, above 30 neither."""
    problem = Problem("path", COST, k=2, current=TODAY, move_weight=weight)
    bound = solver.solve(problem, seconds=10)
    plan = check_plan(problem, bound.plan)
    assert bound.optimal and plan.cost == pytest.approx(brute(problem))
    moved = problem.moved(np.asarray(plan.assignment))
    assert moved == (2 if weight < 10 else 1 if weight < 30 else 0)
    assert solver.plain(problem, seconds=10).upper == pytest.approx(plan.cost)


def test_an_area_outside_every_grid_today_never_counts_as_moved() -> None:
    today = TODAY.copy()
    today[3] = -1
    problem = Problem("path", COST, k=2, current=today, moves_max=0)
    bound = solver.solve(problem, seconds=10)
    plan = check_plan(problem, bound.plan)
    assert plan.assignment == (0, 0, 0, 1, 1, 1)
    assert problem.moved(np.asarray(plan.assignment)) == 0


@pytest.mark.parametrize("seed", range(10))
def test_random_weights_and_caps_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    n, m, k = 8, 5, 2
    cost = rng.integers(0, 40, size=(n, m)).astype(float)
    today = rng.choice(rng.choice(m, size=k, replace=False), size=n)
    problem = Problem(
        f"moves-{seed}", cost, k, current=today,
        moves_max=int(rng.integers(0, 4)) if seed % 2 else None,
        move_weight=float(rng.integers(0, 15)),
    )  # fmt: skip
    expected = brute(problem)
    bound = solver.solve(problem, seconds=10)
    check_plan(problem, bound.plan)
    assert bound.optimal and bound.upper == pytest.approx(expected)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"moves_max": 2}, "current"),
        ({"move_weight": 1.0}, "current"),
        ({"current": TODAY, "moves_max": -1}, "moves_max"),
        ({"current": TODAY, "move_weight": float("nan")}, "move_weight"),
        ({"current": np.array([0, 0, 0, 0, 1, 2])}, "current"),
    ],
)
def test_bad_minimal_change_input_is_refused(extra: dict[str, object], field: str) -> None:
    problem = Problem("path", COST, k=2, **extra)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        solver.solve(problem, seconds=5)
    assert [p.field for p in caught.value.problems] == [field]
