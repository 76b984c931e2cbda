"""Graph helpers: shortest paths for the reference instances and the pieces of a grid that
are cut off from its lead (contiguity)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from caregrid.planning.problem import Problem


def shortest_paths(n: int, edges: list[tuple[int, int, float]]) -> npt.NDArray[np.float64]:
    """All-pairs shortest path lengths (Floyd–Warshall, one numpy pass per pivot). For a pair
    listed twice the later length stands, as in OR-Library's own reading of its files."""
    dist = np.full((n, n), np.inf)
    for a, b, length in edges:
        dist[a, b] = dist[b, a] = length
    np.fill_diagonal(dist, 0.0)
    for pivot in range(n):
        np.minimum(dist, dist[:, pivot, None] + dist[None, pivot, :], out=dist)
    return dist


def neighbours(n: int, adjacency: tuple[tuple[int, int], ...]) -> list[list[int]]:
    found: list[list[int]] = [[] for _ in range(n)]
    for a, b in adjacency:
        found[a].append(b)
        found[b].append(a)
    return found


def components(n: int, adjacency: tuple[tuple[int, int], ...]) -> npt.NDArray[np.int64]:
    """The connected part (numbered from 0) each area belongs to over adjacency."""
    adjacent = neighbours(n, adjacency)
    part = np.full(n, -1, dtype=np.int64)
    count = 0
    for start in range(n):
        if part[start] >= 0:
            continue
        part[start], stack = count, [start]
        while stack:
            for other in adjacent[stack.pop()]:
                if part[other] < 0:
                    part[other] = count
                    stack.append(other)
        count += 1
    return part


def stray_parts(problem: Problem, assignment: npt.NDArray[np.int64]) -> list[tuple[int, set[int]]]:
    """Per grid, the connected pieces (over adjacency) that do not hold the grid's anchor: its
    lead's site area when known, else its largest piece. Empty when every grid is contiguous."""
    adjacent = neighbours(problem.areas, problem.adjacency or ())
    seen = np.zeros(problem.areas, dtype=bool)
    pieces: dict[int, list[set[int]]] = {}
    for start in range(problem.areas):
        if seen[start]:
            continue
        lead = int(assignment[start])
        piece, stack = {start}, [start]
        seen[start] = True
        while stack:
            for other in adjacent[stack.pop()]:
                if not seen[other] and assignment[other] == lead:
                    seen[other] = True
                    piece.add(other)
                    stack.append(other)
        pieces.setdefault(lead, []).append(piece)
    stray = []
    for lead, parts in pieces.items():
        if len(parts) == 1:
            continue
        if problem.site_area is not None:
            anchor = int(problem.site_area[lead])
            main = next((p for p in parts if anchor in p), max(parts, key=len))
        else:
            main = max(parts, key=len)
        stray += [(lead, p) for p in parts if p is not main]
    return stray
