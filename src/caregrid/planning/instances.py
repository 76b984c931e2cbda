"""Readers for published p-median instances, to test the planner against results no one on
this team produced. Each returns a `Reference`: the `Problem` and its published optimum or
best known value. Every point of these instances is both an area and a candidate lead.

- ``orlib_pmed``: Beasley's OR-Library pmed1–40; distances are shortest paths over the listed
  edges; optima from ``pmedopt.txt``.
- ``orlib_pmedcap1``: Osman & Christofides capacitated instances; Euclidean distances
  truncated to integers (the convention their published optima use: exact distances give
  728.26 for instance 1, truncated ones its published 713), one capacity for every median,
  optimum in each file's header.
- ``sjc_lorena_senne``: Lorena & Senne's São José dos Campos instances; Euclidean distances
  (metres), a capacity per point; best known values passed in by the caller (they are
  published beside the files, not in them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caregrid.planning.graph import shortest_paths
from caregrid.planning.problem import Problem


@dataclass(frozen=True)
class Reference:
    problem: Problem
    best_known: float | None


def _numbers(path: Path) -> list[list[str]]:
    rows = [line.split() for line in path.read_text().splitlines()]
    return [row for row in rows if row]


def _euclidean(points: np.ndarray) -> np.ndarray:
    diff = points[:, None, :] - points[None, :, :]
    dist: np.ndarray = np.sqrt((diff**2).sum(axis=2))
    return dist


def pmed_optima(folder: Path) -> dict[str, float]:
    """``pmedopt.txt``: instance name to optimal value (its first line is a heading)."""
    found = {}
    for row in _numbers(folder / "pmedopt.txt"):
        if len(row) == 2 and row[1].replace(".", "").isdigit():
            found[row[0]] = float(row[1])
    return found


def orlib_pmed(folder: Path, name: str) -> Reference:
    """pmedN: ``n m p`` then m edges ``i j cost`` (1-based, undirected)."""
    rows = _numbers(folder / f"{name}.txt")
    n, m, p = (int(v) for v in rows[0][:3])
    edges = [(int(a) - 1, int(b) - 1, float(c)) for a, b, c in rows[1 : m + 1]]
    if len(edges) != m:
        raise ValueError(f"{name}: header lists {m} edges, the file has {len(edges)}")
    dist = shortest_paths(n, edges)
    if not np.all(np.isfinite(dist)):
        raise ValueError(f"{name}: the graph is not connected")
    problem = Problem(name=name, cost=dist, k=p, site_area=np.arange(n))
    return Reference(problem, pmed_optima(folder).get(name))


def orlib_pmedcap(path: Path) -> Reference:
    """``number best`` / ``n p Q`` / n rows ``id x y demand``."""
    rows = _numbers(path)
    best = float(rows[0][1])
    n, p, capacity = int(rows[1][0]), int(rows[1][1]), float(rows[1][2])
    points = np.array([[float(r[1]), float(r[2])] for r in rows[2 : n + 2]])
    demand = np.array([float(r[3]) for r in rows[2 : n + 2]])
    problem = Problem(
        name=path.stem,
        cost=np.floor(_euclidean(points)),
        k=p,
        demand=demand,
        capacity=np.full(n, capacity),
    )
    return Reference(problem, best)


def sjc(path: Path, best_known: float | None = None) -> Reference:
    """``n p`` / n rows ``x y capacity demand``."""
    rows = _numbers(path)
    n, p = int(rows[0][0]), int(rows[0][1])
    table = np.array([[float(v) for v in r[:4]] for r in rows[1 : n + 1]])
    problem = Problem(
        name=path.stem,
        cost=_euclidean(table[:, :2]),
        k=p,
        demand=table[:, 3],
        capacity=table[:, 2],
    )
    return Reference(problem, best_known)
