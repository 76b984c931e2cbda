"""Lower bound by Lagrangian relaxation of the one-lead-per-area constraints, with
subgradient optimisation, and the variable reductions it licenses.

With a multiplier λ_i per area, the relaxed problem splits by candidate: opening j is worth
ρ_j = min Σ_i (c_ij − λ_i) x_ij over what j may serve (everything with negative reduced cost
when uncapacitated; a fractional knapsack within capacity otherwise), and the bound is
Σ_i λ_i plus the k smallest ρ_j. Held–Karp steps move λ toward the heuristic's upper bound.

A variable can be dropped when forcing it raises the bound above the target (the best value a
plan must reach to beat the warm start): any better plan has that variable at zero. Forcing a
closed candidate open costs ρ_j − ρ_[k]; forcing an area onto j adds x_ij's reduced cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from caregrid.planning.problem import Floats, Problem


@dataclass
class Relaxation:
    lower: float
    multipliers: Floats
    iterations: int
    seconds: float
    exact: bool  # with 0-1 knapsacks


@dataclass
class Reduction:
    """What survives: candidates that may still open or must, and the (area, candidate)
    pairs a better plan can use."""

    may_open: np.ndarray  # bool (candidates,)
    must_open: np.ndarray  # bool (candidates,)
    pairs: np.ndarray  # bool (areas, candidates)


def _values(problem: Problem, lam: Floats, exact: bool) -> tuple[Floats, Floats, Floats]:
    """ρ per candidate, the relaxed x (areas × candidates, possibly fractional), and the
    reduced-cost floor of each x (what forcing it to 1 adds at least)."""
    reduced = problem.cost - lam[:, None]
    caps = problem.capacities()
    if caps is None:
        x = (reduced < 0).astype(float)
        return np.minimum(reduced, 0).sum(axis=0), x, np.maximum(reduced, 0)
    demand = problem.loads()
    safe = np.where(demand > 0, demand, 1e-12)
    ratio = np.where(reduced < 0, reduced / safe[:, None], np.inf)
    order = np.argsort(ratio, axis=0, kind="stable")
    sorted_demand = demand[order]
    taken_before = np.cumsum(sorted_demand, axis=0) - sorted_demand
    room = np.clip(caps[None, :] - taken_before, 0, None)
    share = np.where(sorted_demand > 0, np.minimum(1.0, room / safe[order]), 1.0)
    share[~np.isfinite(np.take_along_axis(ratio, order, axis=0))] = 0.0
    x = np.zeros_like(reduced)
    np.put_along_axis(x, order, share, axis=0)
    rho = (x * reduced).sum(axis=0)
    # The capacity's price μ_j is minus the ratio of the item cut short (0 if room was left).
    partial = (x > 1e-12) & (x < 1 - 1e-12)
    full = x.T @ demand >= caps - 1e-9
    critical = np.where(partial, ratio, -np.inf).max(axis=0)
    lastfull = np.where(x > 1 - 1e-12, ratio, -np.inf).max(axis=0)
    price = np.where(np.isfinite(critical), -critical, np.where(full, -lastfull, 0.0))
    price = np.clip(np.nan_to_num(price, nan=0.0, posinf=0.0, neginf=0.0), 0, None)
    floor = np.maximum(reduced + price[None, :] * demand[:, None], 0)
    floor[x > 1 - 1e-12] = 0.0
    if exact:
        # The 0-1 knapsack is at least the fractional one plus its reduced cost when an
        # area is forced in, so the floors stay valid against the stronger ρ.
        knapsack, x = _knapsacks(reduced, demand.astype(np.int64), caps.astype(np.int64))
        floor = np.maximum(rho[None, :] + floor - knapsack[None, :], 0)
        floor[x > 0.5] = 0.0
        rho = knapsack
    return rho, x, floor


DP_CELLS = 4e7  # areas x candidates x capacity: above this the fractional knapsack is used


def knapsacks_fit(problem: Problem) -> bool:
    """Capacitated with integer demand and capacity, small enough for one dynamic programme
    per iteration: the 0-1 knapsack bound (stronger than the fractional one) applies."""
    caps = problem.capacities()
    if caps is None:
        return False
    demand = problem.loads()
    whole = bool(np.all(demand == np.round(demand)) and np.all(caps == np.round(caps)))
    return whole and problem.areas * problem.candidates * (caps.max() + 1) <= DP_CELLS


def _knapsacks(reduced: Floats, demand: np.ndarray, caps: np.ndarray) -> tuple[Floats, Floats]:
    """Every candidate's 0-1 knapsack at once: areas with negative reduced cost, within
    capacity; dp[j, c] = least reduced cost using at most c. Returns ρ and the chosen x."""
    n, m = reduced.shape
    top = int(caps.max())
    dp = np.zeros((m, top + 1))
    took = np.zeros((n, m, top + 1), dtype=bool)
    for i in range(n):
        cols = np.nonzero(reduced[i] < 0)[0]
        d = int(demand[i])
        if len(cols) == 0 or d > top:
            continue
        if d == 0:
            dp[cols] += reduced[i, cols, None]
            took[i, cols] = True
            continue
        old = dp[cols]
        with_i = old[:, : top + 1 - d] + reduced[i, cols, None]
        better = with_i < old[:, d:]
        old[:, d:] = np.where(better, with_i, old[:, d:])
        dp[cols] = old
        took[i, cols, d:] = better
    columns = np.arange(m)
    rho = dp[columns, caps]
    x = np.zeros((n, m))
    room = caps.copy()
    for i in range(n - 1, -1, -1):
        used = took[i, columns, room]
        x[i, used] = 1.0
        room = room - used * int(demand[i])
    return rho, x


def _bound(
    problem: Problem, lam: Floats, exact: bool = False
) -> tuple[float, np.ndarray, Floats, Floats, Floats]:
    rho, x, floor = _values(problem, lam, exact)
    chosen = np.argpartition(rho, problem.k - 1)[: problem.k]
    return float(lam.sum() + rho[chosen].sum()), chosen, rho, x, floor


def relax(
    problem: Problem,
    upper: float,
    target: float,
    *,
    seconds: float = 10.0,
    iterations: int = 3000,
    start: Floats | None = None,
    exact: bool = False,
    beta: float = 2.0,
    visit: Callable[[list[int]], None] | None = None,
    every: int = 100,
) -> Relaxation:
    """Subgradient ascent until the bound passes ``target`` (the warm start is then optimal),
    the step has shrunk away, or the limits are reached.

    Every 50 steps the candidates that cannot open in a plan of at most ``target`` are left
    out of the relaxation. What it then bounds is the plans of at most ``target``: above
    ``target`` the warm start is optimal, at or below it the value bounds every plan.

    ``visit`` is handed the relaxation's leads (candidate indices) every ``every`` steps: a
    Lagrangian heuristic builds plans from them (the multipliers along the way differ, and so
    do their leads)."""
    began = time.perf_counter()
    whole, columns = problem, np.arange(problem.candidates)
    below = np.empty_like(problem.cost)
    lam = start.copy() if start is not None else np.sort(problem.cost, axis=1)[:, 1].copy()
    best_lam, best = lam.copy(), -np.inf
    stale, done = 0, 0
    patience = max(20, min(100, problem.areas // 10))
    while done < iterations:
        done += 1
        if done % 50 == 0 and np.isfinite(best):
            relaxed = Relaxation(best, best_lam, done, 0.0, exact)
            keep = np.nonzero(reduce(whole, relaxed, target).may_open)[0]
            if len(keep) < whole.k:
                best = upper  # no plan of at most target
                break
            if len(keep) < len(columns):
                columns, problem = keep, whole.restricted(keep)
                below = np.empty_like(problem.cost)
        value, g, chosen = _step(problem, lam, exact, below)
        if visit is not None and done % every == 0:
            visit([int(columns[j]) for j in chosen])
        if not np.isfinite(best) or value > best + 1e-9 * max(1.0, abs(best)):
            best, best_lam, stale = value, lam.copy(), 0
        else:
            stale += 1
            if stale >= patience:
                beta, stale = beta / 2, 0
        if best > target or beta < 1e-4 or time.perf_counter() - began > seconds:
            break
        norm = float(g @ g)
        if norm < 1e-12:
            break  # the relaxed solution is feasible for the assignment constraints
        step = beta * (upper - value) / norm
        lam = lam + step * g
    return Relaxation(best, best_lam, done, time.perf_counter() - began, exact)


def _step(
    problem: Problem, lam: Floats, exact: bool, below: Floats
) -> tuple[float, Floats, np.ndarray]:
    """Bound, subgradient and the chosen leads; uncapacitated in three passes over the
    matrix, written into ``below`` (a fresh large array per step costs more than the
    arithmetic), since the subgradient loop spends its time here."""
    if problem.capacities() is not None:
        value, chosen, _rho, x, _floor = _bound(problem, lam, exact)
        return value, 1.0 - x[:, chosen].sum(axis=1), chosen
    np.subtract(problem.cost, lam[:, None], out=below)
    np.minimum(below, 0.0, out=below)
    rho = below.sum(axis=0)
    chosen = np.argpartition(rho, problem.k - 1)[: problem.k]
    served = np.count_nonzero(below[:, chosen], axis=1)
    return float(lam.sum() + rho[chosen].sum()), 1.0 - served, chosen


def leads(problem: Problem, lam: Floats, exact: bool = False) -> list[int]:
    """The candidates the relaxation opens: a good start for the heuristic once λ is good."""
    return [int(j) for j in _bound(problem, lam, exact)[1]]


def reduce(problem: Problem, relaxation: Relaxation, target: float) -> Reduction:
    """Drop every candidate and pair that no plan of value at most ``target`` can use."""
    value, chosen, rho, _x, floor = _bound(problem, relaxation.multipliers, relaxation.exact)
    k, m = problem.k, problem.candidates
    inside = np.zeros(m, dtype=bool)
    inside[chosen] = True
    worst_in = rho[chosen].max()
    best_out = rho[~inside].min() if k < m else np.inf
    # Bound with j forced open (the k-th best leaves) or forced closed (the next best enters).
    open_cost = np.where(inside, 0.0, rho - worst_in)
    may_open = value + open_cost <= target
    must_open = inside & (value - rho + best_out > target)
    pairs = (value + open_cost[None, :] + floor <= target) & may_open[None, :]
    return Reduction(may_open, must_open, pairs)
