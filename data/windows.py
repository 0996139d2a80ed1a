"""Zero-copy sliding windows, chronological splits and walk-forward folds.

A window starting at s reads inputs s .. s+lookback-1 and its target horizon steps later, at
s+lookback-1+horizon; splits and folds are sets of window starts that never cross a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from data.errors import DataError


def sliding_windows(series: np.ndarray, lookback: int) -> np.ndarray:
    """All windows of `lookback` consecutive rows, as a read-only view (no copy).

    A 1-D series of n points gives shape (n - lookback + 1, lookback); an (n, features) array
    gives (n - lookback + 1, lookback, features).
    """
    series = np.asarray(series)
    if lookback < 1:
        raise DataError(f"The lookback must be at least 1 step (got {lookback}).")
    if len(series) < lookback:
        raise DataError(
            f"The series has {len(series)} points, fewer than the lookback of {lookback}: "
            "use a shorter lookback or a longer date range."
        )
    windows = sliding_window_view(series, lookback, axis=0)
    # For (n, f) input numpy puts the window axis last: (n-l+1, f, l). Swap to (.., l, f), still a view.
    return windows if series.ndim == 1 else np.swapaxes(windows, -1, -2)


def window_count(n_points: int, lookback: int, horizon: int = 1) -> int:
    """How many (window, target) pairs a series of n_points yields."""
    return max(0, n_points - lookback - horizon + 1)


def windows_with_targets(features: np.ndarray, targets: np.ndarray, lookback: int, horizon: int = 1):
    """Windows of `features` and, for each, the target `horizon` steps after its last row.

    Returns (X, y, target_index) where X is a view, y = targets[target_index].
    """
    count = window_count(len(features), lookback, horizon)
    if count < 1:
        raise DataError(
            f"The series has {len(features)} points, too few for a lookback of {lookback} and a "
            f"horizon of {horizon}: use a shorter lookback or a longer date range."
        )
    windows = sliding_windows(features, lookback)[:count]
    target_index = np.arange(count) + lookback - 1 + horizon
    return windows, np.asarray(targets)[target_index], target_index


@dataclass(frozen=True)
class ChronologicalSplit:
    """Window starts for train, validation and test, plus the point boundaries between them."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    boundaries: tuple[int, int]  # first point of validation, first point of test


def chronological_split(
    n_points: int, lookback: int, horizon: int = 1, fractions: tuple[float, float] = (0.7, 0.15)
) -> ChronologicalSplit:
    """Split the points in time order (train, validation, test by `fractions`) and keep only the
    windows whose inputs and target lie inside one part, so no window crosses a boundary."""
    train_frac, val_frac = fractions
    if not (0 < train_frac < 1 and 0 <= val_frac < 1 and train_frac + val_frac < 1):
        raise DataError(f"Split fractions {fractions} must be positive and leave room for a test part.")
    val_start = int(round(n_points * train_frac))
    test_start = int(round(n_points * (train_frac + val_frac)))
    span = lookback + horizon  # points one window touches

    def starts(first: int, stop: int) -> np.ndarray:
        return np.arange(first, max(first, stop - span + 1))

    split = ChronologicalSplit(
        starts(0, val_start), starts(val_start, test_start), starts(test_start, n_points), (val_start, test_start)
    )
    empty = [name for name in ("train", "validation", "test") if len(getattr(split, name)) == 0]
    if empty:
        raise DataError(
            f"{n_points} points leave no {' or '.join(empty)} window for lookback {lookback} and "
            f"horizon {horizon}: use a shorter lookback or a longer date range."
        )
    return split


def walk_forward_folds(n_windows: int, n_splits: int, lookback: int, horizon: int = 1):
    """Walk-forward (train, test) window-index pairs from scikit-learn's TimeSeriesSplit.

    The gap of lookback + horizon - 1 windows means no test window shares a point with a
    training window.
    """
    from sklearn.model_selection import TimeSeriesSplit  # 1.5 s to import: only when folds are asked for

    gap = lookback + horizon - 1
    try:
        splitter = TimeSeriesSplit(n_splits=n_splits, gap=gap)
        return list(splitter.split(np.zeros((n_windows, 1))))
    except ValueError as exc:
        raise DataError(
            f"{n_windows} windows are too few for {n_splits} walk-forward folds with a gap of {gap}: "
            "use fewer folds or a longer date range."
        ) from exc
