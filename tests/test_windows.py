"""Windows, chronological splits, walk-forward folds, the train-only scaler and the targets."""

import numpy as np
import pytest

from data import (
    ADDING_BASELINE_MSE,
    DataError,
    adding_problem,
    chronological_split,
    fit_scaler,
    log_returns,
    returns_to_prices,
    scaler_from_json,
    scaler_to_json,
    sliding_windows,
    walk_forward_folds,
    windows_with_targets,
)


def test_windows_are_views_in_time_order():
    series = np.arange(10.0)
    windows = sliding_windows(series, 4)
    assert windows.shape == (7, 4)
    assert np.shares_memory(windows, series)
    assert list(windows[2]) == [2, 3, 4, 5]
    features = np.arange(20.0).reshape(10, 2)
    multi = sliding_windows(features, 3)
    assert multi.shape == (8, 3, 2) and np.shares_memory(multi, features)
    np.testing.assert_array_equal(multi[1], features[1:4])


def test_targets_sit_horizon_steps_after_the_window():
    series = np.arange(10.0)
    X, y, index = windows_with_targets(series, series * 10, lookback=3, horizon=2)
    assert len(X) == 6
    assert list(X[0]) == [0, 1, 2] and y[0] == 40 and index[0] == 4
    assert list(X[-1]) == [5, 6, 7] and y[-1] == 90


def test_series_shorter_than_lookback_is_refused():
    with pytest.raises(DataError, match="fewer than the lookback"):
        sliding_windows(np.arange(5.0), 10)
    with pytest.raises(DataError, match="too few"):
        windows_with_targets(np.arange(5.0), np.arange(5.0), lookback=5)


@pytest.mark.parametrize("lookback, horizon", [(5, 1), (20, 3), (60, 1)])
def test_no_window_crosses_a_split_boundary(lookback, horizon):
    n = 1000
    split = chronological_split(n, lookback, horizon)
    val_start, test_start = split.boundaries
    parts = {"train": (0, val_start), "validation": (val_start, test_start), "test": (test_start, n)}
    for name, (first, stop) in parts.items():
        starts = getattr(split, name)
        last_point = starts + lookback - 1 + horizon  # the target
        assert starts.min() >= first and last_point.max() < stop, name
        # and every window that fits is used
        assert len(starts) == (stop - first) - lookback - horizon + 1


def test_split_too_short_for_lookback_names_the_empty_part():
    with pytest.raises(DataError, match="no .*window"):
        chronological_split(100, lookback=20)


def test_walk_forward_folds_leave_a_gap_of_one_lookback():
    lookback = 10
    folds = walk_forward_folds(500, n_splits=4, lookback=lookback)
    assert len(folds) == 4
    for train, test in folds:
        assert train.max() + lookback < test.min()  # the windows share no point
    with pytest.raises(DataError, match="too few"):
        walk_forward_folds(20, n_splits=5, lookback=10)


def test_scaler_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    series = rng.normal(5, 2, size=1000)
    split = chronological_split(len(series), 10)
    train_points = series[: split.boundaries[0]]
    scaler = fit_scaler(train_points)
    assert scaler.mean_[0] == pytest.approx(train_points.mean())
    assert scaler.scale_[0] == pytest.approx(train_points.std())
    changed = series.copy()
    changed[split.boundaries[1] :] += 1000  # the test data moves; the scaler must not
    again = fit_scaler(changed[: split.boundaries[0]])
    assert again.mean_[0] == scaler.mean_[0] and again.scale_[0] == scaler.scale_[0]


def test_scaler_survives_a_json_round_trip():
    values = np.random.default_rng(1).normal(size=(50, 3))
    scaler = fit_scaler(values)
    loaded = scaler_from_json(scaler_to_json(scaler))
    np.testing.assert_allclose(loaded.transform(values), scaler.transform(values))
    np.testing.assert_allclose(loaded.inverse_transform(scaler.transform(values)), values)
    with pytest.raises(DataError, match="damaged"):
        scaler_from_json('{"mean": [1]}')


def test_log_returns_convert_back_to_prices():
    close = np.array([100.0, 110.0, 99.0, 120.0])
    returns = log_returns(close)
    assert returns[0] == 0 and returns[1] == pytest.approx(np.log(1.1))
    np.testing.assert_allclose(returns_to_prices(close[:-1], returns[1:]), close[1:])


def test_adding_problem_shapes_markers_and_targets():
    x, y = adding_problem(500, 40, seed=3)
    assert x.shape == (500, 40, 2) and y.shape == (500, 1)
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :20].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    x2, _ = adding_problem(500, 40, seed=3)
    np.testing.assert_array_equal(x, x2)  # seeded


def test_adding_problem_predict_the_mean_scores_one_sixth():
    _, y = adding_problem(100_000, 20, seed=0)
    mse = float(np.mean((y - 1.0) ** 2))
    assert abs(mse - ADDING_BASELINE_MSE) < 0.005
