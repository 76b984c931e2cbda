"""Warm start: a good plan fast, whose cost is the upper bound the exact stage must beat.

Uncapacitated: greedy opening, then vertex substitution (Teitz–Bart) in the fast-interchange
form of Whitaker / Resende–Werneck: with each area's nearest and second-nearest open lead,
the change of every (close r, open a) swap is one n×m pass and one matrix product, and the
best swap is taken until none improves. Capacitated: those leads, areas assigned by regret
within capacity, improved by moving areas and by relocating each lead inside its grid.
"""

from __future__ import annotations

import time

import numpy as np

from caregrid.planning import mip
from caregrid.planning.problem import Floats, Ints, Plan, Problem, evaluate, violations


def greedy(cost: Floats, k: int) -> list[int]:
    """Open, one at a time, the lead that lowers total cost most."""
    best = np.full(cost.shape[0], np.inf)
    opened: list[int] = []
    work = np.empty_like(cost)  # reused: a fresh large array per step costs more than the sums
    for _ in range(k):
        totals = np.minimum(cost, best[:, None], out=work).sum(axis=0)
        totals[opened] = np.inf
        pick = int(np.argmin(totals))
        opened.append(pick)
        best = np.minimum(best, cost[:, pick])
    return opened


def interchange(cost: Floats, opened: list[int], tolerance: float = 1e-9) -> list[int]:
    """Best-improvement swaps until no swap lowers the cost (a local optimum)."""
    opened = list(opened)
    n, m = cost.shape
    if len(opened) == m:
        return opened
    rows = np.arange(n)
    near, extra = np.empty_like(cost), np.empty_like(cost)
    while True:
        sub = cost[:, opened]
        if len(opened) > 1:
            two = np.argpartition(sub, 1, axis=1)[:, :2]
            first = np.where(sub[rows, two[:, 0]] <= sub[rows, two[:, 1]], two[:, 0], two[:, 1])
            second = np.where(first == two[:, 0], two[:, 1], two[:, 0])
            d1, d2 = sub[rows, first], sub[rows, second]
        else:
            first = np.zeros(n, dtype=np.int64)
            d1, d2 = sub[:, 0], np.full(n, np.inf)
        np.minimum(cost, d1[:, None], out=near)
        base = near.sum(axis=0) - d1.sum()  # adding a, keeping every lead open
        # Closing lead r sends its areas to min(a, second nearest) instead of min(a, nearest).
        np.minimum(cost, d2[:, None], out=extra)
        extra -= near
        extra[~np.isfinite(extra)] = 1e18
        members = (first[None, :] == np.arange(len(opened))[:, None]).astype(float)
        delta = base[None, :] + members @ extra
        delta[:, opened] = np.inf
        r, a = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if delta[r, a] >= -tolerance:
            return opened
        opened[int(r)] = int(a)


def nearest_plan(problem: Problem, leads: list[int]) -> Plan:
    sub = problem.cost[:, leads]
    assignment = np.asarray(leads)[np.argmin(sub, axis=1)].astype(np.int64)
    if problem.site_area is not None:
        assignment[problem.site_area[leads]] = leads
    return Plan(tuple(sorted(leads)), tuple(int(v) for v in assignment), 0.0)


def assign_within(
    problem: Problem, leads: list[int], caps: Floats, deadline: float = np.inf
) -> Ints | None:
    """Areas by descending regret to the cheapest lead with room, improved by moves; when
    that leaves an area without room, the exact assignment to these leads (a small MIP)."""
    greedy = _regret(problem, leads, caps, deadline)
    if greedy is not None:
        return greedy
    left = deadline - time.perf_counter()
    return exact_assignment(problem, leads, min(5.0, left)) if left > 1 else None


def exact_assignment(problem: Problem, leads: list[int], seconds: float = 5.0) -> Ints | None:
    """The cheapest assignment to exactly these leads within capacity (HiGHS), or None."""
    opened = np.zeros(problem.candidates, dtype=bool)
    opened[leads] = True
    pairs = np.repeat(opened[None, :], problem.areas, axis=0)
    found = mip.solve(problem, pairs, may_open=opened, must_open=opened, seconds=seconds)
    if found.plan is None:
        return None
    return np.asarray(found.plan.assignment, dtype=np.int64)


def _regret(problem: Problem, leads: list[int], caps: Floats, deadline: float) -> Ints | None:
    demand = problem.loads()
    sub = problem.cost[:, leads]
    room = caps[leads].astype(float).copy()
    assignment = np.full(problem.areas, -1, dtype=np.int64)
    if problem.site_area is not None:
        for pos, lead in enumerate(leads):
            area = int(problem.site_area[lead])
            assignment[area] = pos
            room[pos] -= demand[area]
    ranked = np.sort(sub, axis=1)
    regret = ranked[:, 1] - ranked[:, 0] if len(leads) > 1 else ranked[:, 0]
    for area in np.argsort(-regret, kind="stable"):
        if assignment[area] >= 0:
            continue
        for pos in np.argsort(sub[area], kind="stable"):
            if room[pos] >= demand[area] - 1e-9:
                assignment[area] = pos
                room[pos] -= demand[area]
                break
        else:
            return None
    _shift(problem, sub, demand, room, assignment, deadline)
    return np.asarray(leads)[assignment].astype(np.int64)


def _shift(
    problem: Problem, sub: Floats, demand: Floats, room: Floats, at: Ints, deadline: float
) -> None:
    """Move single areas to a cheaper lead with room, and swap pairs of areas between two
    leads when both fit and the cost drops, until neither helps or time is up (a pass of
    swaps is quadratic in the areas)."""
    fixed = set() if problem.site_area is None else set(int(a) for a in problem.site_area)
    pinned = np.array(sorted(fixed), dtype=np.int64)
    n = problem.areas
    rows = np.arange(n)
    for _ in range(50):
        if time.perf_counter() > deadline:
            return
        moved = False
        for area in range(n):
            if area in fixed:
                continue
            here = at[area]
            gains = sub[area, here] - sub[area]
            gains[room < demand[area] - 1e-9] = -np.inf
            best = int(np.argmax(gains))
            if gains[best] > 1e-9:
                room[here] += demand[area]
                room[best] -= demand[area]
                at[area] = best
                moved = True
        now = sub[rows, at]
        for area in range(n):
            if area in fixed:
                continue
            if area % 256 == 0 and time.perf_counter() > deadline:
                return
            here = at[area]
            # swap with b: area to at[b], b to here
            change = sub[area, at] + sub[rows, here] - now[area] - now
            fits = (room[at] + demand - demand[area] >= -1e-9) & (
                room[here] + demand[area] - demand >= -1e-9
            )
            change[~fits | (at == here)] = np.inf
            change[pinned] = np.inf
            b = int(np.argmin(change))
            if change[b] < -1e-9:
                there = at[b]
                room[here] += demand[area] - demand[b]
                room[there] += demand[b] - demand[area]
                at[area], at[b] = there, here
                now[area], now[b] = sub[area, there], sub[b, here]
                moved = True
        if not moved:
            return


def relocate(
    problem: Problem, leads: list[int], caps: Floats, deadline: float, rounds: int = 20
) -> Plan | None:
    """Capacitated plan: assign within capacity, then move each lead to the candidate that
    serves its grid cheapest (with room for it), reassigning while the cost falls and time
    is left."""
    assignment = assign_within(problem, leads, caps, deadline)
    if assignment is None:
        return None
    best = evaluate(problem, assignment)
    demand = problem.loads()
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        trial = list(leads)
        for pos, lead in enumerate(leads):
            members = assignment == lead
            load = demand[members].sum()
            totals = problem.cost[members].sum(axis=0)
            totals[caps < load - 1e-9] = np.inf
            totals[[v for v in trial if v != lead]] = np.inf
            trial[pos] = int(np.argmin(totals))
        if trial == leads:
            break
        again = assign_within(problem, trial, caps, deadline)
        if again is None or evaluate(problem, again) >= best - 1e-9:
            break
        leads, assignment, best = trial, again, evaluate(problem, again)
    left = deadline - time.perf_counter()
    final = exact_assignment(problem, leads, min(5.0, left)) if left > 1 else None
    if final is not None and evaluate(problem, final) < best:
        assignment, best = final, evaluate(problem, final)
    return Plan(tuple(sorted(leads)), tuple(int(v) for v in assignment), best)


def warm_start(
    problem: Problem, seconds: float = 20.0, start: list[int] | None = None
) -> Plan | None:
    """The heuristic plan from greedy leads (or ``start``), or None when it found none that
    keeps the capacities. The capacitated improvement rounds stop after ``seconds``."""
    deadline = time.perf_counter() + seconds
    leads = interchange(problem.cost, start or greedy(problem.cost, problem.k))
    caps = problem.capacities()
    if caps is None:
        near = nearest_plan(problem, leads)
        assignment = np.asarray(near.assignment, dtype=np.int64)
        return Plan(near.leads, near.assignment, evaluate(problem, assignment))
    near = nearest_plan(problem, leads)
    assignment = np.asarray(near.assignment, dtype=np.int64)
    loads = np.bincount(assignment, weights=problem.loads(), minlength=problem.candidates)
    floor = problem.population_min or 0.0
    if np.all(loads <= caps + 1e-9) and np.all(loads[list(leads)] >= floor - 1e-9):
        # The nearest lead has room for everyone: the best assignment to these leads.
        return Plan(near.leads, near.assignment, evaluate(problem, assignment))
    plan = relocate(problem, leads, caps, deadline)
    if plan is None and start is None:
        # The cheapest leads may lack room: start again from the largest.
        largest = list(np.argsort(-caps)[: problem.k].astype(int))
        plan = relocate(problem, largest, caps, deadline)
    return plan


def within_moves(problem: Problem, seconds: float) -> Plan | None:
    """Today's grids (areas outside them to the cheapest of today's leads), improved by the
    best single-area moves while ``moves_max`` allows and every constraint holds: a start
    for the minimal-change problem when the cheapest plan moves too many areas. None when
    today's grids have other than k leads or break a constraint themselves."""
    if problem.current is None:
        return None
    deadline = time.perf_counter() + seconds
    leads = sorted({int(j) for j in problem.current if j >= 0})
    if len(leads) != problem.k:
        return None
    assignment = problem.current.astype(np.int64).copy()
    outside = assignment < 0
    assignment[outside] = np.asarray(leads)[np.argmin(problem.cost[outside][:, leads], axis=1)]
    if problem.site_area is not None:
        assignment[problem.site_area[leads]] = leads
    if violations(problem, tuple(leads), assignment):
        return None
    budget = (problem.moves_max if problem.moves_max is not None else problem.areas) - (
        problem.moved(assignment)
    )
    rows = np.arange(problem.areas)
    sub = problem.cost[:, leads]
    fixed = set() if problem.site_area is None else {int(problem.site_area[j]) for j in leads}
    moving = problem.moving()
    while time.perf_counter() < deadline:
        gains = problem.cost[rows, assignment][:, None] - sub
        order = np.argsort(-gains, axis=None)
        taken = False
        for flat in order[: 4 * problem.areas]:
            area, pos = divmod(int(flat), len(leads))
            if gains[area, pos] <= 1e-9 or time.perf_counter() > deadline:
                break
            lead = leads[pos]
            spend = int(moving[area, lead]) - int(moving[area, assignment[area]])
            if area in fixed or spend > budget:
                continue
            was = int(assignment[area])
            assignment[area] = lead
            if violations(problem, tuple(leads), assignment):
                assignment[area] = was
                continue
            budget -= spend
            taken = True
            break
        if not taken:
            break
    return Plan(tuple(leads), tuple(int(v) for v in assignment), evaluate(problem, assignment))
