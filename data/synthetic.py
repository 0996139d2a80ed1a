"""Long-range synthetic tasks, generated from a seed: the adding problem.

Each sequence hides two marked values far apart; the target needs both, so a cell solves the
task only if its gradient reaches back to the first marker.
"""

from __future__ import annotations

import numpy as np

from data.errors import DataError

ADDING_BASELINE_MSE = 1.0 / 6.0  # predicting the mean 1.0: Var(U1 + U2) = 2 * 1/12


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate `n` adding-problem sequences of `length` steps.

    Returns inputs (n, length, 2) float32 (channel 0: values in U[0, 1]; channel 1: 1.0 at the
    two marked steps, one in each half) and targets (n, 1): the sum of the two marked values.
    """
    if n < 1 or length < 2:
        raise DataError(f"The adding problem needs n >= 1 and length >= 2 (got n={n}, length={length}).")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, length)).astype(np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = (values[rows, first] + values[rows, second])[:, None]
    return np.stack([values, markers], axis=-1), targets.astype(np.float32)
