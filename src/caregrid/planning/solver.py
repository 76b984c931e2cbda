"""Solve a grid-planning `Problem` to proven optimality, or to a time limit with the best plan,
the best bound and the gap.

1. Warm start (greedy + fast interchange; capacitated: regret assignment and relocation).
2. Lagrangian lower bound by subgradient optimisation. If it reaches the warm start's cost the
   warm start is optimal.
3. Otherwise the bound drops every lead and area-to-lead pair that no better plan can use, and
   HiGHS solves the reduced MIP for a plan better than the warm start. Finding none proves the
   warm start optimal; finding one, HiGHS's optimality proves it.

A ``move_weight`` is folded into the cost first (exact); ``moves_max`` is kept by the warm
start and the MIP and left out of the relaxation (a bound still). When HiGHS proves that no
plan exists, the constraint families are dropped one at a time to name the ones to blame.

``plain`` solves the same instance as one unreduced HiGHS model, for comparison.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault
from caregrid.i18n import msg
from caregrid.planning import branch, heuristic, lagrangian, mip
from caregrid.planning.problem import Bound, Plan, Problem, check, target_below, violations


def solve(problem: Problem, *, seconds: float = 60.0) -> Bound:
    """Best plan within ``seconds``; ``optimal`` when the bound meets it. Raises
    InvalidInput naming the constraint(s) to blame when no plan exists."""
    check(problem)
    began = time.perf_counter()
    problem = problem.shifted()  # the move weight as cost: the same objective
    stages: dict[str, float] = {}
    warm = heuristic.warm_start(problem, seconds=0.25 * seconds)
    if warm is not None and _breaks(problem, warm):
        warm = None  # e.g. a grid not contiguous: no upper bound to reduce with
    if warm is None and problem.moves_max is not None:
        warm = heuristic.within_moves(problem, seconds=0.1 * seconds)
    stages["heuristic_seconds"] = time.perf_counter() - began
    if warm is None:
        outcome = mip.solve(problem, seconds=seconds - stages["heuristic_seconds"])
        return _finish(problem, outcome, began, stages, seconds)
    target = target_below(problem, warm.cost)
    # Without capacities the relaxation is cheap and often already tight (when the cheapest
    # grids fit their bounds); its multipliers then start the capacitated one.
    loose = problem.loosened()
    relaxation = lagrangian.relax(loose, warm.cost, target, seconds=0.25 * seconds)
    source = loose
    if relaxation.lower <= target:
        # Near-optimal multipliers open near-optimal leads: search again from them.
        start = lagrangian.leads(loose, relaxation.multipliers)
        again = heuristic.warm_start(problem, seconds=0.1 * seconds, start=start)
        if again is not None and again.cost < warm.cost and not _breaks(problem, again):
            warm, target = again, target_below(problem, again.cost)
            stages["second_start"] = again.cost
    stages["loose_bound"] = relaxation.lower
    if relaxation.lower <= target and problem.capacities() is not None:
        exact = lagrangian.knapsacks_fit(problem)
        # A Lagrangian heuristic: the capacitated relaxation's leads every 100 steps, and
        # those of its best multipliers, seed the capacitated warm start again.
        harvest = _Harvest(problem, warm, time.perf_counter() + 0.3 * seconds)
        tight = lagrangian.relax(
            problem, warm.cost, target, seconds=0.3 * seconds, iterations=400,
            start=relaxation.multipliers, exact=exact, beta=0.5, visit=harvest,
        )  # fmt: skip
        harvest.deadline = max(harvest.deadline, time.perf_counter() + 0.1 * seconds)
        harvest(lagrangian.leads(problem, tight.multipliers, exact))
        stages["harvested_starts"] = harvest.tried
        if harvest.best.cost < warm.cost:
            warm, target = harvest.best, target_below(problem, harvest.best.cost)
            stages["harvested_start"] = warm.cost
        stages["capacity_bound"] = tight.lower
        if tight.lower > relaxation.lower:
            relaxation, source = tight, problem
    stages["lagrangian_seconds"] = relaxation.seconds
    stages["lagrangian_iterations"] = relaxation.iterations
    stages["lagrangian_bound"] = relaxation.lower
    if relaxation.lower > target:
        return _done(problem, warm, relaxation.lower, True, began, stages)
    cut = lagrangian.reduce(source, relaxation, target)
    stages["pairs_kept"] = float(cut.pairs.sum())
    stages["leads_free"] = float((cut.may_open & ~cut.must_open).sum())
    left = seconds - (time.perf_counter() - began)
    if left < 1.0:
        return _done(problem, warm, relaxation.lower, False, began, stages)
    if _plain_median(problem):
        found = branch.search(
            problem, warm, relaxation.multipliers, cut.may_open, cut.must_open, seconds=left
        )
        stages["nodes"] = found.nodes
        lower = max(relaxation.lower, found.lower)
        return _done(problem, found.plan, lower, found.optimal, began, stages)
    outcome = mip.solve(
        problem,
        cut.pairs,
        may_open=cut.may_open,
        must_open=cut.must_open,
        cutoff=target,
        seconds=left,
    )
    stages["mip_seconds"] = outcome.seconds
    if outcome.infeasible:
        return _done(problem, warm, warm.cost, True, began, stages)
    plan = outcome.plan if outcome.plan is not None and outcome.plan.cost < warm.cost else warm
    lower = max(relaxation.lower, min(warm.cost, outcome.lower))
    return _done(problem, plan, lower, outcome.optimal, began, stages)


class _Harvest:
    """Each new lead set the capacitated relaxation picks seeds the warm start (swaps,
    assignment within capacity, relocation) until the deadline; the best plan that keeps
    every constraint is kept."""

    def __init__(self, problem: Problem, best: Plan, deadline: float) -> None:
        self.problem, self.best, self.deadline = problem, best, deadline
        self.seen: set[frozenset[int]] = set()
        self.tried = 0.0

    def __call__(self, leads: list[int]) -> None:
        left = self.deadline - time.perf_counter()
        if left <= 0 or frozenset(leads) in self.seen:
            return
        self.seen.add(frozenset(leads))
        self.tried += 1
        plan = heuristic.warm_start(self.problem, seconds=left, start=leads)
        if plan is not None and plan.cost < self.best.cost and not _breaks(self.problem, plan):
            self.best = plan


def _breaks(problem: Problem, plan: Plan) -> bool:
    return bool(violations(problem, plan.leads, np.asarray(plan.assignment)))


def _plain_median(problem: Problem) -> bool:
    """No constraint beyond k leads: the Lagrangian branch-and-bound applies."""
    return (
        problem.capacities() is None
        and problem.population_min is None
        and problem.adjacency is None
        and problem.moves_max is None
        and (problem.site_area is None or _sites_free(problem))
    )


def _sites_free(problem: Problem) -> bool:
    """A lead's own area is nearest to it, so serving it from elsewhere never pays."""
    assert problem.site_area is not None
    own = problem.cost[problem.site_area, np.arange(problem.candidates)]
    return bool(np.all(own <= problem.cost[problem.site_area].min(axis=1) + 1e-12))


def plain(problem: Problem, *, seconds: float = 60.0) -> Bound:
    """The whole model handed to HiGHS as it is: no warm start, no reductions."""
    check(problem)
    began = time.perf_counter()
    outcome = mip.solve(problem, seconds=seconds)
    return _finish(problem, outcome, began, {}, seconds, method="highs")


# Each constraint family a planner sets, what dropping it means, and how it reads.
FAMILIES: dict[str, tuple[dict[str, object], str]] = {
    "population_min": ({"population_min": None}, "every grid holds at least {value:g} people"),
    "population_max": ({"population_max": None}, "every grid holds at most {value:g} people"),
    "capacity": ({"capacity": None}, "every lead serves no more than its capacity"),
    "adjacency": ({"adjacency": None}, "every grid is contiguous over area borders"),
    "moves_max": ({"moves_max": None}, "at most {value} areas move from today's grids"),
}


def infeasible(problem: Problem, seconds: float) -> InvalidInput:
    """The error for a problem HiGHS proved to have no plan: each constraint family whose
    removal alone lets a plan exist is named; when none alone does, all that are set."""
    present = [name for name in FAMILIES if getattr(problem, name) is not None]
    each = max(1.0, seconds / max(1, len(present)))
    blame, unknown = [], []
    for name in present:
        change, _ = FAMILIES[name]
        found = mip.feasible(replace(problem, **change), each)  # type: ignore[arg-type]
        if found:
            blame.append(name)
        elif found is None:
            unknown.append(name)

    def says(name: str) -> str:
        return FAMILIES[name][1].format(value=getattr(problem, name))

    if blame:
        return InvalidInput(
            [
                Fault(
                    name,
                    msg(
                        "no plan of {k} grids can keep this: {says} (with the other "
                        "constraints); without it a plan exists",
                        k=problem.k,
                        says=says(name),
                    ),
                )
                for name in blame
            ]
        )
    if not present:
        return InvalidInput([Fault("k", msg("no plan of {k} grids exists", k=problem.k))])
    together = "; ".join(says(name) for name in present)
    open_question = f" (dropping {', '.join(unknown)} was not decided in time)" if unknown else ""
    return InvalidInput(
        [
            Fault(
                name,
                msg(
                    "no plan of {k} grids meets these together: {together}; dropping any one "
                    "alone still leaves none{open_question}",
                    k=problem.k,
                    together=together,
                    open_question=open_question,
                ),
            )
            for name in present
        ]
    )


def _finish(
    problem: Problem,
    outcome: mip.Outcome,
    began: float,
    stages: dict[str, float],
    seconds: float,
    method: str = "lagrangian+highs",
) -> Bound:
    stages["mip_seconds"] = outcome.seconds
    if outcome.infeasible:
        raise infeasible(problem, seconds - (time.perf_counter() - began))
    found = _done(problem, outcome.plan, outcome.lower, outcome.optimal, began, stages, method)
    if found.plan is None:
        note = (
            f"the time limit ({seconds:g} s) came before any plan was found; the bounds may "
            "still admit one: allow more time"
        )
        return replace(found, note=note)
    return found


def _done(
    problem: Problem,
    plan: Plan | None,
    lower: float,
    optimal: bool,
    began: float,
    stages: dict[str, float],
    method: str = "lagrangian+highs",
) -> Bound:
    if plan is not None:
        if problem.integral:
            lower = math.ceil(lower - 1e-6)
        lower = min(lower, plan.cost)
        optimal = optimal or lower >= plan.cost - 1e-9 * max(1.0, abs(plan.cost))
        if optimal:
            lower = plan.cost
    return Bound(plan, lower, time.perf_counter() - began, optimal, method, stages)
