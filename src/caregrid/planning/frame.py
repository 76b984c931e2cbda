"""A city's layout read as a planning `Problem`: areas (the smallest divisions of its area),
candidate leads (institutions the profile allows to lead, A2), today's grids, and the travel
cost between them. Everything the layout lacks is refused here, naming the division or
institution and the field, before any solving."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault
from caregrid.i18n import msg
from caregrid.planning.geo import haversine_km
from caregrid.planning.problem import Floats, Ints, Problem
from caregrid.planning.schemas import PlanRequest
from caregrid.policy import service as policy
from caregrid.registry.layout import DivisionSpec, InstitutionSpec, LayoutFile
from caregrid.registry.vocab import NetworkRole


@dataclass(frozen=True)
class Frame:
    """The problem and the registry codes behind its rows and columns."""

    problem: Problem
    areas: list[DivisionSpec]
    candidates: list[InstitutionSpec]
    travel: Floats  # (areas, candidates) km or hops, unweighted
    travel_unit: str  # "km" or "hops"
    today_grid: list[str | None]  # per area: today's grid code
    min_grids: int
    profiles: list[str]  # whose lead rule (A2) and minimum grids (A3) apply


def leaves(layout: LayoutFile) -> list[DivisionSpec]:
    """The divisions grids are drawn from: those inside the city's area with no child
    declared (a street or township, or a district the layout does not divide further)."""
    parent = {d.code: d.parent for d in layout.divisions}
    has_child = {d.parent for d in layout.divisions if d.parent}
    area = set(layout.city.area)

    def inside(code: str) -> bool:
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current not in seen:
            if current in area:
                return True
            seen.add(current)
            current = parent.get(current)
        return False

    return [d for d in layout.divisions if d.code not in has_child and inside(d.code)]


def borders(areas: list[DivisionSpec]) -> list[tuple[int, int]]:
    """Borders between these areas as index pairs (a < b); borders to other divisions drop."""
    index = {d.code: i for i, d in enumerate(areas)}
    return sorted(
        {
            (min(index[d.code], index[o]), max(index[d.code], index[o]))
            for d in areas
            for o, _via in d.neighbours()
            if o in index
        }
    )


def _hops(n: int, edges: list[tuple[int, int]]) -> Floats:
    """Border crossings between every pair of areas (inf where none connects them)."""
    adjacent: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        adjacent[a].append(b)
        adjacent[b].append(a)
    dist = np.full((n, n), np.inf)
    for start in range(n):
        dist[start, start] = 0
        queue = deque([start])
        while queue:
            here = queue.popleft()
            for other in adjacent[here]:
                if dist[start, other] == np.inf:
                    dist[start, other] = dist[start, here] + 1
                    queue.append(other)
    return dist


def rules(layout: LayoutFile, profile: str | None) -> tuple[list[str], int]:
    """The profiles whose lead rule (A2) and minimum grid count (A3) the plan must meet."""
    names = [profile] if profile else sorted({n.profile for n in layout.networks})
    if not names:
        raise InvalidInput(
            [Fault("profile", "the city has no network, so no profile says who may lead (A2)")]
        )
    for name in names:
        if name not in policy.names():
            raise InvalidInput([Fault("profile", msg("no profile {name!r}", name=name))])
    minimum = 1
    for name in names:
        rule = policy.get(name).structure.min_grids
        if rule is not None:
            values = rule.value
            if layout.city.pilot_level == "provincial":
                minimum = max(minimum, values["provincial_pilot"])
            elif layout.city.pilot_level == "other":
                minimum = max(minimum, values["other"])
            else:  # the source does not say: the stricter reading
                minimum = max(minimum, *values.values())
    return names, minimum


def may_lead(inst: InstitutionSpec, profiles: list[str]) -> bool:
    for name in profiles:
        rule = policy.get(name).structure.lead
        if rule is None:
            continue
        if rule.levels and inst.level not in rule.levels:
            return False
        if rule.categories and inst.category not in rule.categories:
            return False
    return True


def build(layout: LayoutFile, request: PlanRequest) -> Frame:
    """The planning problem of this layout for this request, or every reason it has none."""
    faults: list[Fault] = []
    areas = leaves(layout)
    if not areas:
        raise InvalidInput([Fault("city.area", "the city's area holds no division to plan")])
    index = {d.code: i for i, d in enumerate(areas)}
    for d in areas:
        if d.population is None:
            faults.append(
                Fault(
                    "divisions.population",
                    msg("{code} {name_zh}: no population", code=d.code, name_zh=d.name_zh),
                )
            )
        elif d.population == 0:
            faults.append(
                Fault(
                    "divisions.population",
                    msg(
                        "{code} {name_zh}: population 0; merge it into a neighbour or give its "
                        "residents",
                        code=d.code,
                        name_zh=d.name_zh,
                    ),
                )
            )
    profiles, min_grids = rules(layout, request.profile)
    if request.grids < min_grids:
        faults.append(
            Fault(
                "grids",
                msg(
                    "{code} must plan at least {min_grids} grids (A3, profile {profiles}, "
                    "pilot level {pilot_level})",
                    code=layout.city.code,
                    min_grids=min_grids,
                    profiles=", ".join(profiles),
                    pilot_level=layout.city.pilot_level,
                ),
            )
        )
    candidates = [i for i in layout.institutions if may_lead(i, profiles)]
    if not candidates:
        faults.append(Fault("institutions", "no institution the profile allows to lead (A2)"))
    located = all(d.lat is not None and d.lon is not None for d in areas)
    edges = borders(areas)
    if faults:
        raise InvalidInput(faults)

    sites = _sites(layout, areas, index, candidates, located, faults)
    if not located and not edges:
        faults.append(
            Fault(
                "divisions.lat",
                "the areas have neither centroids nor borders: travel cannot be estimated",
            )
        )
    if request.contiguous and not edges:
        faults.append(
            Fault(
                "contiguous",
                "the layout records no borders between its areas (`adjacent`); "
                "plan without contiguity or add the borders",
            )
        )
    capacity = None
    if request.beds_per_1000_min is not None:
        missing = [c.code for c in candidates if c.beds is None]
        if missing:
            faults.append(
                Fault(
                    "beds_per_1000_min",
                    msg("beds not recorded for {missing}", missing=", ".join(missing)),
                )
            )
        else:
            capacity = (
                np.array([c.beds or 0 for c in candidates], dtype=float)
                * 1000.0
                / request.beds_per_1000_min
            )
    if faults:
        raise InvalidInput(faults)

    population = np.array([float(d.population or 0) for d in areas])
    if located:
        lat = np.array([d.lat for d in areas], dtype=float)
        lon = np.array([d.lon for d in areas], dtype=float)
        clat = np.array(
            [c.lat if c.lat is not None else lat[s] for c, s in zip(candidates, sites, strict=True)]
        )
        clon = np.array(
            [c.lon if c.lon is not None else lon[s] for c, s in zip(candidates, sites, strict=True)]
        )
        travel = haversine_km(lat[:, None], lon[:, None], clat[None, :], clon[None, :])
        unit = "km"
    else:
        travel = _hops(len(areas), edges)[:, sites]
        unit = "hops"
        if not np.all(np.isfinite(travel)):
            cut = [areas[i].code for i in np.where(~np.isfinite(travel).all(axis=1))[0]]
            raise InvalidInput(
                [
                    Fault(
                        "divisions.adjacent",
                        msg("no border path to any lead from {cut}", cut=", ".join(cut)),
                    )
                ]
            )
    today_grid, current = _today(layout, areas, candidates)
    problem = Problem(
        name=layout.city.code,
        cost=population[:, None] * travel,
        k=request.grids,
        demand=population,
        capacity=capacity,
        population_min=None if request.population_min is None else float(request.population_min),
        population_max=None if request.population_max is None else float(request.population_max),
        site_area=np.array(sites, dtype=np.int64),
        adjacency=tuple(edges) if request.contiguous else None,
        current=current,
        moves_max=request.moves_max,
        area_names=tuple(f"{d.code} {d.name_zh}" for d in areas),
    )
    return Frame(problem, areas, candidates, travel, unit, today_grid, min_grids, profiles)


def _sites(
    layout: LayoutFile,
    areas: list[DivisionSpec],
    index: dict[str, int],
    candidates: list[InstitutionSpec],
    located: bool,
    faults: list[Fault],
) -> list[int]:
    """The area each candidate stands in: its division when that is an area, else the area
    nearest its coordinates; refused when neither tells."""
    sites = []
    for c in candidates:
        if c.division in index:
            sites.append(index[c.division])
        elif c.lat is not None and c.lon is not None and located:
            near = min(
                range(len(areas)),
                key=lambda i: math.dist(
                    (areas[i].lat or 0.0, areas[i].lon or 0.0), (c.lat or 0.0, c.lon or 0.0)
                ),
            )
            sites.append(near)
        else:
            faults.append(
                Fault(
                    "institutions.division",
                    msg(
                        "{code} {name_zh} stands in {division}, not in one street or township: "
                        "set its division or its coordinates",
                        code=c.code,
                        name_zh=c.name_zh,
                        division=c.division,
                    ),
                )
            )
            sites.append(0)
    return sites


def _today(
    layout: LayoutFile, areas: list[DivisionSpec], candidates: list[InstitutionSpec]
) -> tuple[list[str | None], Ints]:
    """Per area: today's grid (covering it or an ancestor) and that grid's lead, as a
    candidate index (-1 when the lead is not a candidate or there is no grid)."""
    parent = {d.code: d.parent for d in layout.divisions}
    grid_of: dict[str, str] = {}
    for g in layout.grids:
        for code in g.divisions:
            grid_of[code] = g.code
    lead_of_grid: dict[str, str] = {}
    for n in layout.networks:
        lead = next((m.institution for m in n.members if m.role is NetworkRole.LEAD), None)
        if lead is not None:
            lead_of_grid.setdefault(n.grid, lead)
    column = {c.code: j for j, c in enumerate(candidates)}
    grids: list[str | None] = []
    current = np.full(len(areas), -1, dtype=np.int64)
    for i, d in enumerate(areas):
        up: str | None = d.code
        seen: set[str] = set()
        while up is not None and up not in grid_of and up not in seen:
            seen.add(up)
            up = parent.get(up)
        grid = grid_of.get(up) if up is not None else None
        grids.append(grid)
        lead = lead_of_grid.get(grid) if grid is not None else None
        if lead is not None and lead in column:
            current[i] = column[lead]
    return grids, current
