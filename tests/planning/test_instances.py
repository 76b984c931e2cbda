"""Readers of the published p-median instances (../shared/data)."""

from __future__ import annotations

import numpy as np
from tests.conftest import SHARED, require_shared

from caregrid.planning import instances

DATA = SHARED / "data"


def test_pmed1_distances_are_shortest_paths_with_the_last_duplicate_edge() -> None:
    folder = require_shared(DATA / "orlib_pmed")
    ref = instances.orlib_pmed(folder, "pmed1")
    cost = ref.problem.cost
    assert cost.shape == (100, 100) and ref.problem.k == 5 and ref.best_known == 5819
    assert np.array_equal(cost, cost.T) and np.all(np.diag(cost) == 0)
    # Triangle inequality holds for shortest paths.
    assert np.all(cost[:, :, None] <= cost[:, None, :] + cost.T[None, :, :] + 1e-9)
    edges: dict[tuple[int, int], float] = {}
    for line in (folder / "pmed1.txt").read_text().splitlines()[1:]:
        a, b, length = (int(v) for v in line.split())
        edges[(min(a, b) - 1, max(a, b) - 1)] = length  # later lines override
    assert all(cost[a, b] <= length for (a, b), length in edges.items())


def test_pmed_optima_cover_all_forty() -> None:
    optima = instances.pmed_optima(require_shared(DATA / "orlib_pmed"))
    assert len(optima) == 40 and optima["pmed40"] == 5128


def test_capacitated_readers() -> None:
    cap = instances.orlib_pmedcap(require_shared(DATA / "orlib_pmedcap1" / "pmedcap1_11.txt"))
    assert cap.problem.cost.shape == (100, 100) and cap.problem.k == 10
    assert cap.best_known == 1006 and cap.problem.capacity is not None
    assert np.all(cap.problem.capacity == 120) and cap.problem.integral
    sjc = instances.sjc(require_shared(DATA / "sjc_lorena_senne" / "SJC2.dat"), 33270.94)
    assert sjc.problem.cost.shape == (200, 200) and sjc.problem.k == 15
    assert sjc.problem.demand is not None and sjc.problem.capacity is not None
    assert sjc.problem.demand.sum() < sjc.problem.capacity[:15].sum()
    assert sjc.best_known == 33270.94
