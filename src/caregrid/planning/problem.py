"""The grid planner's data: a `Problem` (areas, candidate leads, k), a `Plan` (which lead each
area goes to) and a `Bound` (what the solver proved).

Areas are streets/townships (rows), candidates are the hospitals that may lead a grid
(columns, A2). ``cost[i, j]`` is the travel cost of serving area i from candidate j, already
weighted by population for a city (population x distance); reference instances put plain
distances there. ``demand`` is what counts against a lead's capacity and the population bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault
from caregrid.i18n import msg
from caregrid.planning.graph import components, stray_parts

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Problem:
    """One planning instance. Only ``cost`` and ``k`` are required; every other field adds a
    constraint (capacity, population bounds, contiguity) that the solver then keeps."""

    name: str
    cost: Floats  # (areas, candidates)
    k: int  # number of grids = number of leads opened (A1, A3)
    demand: Floats | None = None  # (areas,) population or load
    capacity: Floats | None = None  # (candidates,) most demand one lead may serve
    population_min: float | None = None  # least demand in one grid
    population_max: float | None = None  # most demand in one grid
    # (candidates,) the area a candidate stands in: that area is in the candidate's grid (A2).
    site_area: Ints | None = None
    # Area pairs that share a border: when given, every grid is contiguous over them.
    adjacency: tuple[tuple[int, int], ...] | None = None
    # (areas,) today's lead per area (candidate index; -1 where today's grid has no candidate
    # lead). An area "moves" when its plan lead differs from a current lead >= 0; an area at
    # -1 has no lead to stay with and never counts as moved.
    current: Ints | None = None
    moves_max: int | None = None  # at most this many areas move (minimal change)
    move_weight: float = 0.0  # added to the objective per area moved
    # (areas,) names used in messages (e.g. the street's name); indices when absent.
    area_names: tuple[str, ...] | None = None

    @property
    def areas(self) -> int:
        return int(self.cost.shape[0])

    @property
    def candidates(self) -> int:
        return int(self.cost.shape[1])

    def loads(self) -> Floats:
        """Demand per area (1 each when none was given)."""
        return self.demand if self.demand is not None else np.ones(self.areas)

    def capacities(self) -> Floats | None:
        """Per-candidate upper limit on served demand: capacity and population_max, whichever
        is tighter; None when neither is set."""
        caps = None if self.capacity is None else self.capacity.astype(float)
        if self.population_max is not None:
            top = np.full(self.candidates, float(self.population_max))
            caps = top if caps is None else np.minimum(caps, top)
        return caps

    def moving(self) -> npt.NDArray[np.bool_]:
        """(areas, candidates): True where serving area i from j moves it from today's lead."""
        if self.current is None:
            return np.zeros(self.cost.shape, dtype=bool)
        moves: npt.NDArray[np.bool_] = self.current[:, None] != np.arange(self.candidates)
        moves[self.current < 0] = False
        return moves

    def moved(self, assignment: Ints) -> int:
        """Areas the assignment moves from today's lead."""
        return int(self.moving()[np.arange(self.areas), assignment].sum())

    def shifted(self) -> Problem:
        """``move_weight`` folded into the cost (cost + weight where j moves area i): the same
        objective, so every stage that reads only ``cost`` optimises it exactly."""
        if not self.move_weight or self.current is None:
            return self
        cost = self.cost + self.move_weight * self.moving()
        return replace(self, cost=cost, move_weight=0.0)

    def restricted(self, columns: Ints) -> Problem:
        """The same areas with only these candidates (for bounds over what may still open);
        a relaxation: the moves cap is dropped, the move weight stays in the cost."""
        base = self.shifted()

        def pick(values: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
            return None if values is None else values[columns]

        return replace(
            base,
            cost=base.cost[:, columns],
            capacity=pick(base.capacity),
            site_area=pick(base.site_area),
            current=None,
            moves_max=None,
        )

    def loosened(self) -> Problem:
        """Without capacities, population bounds, contiguity or a moves cap: its bound holds
        for this problem too, and costs far less to compute."""
        return replace(
            self.shifted(), capacity=None, population_min=None, population_max=None,
            adjacency=None, moves_max=None,
        )  # fmt: skip

    def label(self, area: int) -> str:
        """An area as messages name it."""
        if self.area_names is not None and 0 <= area < len(self.area_names):
            return f"{self.area_names[area]} (area {area})"
        return f"area {area}"

    @property
    def integral(self) -> bool:
        """Integer costs: a solution better than an upper bound is better by at least 1, which
        lets the reductions cut deeper."""
        return bool(np.all(self.cost == np.round(self.cost)))


def check(problem: Problem) -> None:
    """Refuse an instance no plan can satisfy, naming the constraint and why."""
    faults: list[Fault] = []
    n, m = problem.cost.shape if problem.cost.ndim == 2 else (0, 0)
    if problem.cost.ndim != 2 or n == 0 or m == 0:
        raise InvalidInput([Fault("cost", "needs at least one area and one candidate lead")])
    if not np.all(np.isfinite(problem.cost)) or np.any(problem.cost < 0):
        faults.append(Fault("cost", "every travel cost must be finite and not negative"))
    if problem.k < 1:
        faults.append(Fault("k", msg("at least 1 grid is needed (A3), got {k}", k=problem.k)))
    if problem.k > m:
        faults.append(
            Fault(
                "k",
                msg(
                    "{k} grids need {k} candidate lead hospitals (A2), only {m} candidates",
                    k=problem.k,
                    m=m,
                ),
            )
        )
    if problem.k > n:
        faults.append(
            Fault("k", msg("{k} grids cannot be drawn from only {n} areas", k=problem.k, n=n))
        )
    faults += _shape(problem, n, m)
    if faults:
        raise InvalidInput(faults)
    faults += _volume(problem) + _sites(problem) + _reach(problem)
    if faults:
        raise InvalidInput(faults)


def _shape(problem: Problem, n: int, m: int) -> list[Fault]:
    faults = []
    for name, array, size in (
        ("demand", problem.demand, n),
        ("capacity", problem.capacity, m),
        ("site_area", problem.site_area, m),
        ("current", problem.current, n),
    ):
        if array is not None and array.shape != (size,):
            faults.append(
                Fault(
                    name,
                    msg("needs {size} values, got shape {shape}", size=size, shape=array.shape),
                )
            )
    for name, array in (("demand", problem.demand), ("capacity", problem.capacity)):
        if array is not None and (not np.all(np.isfinite(array)) or np.any(array < 0)):
            faults.append(Fault(name, "every value must be a number, not negative"))
    for name, value in (
        ("population_min", problem.population_min),
        ("population_max", problem.population_max),
        ("move_weight", problem.move_weight),
    ):
        if value is not None and not (math.isfinite(value) and value >= 0):
            faults.append(
                Fault(name, msg("must be a number, not negative, got {value}", value=value))
            )
    if problem.moves_max is not None and problem.moves_max < 0:
        faults.append(
            Fault(
                "moves_max",
                msg("must not be negative, got {moves_max}", moves_max=problem.moves_max),
            )
        )
    if (problem.moves_max is not None or problem.move_weight) and problem.current is None:
        faults.append(Fault("current", "fewest areas moved needs today's lead per area"))
    if problem.current is not None and (
        np.any(problem.current < -1) or np.any(problem.current >= m)
    ):
        faults.append(Fault("current", msg("every lead must be a candidate below {m}, or -1", m=m)))
    if problem.area_names is not None and len(problem.area_names) != n:
        faults.append(
            Fault(
                "area_names",
                msg("needs {n} names, got {count}", n=n, count=len(problem.area_names)),
            )
        )
    if problem.site_area is not None and (
        np.any(problem.site_area < 0) or np.any(problem.site_area >= n)
    ):
        faults.append(Fault("site_area", msg("every site must be an area index below {n}", n=n)))
    if problem.adjacency is not None and problem.site_area is None:
        message = "contiguous grids need site_area: a lead's own area anchors its grid"
        faults.append(Fault("adjacency", message))
    for a, b in problem.adjacency or ():
        if not (0 <= a < n and 0 <= b < n) or a == b:
            faults.append(
                Fault("adjacency", msg("pair ({a}, {b}) is not two distinct areas", a=a, b=b))
            )
            break
    return faults


def _volume(problem: Problem) -> list[Fault]:
    """Demand against what k leads can serve, and the population bounds against each other."""
    faults = []
    total = float(problem.loads().sum())
    low, high = problem.population_min, problem.population_max
    if low is not None and high is not None and low > high:
        faults.append(
            Fault(
                "population_min",
                msg("{low:g} is above population_max {high:g}", low=low, high=high),
            )
        )
    if low is not None and low * problem.k > total:
        faults.append(
            Fault(
                "population_min",
                msg(
                    "{k} grids of at least {low:g} need {value:g}, the areas hold {total:g}",
                    k=problem.k,
                    low=low,
                    value=low * problem.k,
                    total=total,
                ),
            )
        )
    caps = problem.capacities()
    if caps is not None:
        best = float(np.sort(caps)[::-1][: problem.k].sum())
        name = "capacity" if problem.capacity is not None else "population_max"
        if best < total:
            faults.append(
                Fault(
                    name,
                    msg(
                        "the {k} largest leads serve at most {best:g}, below the total demand "
                        "{total:g}",
                        k=problem.k,
                        best=best,
                        total=total,
                    ),
                )
            )
        if np.any(problem.loads() > caps.max()):
            faults.append(Fault(name, "an area's demand exceeds what any grid may hold"))
    return faults


def _sites(problem: Problem) -> list[Fault]:
    """A lead's own area is in its grid, so two candidates standing in one area cannot both
    lead: k grids need k different site areas."""
    if problem.site_area is None:
        return []
    distinct = len(set(int(a) for a in problem.site_area))
    if distinct < problem.k:
        return [
            Fault(
                "site_area",
                msg(
                    "{k} grids need leads standing in {k} different areas, the candidates "
                    "stand in only {distinct}",
                    k=problem.k,
                    distinct=distinct,
                ),
            )
        ]
    return []


def _reach(problem: Problem) -> list[Fault]:
    """Contiguous grids: every area needs a border path to some candidate's own area, and
    each separate part of the map needs a lead of its own."""
    if problem.adjacency is None or problem.site_area is None:
        return []
    part = components(problem.areas, problem.adjacency)
    anchored = set(int(part[a]) for a in problem.site_area)
    stray = [i for i in range(problem.areas) if int(part[i]) not in anchored]
    if stray:
        named = ", ".join(problem.label(i) for i in stray[:10])
        more = f" and {len(stray) - 10} more" if len(stray) > 10 else ""
        return [
            Fault(
                "adjacency",
                msg(
                    "no border path joins {named}{more} to any candidate lead's area: no "
                    "contiguous grid can hold them",
                    named=named,
                    more=more,
                ),
            )
        ]
    parts = int(part.max()) + 1
    if parts > problem.k:
        return [
            Fault(
                "adjacency",
                msg(
                    "the areas form {parts} parts with no border between them, each needing "
                    "its own lead: {k} contiguous grids cannot cover them",
                    parts=parts,
                    k=problem.k,
                ),
            )
        ]
    return []


@dataclass(frozen=True)
class Plan:
    """A solution: the k leads opened and, per area, the lead (candidate index) serving it."""

    leads: tuple[int, ...]
    assignment: tuple[int, ...]
    cost: float

    def grids(self) -> dict[int, list[int]]:
        """Areas per lead."""
        found: dict[int, list[int]] = {lead: [] for lead in self.leads}
        for area, lead in enumerate(self.assignment):
            found[lead].append(area)
        return found


@dataclass(frozen=True)
class Bound:
    """What a solve proved: the best plan found, the best lower bound, and how they got there."""

    plan: Plan | None
    lower: float
    seconds: float
    optimal: bool
    method: str
    stages: dict[str, float] = field(default_factory=dict)
    # What the figures mean when there is no plan (the time limit came first) or no proof.
    note: str = ""

    @property
    def upper(self) -> float:
        return self.plan.cost if self.plan is not None else float("inf")

    @property
    def gap(self) -> float:
        """Relative gap (upper - lower) / upper; 0 when proven optimal."""
        if self.plan is None:
            return float("inf")
        if self.optimal or self.upper <= self.lower:
            return 0.0
        return (self.upper - self.lower) / max(abs(self.upper), 1e-9)


def target_below(problem: Problem, upper: float) -> float:
    """The most a plan may cost to count as better than ``upper``; a bound above it rules
    such plans out. With integer costs a better plan is better by at least 1 (the 1e-6 keeps
    rounding in the bound from ruling out a plan of exactly upper − 1); otherwise better means
    by more than 1e-7 of upper."""
    if problem.integral:
        return upper - 1.0 + 1e-6
    return upper - 1e-7 * max(1.0, abs(upper))


def evaluate(problem: Problem, assignment: Ints) -> float:
    """The objective of an assignment: travel cost, plus ``move_weight`` per area moved."""
    value = float(problem.cost[np.arange(problem.areas), assignment].sum())
    if problem.move_weight and problem.current is not None:
        value += problem.move_weight * problem.moved(assignment)
    return value


def violations(problem: Problem, leads: tuple[int, ...], assignment: Ints) -> list[str]:
    """Every constraint the plan breaks (empty for a feasible plan)."""
    found = []
    opened = set(leads)
    if len(opened) != problem.k:
        found.append(f"{len(opened)} leads opened, {problem.k} grids wanted")
    if any(int(lead) not in opened for lead in assignment):
        found.append("an area is served by a lead that is not opened")
    loads = np.bincount(assignment, weights=problem.loads(), minlength=problem.candidates)
    caps = problem.capacities()
    if caps is not None:
        over = [j for j in leads if loads[j] > caps[j] + 1e-6]
        if over:
            found.append(f"leads {over} serve more than their capacity")
    if problem.population_min is not None:
        under = [j for j in leads if loads[j] < problem.population_min - 1e-6]
        if under:
            found.append(f"grids of leads {under} are below population_min")
    if problem.site_area is not None:
        away = [j for j in leads if assignment[problem.site_area[j]] != j]
        if away:
            found.append(f"leads {away} are not in their own grid")
    if problem.adjacency is not None and stray_parts(problem, assignment):
        found.append("a grid is not contiguous")
    if problem.moves_max is not None and problem.moved(assignment) > problem.moves_max:
        found.append(f"{problem.moved(assignment)} areas moved, moves_max {problem.moves_max}")
    return found
