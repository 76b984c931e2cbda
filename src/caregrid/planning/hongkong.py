"""Hong Kong as a real city for the grid planner: the 18 District Council districts as areas,
the Hospital Authority's acute hospitals (those with an A&E service) as candidate leads, and
the Authority's 7 clusters as the partition a plan is compared with.

Read at run time from ``../shared/data/hk_ha`` (never copied into the repository) and from
``caregrid/data/planning/hk-districts.yaml`` (our reading of the district map: borders, sea
crossings, and the place names that locate a facility's address in a district).

- Cost of serving district i from hospital j: population_i × great-circle km from the
  district's centroid (approximate, as published with the population table) to the hospital.
- A facility's district: the district of the place its English address names last, a
  by-name entry of the YAML where the address misleads, else the nearest district centroid.
- A district's real cluster: the cluster of most of the general out-patient clinics
  (``facility-fmc.json``) lying in it; districts whose clinics belong to more than one cluster
  are reported as split. Its reference travel is to the nearest acute hospital of that cluster.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault
from caregrid.i18n import msg
from caregrid.planning.geo import haversine_km
from caregrid.planning.matching import best_matching
from caregrid.planning.problem import Plan, Problem
from caregrid.registry.layout import (
    CitySpec,
    CrossingSpec,
    DivisionSpec,
    GridSpec,
    InstitutionSpec,
    LayoutFile,
    MemberSpec,
    NetworkSpec,
)
from caregrid.registry.vocab import (
    Category,
    DivisionLevel,
    Level,
    NetworkKind,
    NetworkRole,
    PilotLevel,
    Tier,
)

Floats = npt.NDArray[np.float64]

POPULATION_FILE = "hk_population_by_district_2020.csv"


@dataclass(frozen=True)
class District:
    name: str
    population: float
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Hospital:
    name: str
    name_tc: str
    cluster: str
    latitude: float
    longitude: float
    district: int  # index into the districts


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    crossing: str | None  # the link's name; None for a land border


@dataclass(frozen=True, eq=False)
class Reference:
    """The Hospital Authority's clusters as a partition of the districts."""

    clusters: tuple[str, ...]
    cluster_of: tuple[int, ...]  # per district, index into clusters
    votes: tuple[dict[str, int], ...]  # per district, general out-patient clinics per cluster
    nearest: tuple[int, ...]  # per district, nearest acute hospital (candidate) of its cluster
    candidate_cluster: tuple[int, ...]  # per candidate, its cluster
    km: Floats  # (districts, candidates)
    population: Floats

    def split(self) -> dict[int, dict[str, int]]:
        """Districts whose clinics belong to more than one cluster, with the counts."""
        return {i: v for i, v in enumerate(self.votes) if len(v) > 1}

    def plan(self) -> Plan:
        """The clusters as a plan of one lead each: the cluster's acute hospital with the least
        population-weighted travel to the cluster's districts."""
        leads: list[int] = []
        assignment = [0] * len(self.cluster_of)
        for c in range(len(self.clusters)):
            members = [i for i, own in enumerate(self.cluster_of) if own == c]
            if not members:
                continue
            options = [j for j, own in enumerate(self.candidate_cluster) if own == c]
            weighted = self.population[members, None] * self.km[np.ix_(members, options)]
            lead = options[int(np.argmin(weighted.sum(axis=0)))]
            leads.append(lead)
            for i in members:
                assignment[i] = lead
        cost = float(sum(self.population[i] * self.km[i, j] for i, j in enumerate(assignment)))
        return Plan(tuple(leads), tuple(assignment), cost)


@dataclass(frozen=True, eq=False)
class HongKong:
    problem: Problem
    districts: tuple[District, ...]
    hospitals: tuple[Hospital, ...]  # the candidate leads, in the problem's column order
    links: tuple[Link, ...]
    reference: Reference


@dataclass(frozen=True)
class Figures:
    grids: int
    population_min: float
    population_max: float
    population_cv: float  # standard deviation / mean of population per grid
    mean_km: float  # population-weighted mean travel from district centroid to its hospital
    worst_km: float  # the district farthest from its hospital


@dataclass(frozen=True)
class Comparison:
    alike_population: float  # share of the population in a grid matched to its own cluster
    alike_districts: float  # share of the districts likewise
    matching: dict[int, int]  # plan lead -> cluster index
    plan: Figures
    reference: Figures


def shipped_map() -> Path:
    return Path(str(resources.files("caregrid.data").joinpath("planning", "hk-districts.yaml")))


def read_districts(folder: Path) -> tuple[District, ...]:
    """The population table (UTF-8 with a byte-order mark): name, 'Both sexes', centroid."""
    path = folder / POPULATION_FILE
    found = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                found.append(
                    District(
                        name=row["District Council district"].strip(),
                        population=float(row["Both sexes"]),
                        latitude=float(row["latitude"]),
                        longitude=float(row["longitude"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidInput(
                    [Fault("row", msg("unreadable district row: {exc}", exc=exc), str(path), line)]
                ) from exc
    faults = [
        Fault("Both sexes", msg("{name} has no population", name=d.name), str(path))
        for d in found
        if d.population <= 0
    ]
    if faults:
        raise InvalidInput(faults)
    return tuple(found)


def read_map(path: Path, names: list[str]) -> tuple[list[Link], dict[str, int], dict[str, int]]:
    """Links, place names and by-name facility districts from the map file; a district name
    that is not in the population table is an error naming the entry."""
    raw: Any = yaml.safe_load(path.read_text("utf-8"))
    index = {name: i for i, name in enumerate(names)}
    faults: list[Fault] = []

    def district(field: str, value: object) -> int:
        if value not in index:
            faults.append(
                Fault(
                    field,
                    msg(
                        "{value!r} is not one of the districts of {population_file}",
                        value=value,
                        population_file=POPULATION_FILE,
                    ),
                    str(path),
                )
            )
            return -1
        return index[str(value)]

    links: list[Link] = []
    seen: set[frozenset[int]] = set()
    for n, pair in enumerate(raw.get("pairs") or []):
        a, b = district(f"pairs[{n}].a", pair.get("a")), district(f"pairs[{n}].b", pair.get("b"))
        crossing = pair.get("crossing")
        if (crossing is None) == (pair.get("border") != "land"):
            faults.append(Fault(f"pairs[{n}]", "needs either border: land or crossing: <link>"))
        if a < 0 or b < 0:
            continue
        if a == b or frozenset((a, b)) in seen:
            faults.append(
                Fault(
                    f"pairs[{n}]",
                    msg(
                        "{names}–{names2} is a self or repeat pair", names=names[a], names2=names[b]
                    ),
                )
            )
        seen.add(frozenset((a, b)))
        links.append(Link(a, b, None if crossing is None else str(crossing)))
    places = {str(k): district(f"places.{k}", v) for k, v in (raw.get("places") or {}).items()}
    by_name = {
        str(k): district(f"facilities.{k}", v) for k, v in (raw.get("facilities") or {}).items()
    }
    if faults:
        raise InvalidInput(faults)
    return links, places, by_name


def locate(
    record: dict[str, Any],
    places: dict[str, int],
    by_name: dict[str, int],
    districts: tuple[District, ...],
) -> int:
    """A facility's district: by name, else the place its address names last, else the
    nearest centroid."""
    name = str(record["institution_eng"])
    if name in by_name:
        return by_name[name]
    address = str(record.get("address_eng") or "")
    best, at = -1, (-1, 0)
    for place, district in places.items():
        for hit in re.finditer(rf"\b{re.escape(place)}\b", address):
            # The last place named wins; at the same position the longer name does.
            if (hit.start(), len(place)) > at:
                best, at = district, (hit.start(), len(place))
    if best >= 0:
        return best
    lat = np.array([d.latitude for d in districts])
    lon = np.array([d.longitude for d in districts])
    here = np.array([record["latitude"], record["longitude"]], dtype=np.float64)
    km = haversine_km(lat, lon, here[:1], here[1:])
    return int(np.argmin(km))


def _facilities(folder: Path, name: str) -> list[dict[str, Any]]:
    data: Any = json.loads((folder / name).read_text("utf-8"))
    return list(data)


def problem(
    folder: Path,
    *,
    k: int = 7,
    contiguous: bool = True,
    population_max: float | None = None,
    links: Path | None = None,
) -> HongKong:
    """The Hong Kong instance: districts, acute hospitals, their costs and the reference."""
    districts = read_districts(folder)
    names = [d.name for d in districts]
    found, places, by_name = read_map(links or shipped_map(), names)
    hospitals = tuple(
        Hospital(
            name=str(h["institution_eng"]),
            name_tc=str(h["institution_tc"]),
            cluster=str(h["cluster_eng"]),
            latitude=float(h["latitude"]),
            longitude=float(h["longitude"]),
            district=locate(h, places, by_name, districts),
        )
        for h in _facilities(folder, "facility-hosp.json")
        if h.get("with_AE_service_eng") == "Yes"
    )
    lat = np.array([d.latitude for d in districts])
    lon = np.array([d.longitude for d in districts])
    km = haversine_km(
        lat[:, None],
        lon[:, None],
        np.array([h.latitude for h in hospitals])[None, :],
        np.array([h.longitude for h in hospitals])[None, :],
    )
    population = np.array([d.population for d in districts])
    built = Problem(
        name=f"hong-kong-{k}",
        cost=population[:, None] * km,
        k=k,
        demand=population,
        population_max=population_max,
        site_area=np.array([h.district for h in hospitals], dtype=np.int64),
        adjacency=tuple((link.a, link.b) for link in found) if contiguous else None,
    )
    clinics = _facilities(folder, "facility-fmc.json")
    reference = _reference(clinics, districts, hospitals, km, population, places, by_name)
    return HongKong(built, districts, hospitals, tuple(found), reference)


def _reference(
    clinics: list[dict[str, Any]],
    districts: tuple[District, ...],
    hospitals: tuple[Hospital, ...],
    km: Floats,
    population: Floats,
    places: dict[str, int],
    by_name: dict[str, int],
) -> Reference:
    clusters = tuple(sorted({h.cluster for h in hospitals}))
    votes: list[Counter[str]] = [Counter() for _ in districts]
    for clinic in clinics:
        votes[locate(clinic, places, by_name, districts)][str(clinic["cluster_eng"])] += 1
    faults = [
        Fault("facility-fmc.json", msg("no clinic lies in {name}", name=d.name))
        for d, v in zip(districts, votes, strict=True)
        if not v
    ]
    if faults:
        raise InvalidInput(faults)
    # Most clinics wins; a tie goes to the cluster whose nearest acute hospital is closer.
    candidate_cluster = tuple(clusters.index(h.cluster) for h in hospitals)
    cluster_of = []
    nearest = []
    for i, count in enumerate(votes):
        top = max(count.values())

        def closest(cluster: str, i: int = i) -> tuple[float, int]:
            c = clusters.index(cluster)
            options = [j for j, own in enumerate(candidate_cluster) if own == c]
            j = min(options, key=lambda j: km[i, j])
            return float(km[i, j]), j

        tied = [c for c, n in count.items() if n == top]
        chosen = min(tied, key=lambda c: closest(c)[0])
        cluster_of.append(clusters.index(chosen))
        nearest.append(closest(chosen)[1])
    return Reference(
        clusters=clusters,
        cluster_of=tuple(cluster_of),
        votes=tuple(dict(v) for v in votes),
        nearest=tuple(nearest),
        candidate_cluster=candidate_cluster,
        km=km,
        population=population,
    )


def _figures(groups: list[list[int]], travel: Floats, population: Floats) -> Figures:
    sizes = np.array([population[g].sum() for g in groups])
    return Figures(
        grids=len(groups),
        population_min=float(sizes.min()),
        population_max=float(sizes.max()),
        population_cv=float(sizes.std() / sizes.mean()),
        mean_km=float((travel * population).sum() / population.sum()),
        worst_km=float(travel.max()),
    )


def compare(plan: Plan, reference: Reference) -> Comparison:
    """How a plan differs from the clusters: areas assigned alike (grids matched to clusters
    by the most shared population), population balance, and travel."""
    population = reference.population
    leads = list(plan.leads)
    row = {lead: r for r, lead in enumerate(leads)}
    overlap = np.zeros((len(leads), len(reference.clusters)))
    for i, lead in enumerate(plan.assignment):
        overlap[row[lead], reference.cluster_of[i]] += population[i]
    matched = best_matching(overlap)
    alike = [
        matched.get(row[lead]) == reference.cluster_of[i] for i, lead in enumerate(plan.assignment)
    ]
    alike_mask = np.array(alike)
    grids = [g for g in plan.grids().values() if g]
    clusters = [
        [i for i, c in enumerate(reference.cluster_of) if c == own]
        for own in range(len(reference.clusters))
    ]
    areas = np.arange(len(population))
    return Comparison(
        alike_population=float(population[alike_mask].sum() / population.sum()),
        alike_districts=float(alike_mask.mean()),
        matching={leads[r]: c for r, c in matched.items()},
        plan=_figures(grids, reference.km[areas, list(plan.assignment)], population),
        reference=_figures(
            [c for c in clusters if c], reference.km[areas, list(reference.nearest)], population
        ),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def layout(folder: Path) -> LayoutFile:
    """Hong Kong as a caregrid-layout/1 file, so the planner's pages can plan a real city:
    the 18 districts with their populations, centroids and borders, the acute hospitals (read
    as tertiary general hospitals: Hong Kong has no such grading, A2 is applied as if), and
    the 7 clusters as today's grids, each a network led by its acute hospital with the least
    resident-weighted travel to its districts. Networks use the Fujian profile, whose A1-A3
    rules are the national criteria's first; Hong Kong is not under them."""
    hk = problem(folder)
    raw: Any = yaml.safe_load(shipped_map().read_text("utf-8"))
    names_zh: dict[str, str] = raw.get("names_zh") or {}
    codes = [f"hk-{_slug(d.name)}" for d in hk.districts]
    neighbours: dict[int, list[str | CrossingSpec]] = {}
    for link in hk.links:
        first, second = sorted((link.a, link.b), key=lambda i: codes[i])
        neighbours.setdefault(first, []).append(
            codes[second]
            if link.crossing is None
            else CrossingSpec(division=codes[second], via=link.crossing)
        )
    source = f"{POPULATION_FILE} (Census and Statistics Department, mid-2020)"
    divisions = [
        DivisionSpec(code="hk", name_zh="香港", name_en="Hong Kong", level=DivisionLevel.CITY)
    ]
    divisions += [
        DivisionSpec(
            code=codes[i],
            name_zh=names_zh.get(d.name, d.name),
            name_en=d.name,
            level=DivisionLevel.COUNTY,
            parent="hk",
            population=int(d.population),
            population_source=source,
            lat=d.latitude,
            lon=d.longitude,
            adjacent=neighbours.get(i, []),
            note="centroid approximate, as published with the population table",
        )
        for i, d in enumerate(hk.districts)
    ]
    hospital_codes = [f"hk-ha-{_slug(h.name)}" for h in hk.hospitals]
    institutions = [
        InstitutionSpec(
            code=hospital_codes[j],
            name_zh=h.name_tc,
            name_en=h.name,
            level=Level.TERTIARY,
            category=Category.GENERAL_HOSPITAL,
            division=codes[h.district],
            lat=h.latitude,
            lon=h.longitude,
            source="facility-hosp.json (Hospital Authority via DATA.GOV.HK)",
            note="acute hospital with an A&E service, read as tertiary general for planning",
        )
        for j, h in enumerate(hk.hospitals)
    ]
    hospitals = _facilities(folder, "facility-hosp.json")
    cluster_zh = {str(h["cluster_eng"]): str(h["cluster_tc"]) for h in hospitals}
    reference = hk.reference
    lead_of = dict(zip(reference.cluster_of, reference.plan().assignment, strict=True))
    grids, networks = [], []
    for c, cluster in enumerate(reference.clusters):
        members = [codes[i] for i, own in enumerate(reference.cluster_of) if own == c]
        if not members:
            continue
        code = f"hk-{_slug(cluster.removesuffix(' Cluster'))}"
        name_zh = cluster_zh.get(cluster, cluster)
        grids.append(GridSpec(code=code, name_zh=name_zh, name_en=cluster, divisions=members))
        lead = lead_of[c]
        others = [j for j, own in enumerate(reference.candidate_cluster) if own == c and j != lead]
        networks.append(
            NetworkSpec(
                code=f"{code}-network",
                name_zh=name_zh,
                name_en=cluster,
                kind=NetworkKind.URBAN_GROUP,
                grid=code,
                profile="fujian",
                source="facility-hosp.json cluster_eng",
                members=[
                    MemberSpec(
                        institution=hospital_codes[lead], role=NetworkRole.LEAD, tier=Tier.CITY
                    ),
                    *(
                        MemberSpec(
                            institution=hospital_codes[j], role=NetworkRole.MEMBER, tier=Tier.CITY
                        )
                        for j in others
                    ),
                ],
            )
        )
    return LayoutFile(
        format="caregrid-layout/1",
        city=CitySpec(
            code="hong-kong",
            name_zh="香港",
            name_en="Hong Kong",
            pilot_level=PilotLevel.OTHER,
            area=["hk"],
            source=f"{folder} (Hospital Authority hospitals and clusters; district populations)",
            note="a reference city for the grid planner; Chinese pilot rules do not apply to it",
        ),
        divisions=divisions,
        grids=grids,
        networks=networks,
        institutions=institutions,
    )
