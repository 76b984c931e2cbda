"""The one-to-one matching agrees with trying every matching."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from caregrid.planning.matching import best_matching


def _brute(weights: np.ndarray) -> float:
    rows, cols = weights.shape
    if rows <= cols:
        return max(
            float(sum(weights[r, c] for r, c in enumerate(p)))
            for p in itertools.permutations(range(cols), rows)
        )
    return _brute(weights.T)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (4, 6), (6, 4), (7, 7)])
def test_agrees_with_brute_force(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        weights = rng.integers(0, 50, size=shape).astype(float)
        found = best_matching(weights)
        assert len(found) == min(shape)
        assert len(set(found.values())) == len(found)
        total = sum(weights[r, c] for r, c in found.items())
        assert total == pytest.approx(_brute(weights))


def test_a_zero_row_still_takes_a_column() -> None:
    weights = np.array([[5.0, 0.0], [0.0, 0.0]])
    assert best_matching(weights) == {0: 0, 1: 1}
