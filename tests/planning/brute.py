"""Brute force for the solver tests: every lead set and every assignment to it, checked
constraint by constraint without the solver's own code (contiguity by walking each grid)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from caregrid.planning.problem import Plan, Problem, violations

Ints = npt.NDArray[np.int64]


def walks_contiguous(problem: Problem, assignment: Ints | tuple[int, ...]) -> bool:
    """Walk each grid from its lead's own area over borders inside the grid: true when the
    walk reaches every area of every grid."""
    at = np.asarray(assignment)
    assert problem.adjacency is not None and problem.site_area is not None
    border: dict[int, set[int]] = {i: set() for i in range(problem.areas)}
    for a, b in problem.adjacency:
        border[a].add(b)
        border[b].add(a)
    for lead in set(int(v) for v in at):
        grid = set(int(i) for i in np.nonzero(at == lead)[0])
        start = int(problem.site_area[lead])
        if start not in grid:
            return False
        reached, frontier = {start}, [start]
        while frontier:
            for other in border[frontier.pop()] & grid:
                if other not in reached:
                    reached.add(other)
                    frontier.append(other)
        if reached != grid:
            return False
    return True


def brute(problem: Problem) -> float:
    """The least objective (travel + move_weight per area moved) over every plan that keeps
    every constraint; inf when there is none."""
    n, best = problem.areas, np.inf
    demand = problem.loads()
    caps = problem.capacities()
    today = problem.current
    plain = (
        caps is None
        and problem.population_min is None
        and problem.adjacency is None
        and problem.moves_max is None
        and not problem.move_weight
    )
    for leads in itertools.combinations(range(problem.candidates), problem.k):
        if plain and problem.site_area is None:
            best = min(best, float(problem.cost[:, list(leads)].min(axis=1).sum()))
            continue
        options = np.array(list(itertools.product(leads, repeat=n)), dtype=np.int64)
        costs = problem.cost[np.arange(n)[None, :], options].sum(axis=1)
        ok = np.ones(len(options), dtype=bool)
        if today is not None:
            moved = ((options != today[None, :]) & (today[None, :] >= 0)).sum(axis=1)
            costs = costs + problem.move_weight * moved
            if problem.moves_max is not None:
                ok &= moved <= problem.moves_max
        loads = np.stack([(demand[None, :] * (options == j)).sum(axis=1) for j in leads], 1)
        if caps is not None:
            ok &= np.all(loads <= caps[list(leads)][None, :] + 1e-9, axis=1)
        if problem.population_min is not None:
            ok &= np.all(loads >= problem.population_min - 1e-9, axis=1)
        if problem.site_area is not None:
            for j in leads:
                ok &= options[:, problem.site_area[j]] == j
        for row in np.argsort(costs, kind="stable"):
            if not ok[row]:
                continue
            if problem.adjacency is not None and not walks_contiguous(problem, options[row]):
                continue
            best = min(best, float(costs[row]))
            break
    return best


def without(problem: Problem, family: str) -> Problem:
    """The problem with one constraint family set aside."""
    return replace(problem, **{family: None})  # type: ignore[arg-type]


def check_plan(problem: Problem, plan: Plan | None) -> Plan:
    """A plan keeps every constraint, its cost is its objective, its grids are contiguous."""
    assert plan is not None
    assignment = np.asarray(plan.assignment)
    assert len(assignment) == problem.areas and len(plan.leads) == problem.k
    assert violations(problem, plan.leads, assignment) == []
    travel = problem.cost[np.arange(problem.areas), assignment].sum()
    if problem.current is not None:
        moved = ((assignment != problem.current) & (problem.current >= 0)).sum()
        travel += problem.move_weight * moved
        if problem.moves_max is not None:
            assert moved <= problem.moves_max
    assert plan.cost == pytest.approx(travel)
    if problem.adjacency is not None:
        assert walks_contiguous(problem, assignment)
    return plan
