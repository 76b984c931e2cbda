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
from dataclasses import dataclass

import numpy as np

from caregrid.planning.problem import Floats, Problem


@dataclass
class Relaxation:
    lower: float
    multipliers: Floats
    iterations: int
    seconds: float


@dataclass
class Reduction:
    """What survives: candidates that may still open or must, and the (area, candidate)
    pairs a better plan can use."""

    may_open: np.ndarray  # bool (candidates,)
    must_open: np.ndarray  # bool (candidates,)
    pairs: np.ndarray  # bool (areas, candidates)


def _values(problem: Problem, lam: Floats) -> tuple[Floats, Floats, Floats]:
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
    return rho, x, floor


def _bound(problem: Problem, lam: Floats) -> tuple[float, np.ndarray, Floats, Floats, Floats]:
    rho, x, floor = _values(problem, lam)
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
) -> Relaxation:
    """Subgradient ascent until the bound passes ``target`` (the warm start is then optimal),
    the step has shrunk away, or the limits are reached."""
    began = time.perf_counter()
    lam = start.copy() if start is not None else np.sort(problem.cost, axis=1)[:, 1].copy()
    best_lam, best = lam.copy(), -np.inf
    beta, stale, done = 2.0, 0, 0
    patience = max(20, min(100, problem.areas // 10))
    while done < iterations:
        done += 1
        value, chosen, _rho, x, _floor = _bound(problem, lam)
        if not np.isfinite(best) or value > best + 1e-9 * max(1.0, abs(best)):
            best, best_lam, stale = value, lam.copy(), 0
        else:
            stale += 1
            if stale >= patience:
                beta, stale = beta / 2, 0
        if best > target or beta < 1e-4 or time.perf_counter() - began > seconds:
            break
        g = 1.0 - x[:, chosen].sum(axis=1)
        norm = float(g @ g)
        if norm < 1e-12:
            break  # the relaxed solution is feasible for the assignment constraints
        step = beta * (upper - value) / norm
        lam = lam + step * g
    return Relaxation(best, best_lam, done, time.perf_counter() - began)


def leads(problem: Problem, lam: Floats) -> list[int]:
    """The candidates the relaxation opens: a good start for the heuristic once λ is good."""
    return [int(j) for j in _bound(problem, lam)[1]]


def reduce(problem: Problem, lam: Floats, target: float) -> Reduction:
    """Drop every candidate and pair that no plan of value at most ``target`` can use."""
    value, chosen, rho, _x, floor = _bound(problem, lam)
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
