"""The grid planner's data: a `Problem` (areas, candidate leads, k), a `Plan` (which lead each
area goes to) and a `Bound` (what the solver proved).

Areas are streets/townships (rows), candidates are the hospitals that may lead a grid
(columns, A2). ``cost[i, j]`` is the travel cost of serving area i from candidate j, already
weighted by population for a city (population x distance); reference instances put plain
distances there. ``demand`` is what counts against a lead's capacity and the population bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault
from caregrid.planning.graph import stray_parts

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
    # (areas,) today's lead per area (candidate index), for the fewest-areas-moved objective.
    current: Ints | None = None

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

    def restricted(self, columns: Ints) -> Problem:
        """The same areas with only these candidates (for bounds over what may still open)."""

        def pick(values: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
            return None if values is None else values[columns]

        return replace(
            self,
            cost=self.cost[:, columns],
            capacity=pick(self.capacity),
            site_area=pick(self.site_area),
            current=None,
        )

    def loosened(self) -> Problem:
        """Without capacities, population bounds or contiguity: its bound holds for this
        problem too, and costs far less to compute."""
        return replace(
            self, capacity=None, population_min=None, population_max=None, adjacency=None
        )

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
        faults.append(Fault("k", f"at least 1 grid is needed (A3), got {problem.k}"))
    if problem.k > m:
        faults.append(
            Fault(
                "k",
                f"{problem.k} grids need {problem.k} candidate lead hospitals (A2), "
                f"only {m} candidates",
            )
        )
    if problem.k > n:
        faults.append(Fault("k", f"{problem.k} grids cannot be drawn from only {n} areas"))
    faults += _shape(problem, n, m)
    if faults:
        raise InvalidInput(faults)
    faults += _volume(problem)
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
            faults.append(Fault(name, f"needs {size} values, got shape {array.shape}"))
    if problem.demand is not None and np.any(problem.demand < 0):
        faults.append(Fault("demand", "no area may have negative demand"))
    if problem.site_area is not None and (
        np.any(problem.site_area < 0) or np.any(problem.site_area >= n)
    ):
        faults.append(Fault("site_area", f"every site must be an area index below {n}"))
    if problem.adjacency is not None and problem.site_area is None:
        message = "contiguous grids need site_area: a lead's own area anchors its grid"
        faults.append(Fault("adjacency", message))
    for a, b in problem.adjacency or ():
        if not (0 <= a < n and 0 <= b < n) or a == b:
            faults.append(Fault("adjacency", f"pair ({a}, {b}) is not two distinct areas"))
            break
    return faults


def _volume(problem: Problem) -> list[Fault]:
    """Demand against what k leads can serve, and the population bounds against each other."""
    faults = []
    total = float(problem.loads().sum())
    low, high = problem.population_min, problem.population_max
    if low is not None and high is not None and low > high:
        faults.append(Fault("population_min", f"{low:g} is above population_max {high:g}"))
    if low is not None and low * problem.k > total:
        faults.append(
            Fault(
                "population_min",
                f"{problem.k} grids of at least {low:g} need {low * problem.k:g}, "
                f"the areas hold {total:g}",
            )
        )
    caps = problem.capacities()
    if caps is not None:
        best = float(np.sort(caps)[::-1][: problem.k].sum())
        if best < total:
            name = "capacity" if problem.capacity is not None else "population_max"
            faults.append(
                Fault(
                    name,
                    f"the {problem.k} largest leads serve at most {best:g}, "
                    f"below the total demand {total:g}",
                )
            )
        if np.any(problem.loads() > caps.max()):
            faults.append(Fault("capacity", "an area's demand exceeds every lead's capacity"))
    return faults


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
    """Travel cost of an assignment."""
    return float(problem.cost[np.arange(problem.areas), assignment].sum())


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
    return found
