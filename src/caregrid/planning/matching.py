"""Planned grids matched one to one with other grids (today's, or a reference's) so that the
most residents stay in a matched pair: the assignment problem, by the Hungarian method."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def best_matching(weights: Floats) -> dict[int, int]:
    """Rows to distinct columns with the largest total weight (every row matched when there
    are at least as many columns, and the other way round): O(n³) shortest augmenting paths
    with potentials over the square matrix padded with zeros."""
    rows, cols = weights.shape
    n = max(rows, cols)
    if n == 0:
        return {}
    cost = np.zeros((n, n))
    cost[:rows, :cols] = weights.max(initial=0.0) - weights  # maximise weight = minimise cost
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    owner = np.zeros(n + 1, dtype=np.int64)  # owner[c]: the row (1-based) holding column c
    way = np.zeros(n + 1, dtype=np.int64)
    for r in range(1, n + 1):
        owner[0], c0 = r, 0
        least = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while owner[c0] != 0:
            used[c0] = True
            r0, delta, c1 = owner[c0], np.inf, 0
            for c in range(1, n + 1):
                if used[c]:
                    continue
                reduced = cost[r0 - 1, c - 1] - u[r0] - v[c]
                if reduced < least[c]:
                    least[c], way[c] = reduced, c0
                if least[c] < delta:
                    delta, c1 = least[c], c
            for c in range(n + 1):
                if used[c]:
                    u[owner[c]] += delta
                    v[c] -= delta
                else:
                    least[c] -= delta
            c0 = c1
        while c0:
            c1 = way[c0]
            owner[c0] = owner[c1]
            c0 = c1
    return {int(owner[c]) - 1: c - 1 for c in range(1, n + 1) if 0 < owner[c] <= rows and c <= cols}
