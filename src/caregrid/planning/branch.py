"""Lagrangian branch-and-bound over which leads open (uncapacitated problems).

Each node forces some candidates open and some closed; its bound is the Lagrangian bound
with those choices (multipliers inherited from the parent, a few subgradient steps more).
A node whose bound passes the target is pruned; the rest fix further candidates by the same
forcing test as the root reduction and branch on the most attractive open-in-the-relaxation
candidate (open first). The relaxation's chosen leads are also tried as a plan (every tenth
node after swaps among the searched candidates), which keeps the upper bound falling. Only
the candidates that survived the root reduction are searched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from caregrid.planning.heuristic import interchange
from caregrid.planning.problem import Floats, Plan, Problem, evaluate, target_below


@dataclass
class Search:
    plan: Plan
    lower: float
    optimal: bool
    nodes: int


@dataclass
class _Node:
    opened: np.ndarray  # bool over searched columns
    closed: np.ndarray
    lam: Floats
    bound: float


def search(
    problem: Problem,
    plan: Plan,
    lam: Floats,
    may_open: np.ndarray,
    must_open: np.ndarray,
    *,
    seconds: float,
) -> Search:
    began = time.perf_counter()
    columns = np.nonzero(may_open)[0]
    cost = problem.cost[:, columns]
    k = problem.k
    best, upper = plan, plan.cost
    root = _Node(must_open[columns].copy(), np.zeros(len(columns), dtype=bool), lam, -np.inf)
    stack, nodes = [root], 0
    while stack:
        if time.perf_counter() - began > seconds:
            lower = min([upper, *(node.bound for node in stack)])
            return Search(best, lower, False, nodes)
        node = stack.pop()
        target = target_below(problem, upper)
        if node.bound > target:
            continue
        nodes += 1
        bound, lam, chosen, rho, covered = _ascend(
            cost, k, node, upper, target, 150 if nodes == 1 else 40
        )
        positions = np.nonzero(chosen | node.opened)[0]
        if nodes % 10 == 1:
            # Now and then improve the relaxation's leads by swaps among the searched ones.
            positions = np.asarray(interchange(cost, [int(v) for v in positions]))
        leads = columns[positions]
        value = float(problem.cost[:, leads].min(axis=1).sum())
        if value < upper - 1e-9:
            assignment = leads[np.argmin(problem.cost[:, leads], axis=1)].astype(np.int64)
            best = Plan(
                tuple(int(j) for j in sorted(leads)),
                tuple(int(a) for a in assignment),
                evaluate(problem, assignment),
            )
            upper, target = best.cost, target_below(problem, best.cost)
        if bound > target or covered:
            continue  # pruned, or the relaxation's plan is feasible and so optimal here
        opened, closed = node.opened.copy(), node.closed.copy()
        free = ~opened & ~closed
        pick = chosen & free
        left = k - int(opened.sum())
        if pick.any() and (~pick & free).any():
            worst_in = rho[pick].max()
            best_out = rho[~pick & free].min()
            closed |= free & ~pick & (bound + rho - worst_in > target)
            opened |= pick & (bound - rho + best_out > target)
        free = ~opened & ~closed
        left = k - int(opened.sum())
        if left < 0 or free.sum() < left:
            continue
        if left == 0 or free.sum() == left:
            continue  # the node's only plan was tried above as the relaxation's leads
        candidates = np.nonzero(chosen & free)[0]
        if len(candidates) == 0:
            candidates = np.nonzero(free)[0]
        j = int(candidates[np.argmin(rho[candidates])])
        shut, take = closed.copy(), opened.copy()
        shut[j], take[j] = True, True
        stack.append(_Node(opened, shut, lam, bound))
        stack.append(_Node(take, closed, lam, bound))
    return Search(best, upper, True, nodes)


def _ascend(
    cost: Floats, k: int, node: _Node, upper: float, target: float, steps: int
) -> tuple[float, Floats, np.ndarray, Floats, bool]:
    """Subgradient steps at a node: best bound, its multipliers, the chosen free columns,
    ρ per column, and whether the relaxed solution already serves every area once."""
    lam, best = node.lam.copy(), -np.inf
    keep = (node.lam.copy(), np.zeros(cost.shape[1], dtype=bool), np.zeros(cost.shape[1]), False)
    beta, stale = 1.0, 0
    free = ~node.opened & ~node.closed
    left = k - int(node.opened.sum())
    reduced = np.empty_like(cost)
    for _ in range(steps):
        np.subtract(cost, lam[:, None], out=reduced)
        rho = np.minimum(reduced, 0.0).sum(axis=0)
        chosen = np.zeros(cost.shape[1], dtype=bool)
        if left > 0:
            free_idx = np.nonzero(free)[0]
            chosen[free_idx[np.argpartition(rho[free_idx], left - 1)[:left]]] = True
        use = chosen | node.opened
        value = float(lam.sum() + rho[use].sum())
        g = 1.0 - (reduced[:, use] < 0).sum(axis=1)
        covered = bool(np.all(g == 0))
        if value > best + 1e-9 * max(1.0, abs(value)) or not np.isfinite(best):
            best, keep, stale = value, (lam.copy(), chosen, rho, covered), 0
        else:
            stale += 1
            if stale >= 10:
                beta, stale = beta / 2, 0
        if best > target or covered or beta < 1e-3:
            break
        norm = float(g @ g)
        lam = lam + beta * (upper - value) / norm * g
    return best, keep[0], keep[1], keep[2], keep[3]
