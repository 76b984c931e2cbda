"""Bounds no plan can meet are refused naming the constraint to blame; a map with areas cut
off from every lead is refused by the check; running out of time is not an error."""

from __future__ import annotations

import numpy as np
import pytest
from tests.planning.brute import brute, without

from caregrid.errors import InvalidInput
from caregrid.planning import solver
from caregrid.planning.problem import Problem, check

# Path 0-1-2-3-4, leads standing in areas 0 and 4; area 2 holds most people.
COST = np.array([[0.0, 4], [1, 3], [2, 2], [3, 1], [4, 0]])
PEOPLE = np.array([10.0, 10, 50, 10, 10])
PATH = ((0, 1), (1, 2), (2, 3), (3, 4))
SITES = np.array([0, 4])


def path(**extra: object) -> Problem:
    return Problem(
        "path", COST, k=2, demand=PEOPLE, site_area=SITES, adjacency=PATH,
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def blamed(problem: Problem) -> list[str]:
    check(problem)  # what follows is for the solver to find, not the check
    with pytest.raises(InvalidInput) as caught:
        solver.solve(problem, seconds=10)
    return [p.field for p in caught.value.problems]


def expected_blame(problem: Problem, families: tuple[str, ...]) -> list[str]:
    return [f for f in families if np.isfinite(brute(without(problem, f)))]


def test_a_population_floor_no_split_can_reach_is_named_alone() -> None:
    """Grids of at least 40 out of 90: the grid without area 2 (50 people) holds its lead's
    area and at most two more of 10, so 30, contiguous or not: only the floor is to blame."""
    problem = path(population_min=40.0)
    assert brute(problem) == np.inf
    fields = blamed(problem)
    assert fields == expected_blame(problem, ("population_min", "adjacency"))
    assert fields == ["population_min"]
    assert "every grid holds at least 40 people" in str(solver_error(problem))


def test_capacity_with_contiguity_names_both() -> None:
    """Capacity 60 per lead: a contiguous split leaves 70 on one side; 60 / 30 exists only
    with area 2 beside a lead it does not border. Dropping either constraint gives a plan."""
    problem = path(capacity=np.array([60.0, 60.0]))
    assert brute(problem) == np.inf
    fields = blamed(problem)
    assert fields == expected_blame(problem, ("capacity", "adjacency"))
    assert fields == ["capacity", "adjacency"]
    message = str(solver_error(problem))
    assert "every lead serves no more than its capacity" in message
    assert "every grid is contiguous over area borders" in message
    assert "without it a plan exists" in message


def solver_error(problem: Problem) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        solver.solve(problem, seconds=10)
    return caught.value


def test_a_cap_on_moves_that_contiguity_forbids_names_both() -> None:
    """Today area 1 and 3 lie with the far lead (grids in pieces); keeping them there is not
    contiguous, moving them both is two moves."""
    problem = path(current=np.array([0, 1, 0, 0, 1]), moves_max=0)
    fields = blamed(problem)
    assert fields == expected_blame(problem, ("adjacency", "moves_max"))
    assert fields == ["adjacency", "moves_max"]
    assert "at most 0 areas move from today's grids" in str(solver_error(problem))


def test_when_no_single_constraint_is_to_blame_all_are_named() -> None:
    """Grids of 30 to 60 people, capacity 55, contiguous: a contiguous split leaves 70 or
    more on one side, and the grid holding area 2 (50) with its lead's area holds 60 or more,
    above the capacity, contiguous or not. No single constraint dropped gives a plan."""
    problem = path(population_min=30.0, population_max=60.0, capacity=np.array([55.0, 55.0]))
    assert brute(problem) == np.inf
    fields = blamed(problem)
    assert fields == ["population_min", "population_max", "capacity", "adjacency"]
    assert expected_blame(problem, tuple(fields)) == []
    assert "dropping any one alone still leaves none" in str(solver_error(problem))


def test_a_disconnected_map_is_refused_naming_the_areas_cut_off() -> None:
    problem = Problem(
        "islands", COST, k=2, site_area=SITES, adjacency=((0, 1), (3, 4)),
        area_names=("West", "Hill", "Isle", "Port", "East"),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        solver.solve(problem)
    assert [p.field for p in caught.value.problems] == ["adjacency"]
    assert "no border path joins Isle (area 2) to any candidate lead's area" in str(caught.value)


def test_more_separate_parts_than_grids_is_refused() -> None:
    problem = Problem(
        "parts", np.ones((5, 3)), k=2, site_area=np.array([0, 2, 4]), adjacency=((0, 1), (3, 4))
    )
    with pytest.raises(InvalidInput, match=r"the areas form 3 parts .* 2 contiguous grids"):
        solver.solve(problem)


def test_two_leads_in_one_area_cannot_both_open() -> None:
    problem = Problem("same", np.ones((4, 3)), k=2, site_area=np.array([1, 1, 1]))
    with pytest.raises(InvalidInput, match="site_area: 2 grids need leads standing in 2"):
        solver.solve(problem)


@pytest.mark.parametrize(
    ("demand", "field"),
    [
        (np.array([10.0, np.nan, 50, 10, 10]), "demand"),
        (np.array([10.0, -1, 50, 10, 10]), "demand"),
    ],
)
def test_nan_or_negative_population_is_refused(demand: np.ndarray, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        solver.solve(Problem("bad", COST, k=2, demand=demand))
    assert [p.field for p in caught.value.problems] == [field]


def test_an_area_without_people_is_planned() -> None:
    people = PEOPLE.copy()
    people[1] = 0.0
    problem = Problem(
        "empty", COST * people[:, None], k=2, demand=people, site_area=SITES, adjacency=PATH,
        population_max=60.0,
    )  # fmt: skip
    bound = solver.solve(problem, seconds=10)
    assert bound.optimal and bound.upper == pytest.approx(brute(problem))


def test_the_time_limit_with_no_plan_is_not_an_error() -> None:
    """A 30 x 30 lattice in 30 contiguous grids of exactly 30 areas: feasible (the rows),
    but neither the warm start nor HiGHS finds a plan within a second."""
    side = 30
    n = side * side
    xy = np.array([(r, c) for r in range(side) for c in range(side)], dtype=float)
    adjacency = tuple(
        (r * side + c, r * side + c + dc * 1 + dr * side)
        for r in range(side)
        for c in range(side)
        for dr, dc in ((0, 1), (1, 0))
        if r + dr < side and c + dc < side
    )
    sites = np.arange(side) * side + np.arange(side)  # a diagonal: one lead per row
    cost = np.abs(xy[:, None, :] - xy[None, sites, :]).sum(axis=2)
    problem = Problem(
        "lattice", cost, k=side, site_area=sites, adjacency=adjacency,
        population_min=float(side), population_max=float(side),
    )  # fmt: skip
    assert len(adjacency) == 2 * side * (side - 1) and n == 900
    bound = solver.solve(problem, seconds=1.0)
    assert bound.plan is None and not bound.optimal and bound.gap == np.inf
    assert "time limit (1 s) came before any plan was found" in bound.note
