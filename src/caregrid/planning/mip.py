"""The planning MIP on HiGHS: open y_j, assign x_ij, over whatever pairs survive the
Lagrangian reductions (all of them for the plain model).

    min Σ c_ij x_ij   s.t.  Σ_j x_ij = 1 (A1)   x_ij ≤ y_j   Σ_j y_j = k (A3)
    Σ_i d_i x_ij ≤ Q_j y_j (capacity, population_max)   Σ_i d_i x_ij ≥ P y_j (population_min)
    x_{s_j j} = y_j (a lead's own area is in its grid, A2)
    Σ_{i: today's lead t_i} x_{i t_i} ≥ (areas with a lead today) − moves_max (minimal change)

A ``move_weight`` is in the costs already (``Problem.shifted``).

Contiguity is added as cuts: when a grid of the solution falls apart, each stray piece C of
grid j gets x_ij ≤ Σ_{c ∈ N(C)} x_cj for its areas i (N(C): the areas bordering C), which
every contiguous grid holding its lead's area satisfies; the model is solved again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np

from caregrid.planning.graph import neighbours, stray_parts
from caregrid.planning.problem import Floats, Ints, Plan, Problem, evaluate

INF = highspy.kHighsInf


@dataclass
class Outcome:
    plan: Plan | None
    lower: float  # HiGHS's dual bound over the model it was given
    optimal: bool  # the model was solved to optimality (or shown to have no better plan)
    infeasible: bool
    seconds: float
    rounds: int  # solves (more than one when contiguity cuts were added)


class _Rows:
    """Rows gathered as (row, column, value) triples, passed to HiGHS row-wise at once."""

    def __init__(self) -> None:
        self.row: list[Ints] = []
        self.col: list[Ints] = []
        self.val: list[Floats] = []
        self.lower: list[Floats] = []
        self.upper: list[Floats] = []
        self.count = 0

    def add(self, row: Ints, col: Ints, val: Floats, lower: Floats, upper: Floats) -> None:
        """``row`` numbers within this block (0..len(lower)-1)."""
        self.row.append(row + self.count)
        self.col.append(col.astype(np.int64))
        self.val.append(val.astype(float))
        self.lower.append(lower.astype(float))
        self.upper.append(upper.astype(float))
        self.count += len(lower)

    def matrix(self) -> tuple[Floats, Floats, np.ndarray, np.ndarray, Floats]:
        row, col, val = np.concatenate(self.row), np.concatenate(self.col), np.concatenate(self.val)
        order = np.argsort(row, kind="stable")
        start = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=self.count))])
        return (
            np.concatenate(self.lower),
            np.concatenate(self.upper),
            start[:-1].astype(np.int32),
            col[order].astype(np.int32),
            val[order],
        )


def solve(
    problem: Problem,
    pairs: np.ndarray | None = None,
    *,
    may_open: np.ndarray | None = None,
    must_open: np.ndarray | None = None,
    cutoff: float | None = None,
    seconds: float = 60.0,
    warm: Plan | None = None,
) -> Outcome:
    """Solve over the allowed pairs (default: all) with HiGHS. With ``cutoff`` only plans of
    at most that value are sought; finding none proves there is none."""
    began = time.perf_counter()
    n, m = problem.areas, problem.candidates
    allowed = np.ones((n, m), dtype=bool) if pairs is None else pairs.copy()
    opened_lo = np.zeros(m) if must_open is None else must_open.astype(float)
    opened_hi = np.ones(m) if may_open is None else may_open.astype(float)
    if problem.site_area is not None:
        home = allowed[problem.site_area, np.arange(m)]
        opened_hi[~home] = 0.0  # a lead whose own area cannot join it cannot open
    allowed &= opened_hi[None, :] > 0
    if np.any(opened_lo > opened_hi) or not np.all(allowed.any(axis=1)):
        return Outcome(None, INF, True, True, time.perf_counter() - began, 0)
    area, cand = np.nonzero(allowed)
    index = np.full((n, m), -1, dtype=np.int64)
    index[area, cand] = m + np.arange(len(area))
    columns = m + len(area)
    lower, upper, start, col, val = _model(problem, area, cand, index).matrix()
    tight = problem.capacities() is not None or problem.population_min is not None
    integer = tight or problem.adjacency is not None or problem.moves_max is not None
    kinds = np.ones(columns, dtype=np.int32)
    if not integer:
        kinds[m:] = 0
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(1.0, seconds))
    # Proven optimal means: below 1 with integer costs, within 1e-7 otherwise (as target_below).
    h.setOptionValue("mip_rel_gap", 0.0 if problem.integral else 1e-7)
    h.setOptionValue("mip_abs_gap", 1.0 - 1e-6 if problem.integral else 0.0)
    h.setOptionValue("threads", 1)
    if cutoff is not None:
        h.setOptionValue("objective_bound", cutoff + 1e-9 * max(1.0, abs(cutoff)))
    costs = np.concatenate([np.zeros(m), problem.shifted().cost[area, cand]])
    col_lo = np.concatenate([opened_lo, np.zeros(len(area))])
    col_hi = np.concatenate([opened_hi, np.ones(len(area))])
    h.passModel(
        columns, len(lower), len(val), 2, 1, 0.0, costs, col_lo, col_hi,
        lower, upper, start, col, val, kinds,
    )  # fmt: skip
    if warm is not None:
        _warm(h, warm, index, columns, m)
    rounds, adjacent = 0, neighbours(n, problem.adjacency or ())
    while True:
        rounds += 1
        left = seconds - (time.perf_counter() - began)
        h.setOptionValue("time_limit", max(1.0, left))
        h.run()
        status = h.getModelStatus()
        plan = _plan(problem, h, index) if h.getInfo().primal_solution_status == 2 else None
        if problem.adjacency is None or plan is None or status != highspy.HighsModelStatus.kOptimal:
            break
        assignment = np.asarray(plan.assignment, dtype=np.int64)
        stray = stray_parts(problem, assignment)
        if not stray or left <= 1.0:
            break
        _cut(h, stray, adjacent, index, assignment)
    info = h.getInfo()
    infeasible = status == highspy.HighsModelStatus.kInfeasible
    optimal = status == highspy.HighsModelStatus.kOptimal or infeasible
    if (
        plan is not None
        and problem.adjacency is not None
        and stray_parts(problem, np.asarray(plan.assignment))
    ):
        plan, optimal = None, False  # the time ran out before the cuts made it contiguous
    bound = float(info.mip_dual_bound) if not infeasible else INF
    if optimal and plan is not None:
        bound = max(bound, plan.cost) if problem.integral else plan.cost
    return Outcome(plan, bound, optimal, infeasible, time.perf_counter() - began, rounds)


def _model(problem: Problem, area: Ints, cand: Ints, index: np.ndarray) -> _Rows:
    n, m, pairs = problem.areas, problem.candidates, len(area)
    x = m + np.arange(pairs)
    ones = np.ones(pairs)
    rows = _Rows()
    rows.add(area, x, ones, np.ones(n), np.ones(n))  # each area in one grid (A1)
    link = np.arange(pairs)
    rows.add(
        np.concatenate([link, link]), np.concatenate([x, cand]),
        np.concatenate([ones, -ones]), np.full(pairs, -INF), np.zeros(pairs),
    )  # fmt: skip
    k = np.array([float(problem.k)])
    rows.add(np.zeros(m, dtype=np.int64), np.arange(m), np.ones(m), k, k)  # k grids (A3)
    demand = problem.loads()[area]
    caps = problem.capacities()
    each = np.arange(m)
    for limit, lo, hi in (
        (caps, None, 0.0),
        (None if problem.population_min is None else np.full(m, problem.population_min), 0.0, None),
    ):
        if limit is None:
            continue
        rows.add(
            np.concatenate([cand, each]), np.concatenate([x, each]),
            np.concatenate([demand, -limit]),
            np.full(m, -INF if lo is None else lo), np.full(m, INF if hi is None else hi),
        )  # fmt: skip
    if problem.site_area is not None:
        home = index[problem.site_area, each]
        keep = home >= 0
        count = int(keep.sum())
        block = np.arange(count)
        rows.add(
            np.concatenate([block, block]), np.concatenate([home[keep], each[keep]]),
            np.concatenate([np.ones(count), -np.ones(count)]), np.zeros(count), np.zeros(count),
        )  # fmt: skip
    if problem.moves_max is not None and problem.current is not None:
        today = problem.current >= 0
        stay = index[np.nonzero(today)[0], problem.current[today]]
        stay = stay[stay >= 0]
        least = np.array([float(today.sum() - problem.moves_max)])
        rows.add(np.zeros(len(stay), dtype=np.int64), stay, np.ones(len(stay)), least,
                 np.array([INF]))  # fmt: skip
    return rows


def feasible(problem: Problem, seconds: float) -> bool | None:
    """Whether any plan meets the constraints (the cost set aside): True, False, or None
    when the time ran out first."""
    blank = replace(problem, cost=np.zeros_like(problem.cost), move_weight=0.0)
    found = solve(blank, seconds=seconds)
    if found.infeasible:
        return False
    return True if found.plan is not None and found.optimal else None


def _plan(problem: Problem, h: highspy.Highs, index: np.ndarray) -> Plan:
    values = np.asarray(h.getSolution().col_value)
    m = problem.candidates
    x = np.where(index >= 0, values[np.clip(index, 0, None)], -1.0)
    assignment = np.argmax(x, axis=1).astype(np.int64)
    leads = tuple(int(j) for j in np.nonzero(values[:m] > 0.5)[0])
    return Plan(leads, tuple(int(v) for v in assignment), evaluate(problem, assignment))


def _warm(h: highspy.Highs, plan: Plan, index: np.ndarray, columns: int, m: int) -> None:
    """Hand HiGHS the warm start when every pair it uses is still in the model."""
    used = index[np.arange(len(plan.assignment)), np.asarray(plan.assignment)]
    if np.any(used < 0):
        return
    values = np.zeros(columns)
    values[list(plan.leads)] = 1.0
    values[used] = 1.0
    solution = highspy.HighsSolution()
    solution.col_value = list(values)
    solution.value_valid = True
    h.setSolution(solution)


def _cut(
    h: highspy.Highs,
    stray: list[tuple[int, set[int]]],
    adjacent: list[list[int]],
    index: np.ndarray,
    assignment: Ints,
) -> None:
    """x_ij − Σ_{c ∈ N(C)} x_cj ≤ 0 for every area i of every stray piece C."""
    lo: list[float] = []
    hi: list[float] = []
    starts: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for lead, piece in stray:
        border = {c for i in piece for c in adjacent[i]} - piece
        around = [int(index[c, lead]) for c in border if index[c, lead] >= 0]
        for i in piece:
            if index[i, lead] < 0:
                continue
            starts.append(len(cols))
            cols += [int(index[i, lead]), *around]
            vals += [1.0] + [-1.0] * len(around)
            lo.append(-INF)
            hi.append(0.0)
    if lo:
        h.addRows(
            len(lo), np.array(lo), np.array(hi), len(cols),
            np.array(starts, dtype=np.int32), np.array(cols, dtype=np.int32), np.array(vals),
        )  # fmt: skip
