"""Long-range synthetic tasks, generated from a seed: the adding problem and the copy task.

Each hides what the target needs far back in the sequence, so a cell solves it only if its
gradient reaches back that far.
"""

from __future__ import annotations

import math

import numpy as np

from data.errors import DataError

ADDING_BASELINE_MSE = 1.0 / 6.0  # predicting the mean 1.0: Var(U1 + U2) = 2 * 1/12

COPY_SYMBOLS = 10  # symbols to remember and reproduce
COPY_ALPHABET = 8  # drawn from ids 1..8; 0 is the blank
COPY_DELIMITER = COPY_ALPHABET + 1  # the input id that says "reproduce now"
COPY_INPUT_IDS = COPY_ALPHABET + 2  # blank, 8 symbols, delimiter: one-hot input width
COPY_OUTPUT_IDS = COPY_ALPHABET + 1  # blank and 8 symbols: classes of the per-step output


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


def copy_task(n: int, gap: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate `n` copy-task sequences of gap + 20 steps (the standard form).

    Input ids: 10 symbols from 1..8, then gap - 1 blanks (0), the delimiter (9), and 10 blanks,
    given one-hot: (n, gap + 20, 10) float32. Targets (n, gap + 20) int32: blank everywhere
    except the last 10 steps, which must reproduce the 10 symbols.
    """
    if n < 1 or gap < 1:
        raise DataError(f"The copy task needs n >= 1 and a gap T >= 1 (got n={n}, T={gap}).")
    rng = np.random.default_rng(seed)
    steps = gap + 2 * COPY_SYMBOLS
    symbols = rng.integers(1, COPY_ALPHABET + 1, size=(n, COPY_SYMBOLS))
    ids = np.zeros((n, steps), dtype=np.int32)
    ids[:, :COPY_SYMBOLS] = symbols
    ids[:, COPY_SYMBOLS + gap - 1] = COPY_DELIMITER
    targets = np.zeros((n, steps), dtype=np.int32)
    targets[:, -COPY_SYMBOLS:] = symbols
    return np.eye(COPY_INPUT_IDS, dtype=np.float32)[ids], targets


def copy_baseline_nats(gap: int) -> float:
    """Cross-entropy per step of the best memoryless strategy: blanks where blanks are certain,
    then a uniform guess over the alphabet for each of the 10 recalled symbols."""
    return COPY_SYMBOLS * math.log(COPY_ALPHABET) / (gap + 2 * COPY_SYMBOLS)
