"""Hong Kong as a real city (../shared/data/hk_ha): the instance, our district map, the
Hospital Authority's clusters as reference, and a plan of 7 grids compared with them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session
from tests.conftest import SHARED, require_shared

from caregrid.auth.roles import SYSTEM
from caregrid.errors import InvalidInput
from caregrid.planning import frame, geo, graph, hongkong, solver
from caregrid.planning import service as planner
from caregrid.planning.matching import best_matching
from caregrid.planning.problem import violations
from caregrid.planning.schemas import PlanRequest
from caregrid.registry import service as registry

FOLDER = SHARED / "data" / "hk_ha"


@pytest.fixture(scope="module")
def hk() -> hongkong.HongKong:
    return hongkong.problem(require_shared(FOLDER))


def test_eighteen_districts_with_the_csv_population(hk: hongkong.HongKong) -> None:
    path = require_shared(FOLDER / hongkong.POPULATION_FILE)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    problem = hk.problem
    assert problem.areas == 18 and len(rows) == 18
    assert problem.demand is not None
    assert problem.demand.sum() == sum(float(r["Both sexes"]) for r in rows) == 7_422_300
    # The byte-order mark must not eat the first column's name.
    assert hk.districts[0].name == "Central & Western"


def test_candidates_are_the_acute_hospitals_sited_by_address(hk: hongkong.HongKong) -> None:
    assert len(hk.hospitals) == hk.problem.candidates == 18
    where = {h.name: hk.districts[h.district].name for h in hk.hospitals}
    # Tseung Kwan O Hospital's nearest centroid is Kwun Tong's; its address puts it in Sai Kung.
    assert where["Tseung Kwan O Hospital"] == "Sai Kung"
    assert where["Princess Margaret Hospital"] == "Kwai Tsing"
    assert where["St. John Hospital"] == where["North Lantau Hospital"] == "Islands"
    assert "Kwai Chung Hospital" not in where  # no A&E service
    # Cost is population × km: the site's own district is served from under 10 km.
    problem = hk.problem
    assert problem.demand is not None and problem.site_area is not None
    own = problem.cost[problem.site_area, np.arange(18)] / problem.demand[problem.site_area]
    assert np.all(own < 10)


def test_district_map_is_symmetric_and_connected_only_with_crossings(
    hk: hongkong.HongKong,
) -> None:
    adjacency = hk.problem.adjacency
    assert adjacency is not None
    pairs = {frozenset(p) for p in adjacency}
    assert len(pairs) == len(adjacency)  # no pair listed twice, in either order
    near = graph.neighbours(18, adjacency)
    assert all(b in near[a] and a in near[b] for a, b in adjacency)
    assert _parts(near) == 1
    land = tuple((link.a, link.b) for link in hk.links if link.crossing is None)
    # Without the harbour crossings and ferries, Hong Kong Island stands apart.
    assert _parts(graph.neighbours(18, land)) == 2
    assert any(link.crossing and "Cross-Harbour" in link.crossing for link in hk.links)


def _parts(near: list[list[int]]) -> int:
    seen: set[int] = set()
    parts = 0
    for start in range(len(near)):
        if start in seen:
            continue
        parts += 1
        stack = [start]
        while stack:
            a = stack.pop()
            if a not in seen:
                seen.add(a)
                stack.extend(near[a])
    return parts


def test_a_misspelt_district_in_the_map_is_named(tmp_path: Path) -> None:
    text = hongkong.shipped_map().read_text("utf-8")
    wrong = tmp_path / "map.yaml"
    wrong.write_text(text.replace("{a: Wan Chai, b: Eastern", "{a: Wan Chia, b: Eastern", 1))
    with pytest.raises(InvalidInput) as caught:
        hongkong.problem(require_shared(FOLDER), links=wrong)
    assert "pairs[2].a" in str(caught.value.problems[0].field)
    assert "Wan Chia" in caught.value.problems[0].message


def test_reference_is_the_seven_clusters(hk: hongkong.HongKong) -> None:
    ref = hk.reference
    assert len(ref.clusters) == 7 and len(set(ref.cluster_of)) == 7
    cluster = {d.name: ref.clusters[c] for d, c in zip(hk.districts, ref.cluster_of, strict=True)}
    assert cluster["Sai Kung"] == "Kowloon East Cluster"
    assert cluster["Wong Tai Sin"] == "Kowloon Central Cluster"
    split = {hk.districts[i].name for i in ref.split()}
    assert {"Islands", "Southern"} <= split
    for i, j in enumerate(ref.nearest):  # reference travel: to an acute hospital of its own
        assert ref.candidate_cluster[j] == ref.cluster_of[i]


def test_plan_of_seven_is_contiguous_and_compares_in_range(hk: hongkong.HongKong) -> None:
    mean = float(hk.problem.loads().sum()) / 7
    capped = hongkong.problem(require_shared(FOLDER), population_max=1.3 * mean)
    for case in (hk, capped):
        bound = solver.solve(case.problem, seconds=30)
        assert bound.plan is not None and bound.optimal
        plan = bound.plan
        assignment = np.asarray(plan.assignment)
        assert violations(case.problem, plan.leads, assignment) == []
        assert not graph.stray_parts(case.problem, assignment)
        areas = sorted(a for grid in plan.grids().values() for a in grid)
        assert areas == list(range(18)) and len(plan.leads) == 7
        result = hongkong.compare(plan, case.reference)
        for share in (result.alike_population, result.alike_districts):
            assert 0 <= share <= 1
        assert result.plan.grids == result.reference.grids == 7
        assert result.plan.population_max <= (1.3 * mean if case is capped else np.inf)
        assert sorted(result.matching) == sorted(plan.leads)
        assert len(set(result.matching.values())) == 7


def test_reference_compared_with_itself_is_all_alike(hk: hongkong.HongKong) -> None:
    ref = hk.reference
    result = hongkong.compare(ref.plan(), ref)
    assert result.alike_population == result.alike_districts == 1.0
    assert result.plan.population_cv == pytest.approx(result.reference.population_cv)
    # One lead per cluster travels no less than each district's nearest hospital of its cluster.
    assert result.plan.mean_km >= result.reference.mean_km


def test_matching_brute_force_beats_greedy_where_greedy_errs() -> None:
    overlap = np.array([[10.0, 9.0], [8.0, 0.0]])  # greedy takes 10 then 0; best is 9 + 8
    assert best_matching(overlap) == {0: 1, 1: 0}
    assert best_matching(overlap.T) == {1: 0, 0: 1}


def test_an_address_is_placed_by_the_place_it_names_last(hk: hongkong.HongKong) -> None:
    names = [d.name for d in hk.districts]
    _, places, by_name = hongkong.read_map(hongkong.shipped_map(), names)
    far_north = {"latitude": 22.55, "longitude": 114.2}  # nearest centroid: North

    def where(address: str, name: str = "clinic") -> str:
        record = {"institution_eng": name, "address_eng": address, **far_north}
        return names[hongkong.locate(record, places, by_name, hk.districts)]

    assert where("118 Shatin Pass Road, Wong Tai Sin, KLN") == "Wong Tai Sin"
    assert where("1/F, 8 Chai Wan Road, Shau Kei Wan") == "Eastern"
    assert where("1 Shing Cheong Road, Kowloon Bay, KLN") == "Kwun Tong"
    assert where(
        "2 Princess Margaret Hospital Road, Lai Chi Kok", "Princess Margaret Hospital"
    ) == ("Kwai Tsing")
    assert where("147K Argyle Street, KLN") == "North"  # no place named: nearest centroid


def test_haversine_one_degree_of_latitude() -> None:
    one = geo.haversine_km(np.array([22.0]), np.array([114.0]), np.array([23.0]), np.array([114.0]))
    assert one[0] == pytest.approx(111.19, abs=0.01)


def test_hong_kong_as_a_layout_is_planned_like_the_instance(
    session: Session, hk: hongkong.HongKong
) -> None:
    """The layout the demo imports reads back as the same problem: districts, populations,
    borders and the acute hospitals; today's grids are the 7 clusters."""
    layout = hongkong.layout(FOLDER)
    registry.replace_layout(session, SYSTEM, layout, purpose="test")
    direct = hk
    found = frame.build(registry.layout(session, "hong-kong"), PlanRequest(grids=7))
    assert len(found.areas) == 18 and len(found.candidates) == direct.problem.candidates
    assert found.problem.loads().sum() == direct.problem.loads().sum()
    assert len(found.problem.adjacency or ()) == len(direct.links)
    assert len(set(found.today_grid)) == 7
    by_name = {a.name_en: i for i, a in enumerate(found.areas)}
    order = [by_name[d.name] for d in direct.districts]
    assert found.problem.cost[order].sum() == pytest.approx(direct.problem.cost.sum(), rel=1e-9)
    row = planner.draw(session, SYSTEM, "hong-kong", PlanRequest(grids=7, max_seconds=30))
    plan = planner.get(session, SYSTEM, row.id)
    assert plan.optimal and all(c.passed for c in plan.checks)
    assert plan.objective == pytest.approx(solver.solve(direct.problem, seconds=30).upper, rel=1e-6)
