"""Windows, chronological splits, walk-forward folds, the train-only scaler and the targets."""

import json

import numpy as np
import pytest

from data import (
    ADDING_BASELINE_MSE,
    DataError,
    StockScaling,
    adding_problem,
    chronological_split,
    fit_scaler,
    log_returns,
    returns_to_prices,
    scaler_from_dict,
    scaler_to_dict,
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


def test_stock_scaling_is_fitted_on_the_training_part_only():
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 400)))
    scaling = StockScaling.fit(close, lookback=10, horizon=1, target="return", train_end=150)
    returns = np.diff(np.log(close[:150]))
    assert scaling.features.mean_[0] == pytest.approx(returns.mean())
    assert scaling.features.scale_[0] == pytest.approx(returns.std())
    changed = close.copy()
    changed[150:] *= 3  # a jump after the training part: the scaling must not see it
    assert (
        StockScaling.fit(changed, lookback=10, horizon=1, target="return", train_end=150).to_dict() == scaling.to_dict()
    )
    seeing_all = StockScaling.fit(changed, lookback=10, horizon=1, target="return", train_end=400)
    assert seeing_all.to_dict() != scaling.to_dict()  # so the check above could have failed


@pytest.mark.parametrize("target, horizon", [("return", 1), ("return", 5), ("price", 3)])
def test_stock_scaling_windows_map_back_to_the_actual_prices(target, horizon):
    close = 50 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.02, 300)))
    scaling = StockScaling.fit(close, lookback=12, horizon=horizon, target=target, train_end=200)
    X, y, target_day = scaling.training_windows(close)
    assert len(X) == len(close) - (target == "return") - 12 - horizon + 1
    np.testing.assert_allclose(scaling.to_prices(y, close[target_day - horizon]), close[target_day], rtol=1e-5)
    again = StockScaling.from_dict(json.loads(json.dumps(scaling.to_dict())))
    np.testing.assert_array_equal(again.training_windows(close)[0], X)
    windows, last_day = scaling.forecast_windows(close)
    assert len(windows) == len(X) + horizon and last_day[-1] == len(close) - 1  # the last ones reach past the data
    with pytest.raises(DataError, match="damaged"):
        StockScaling.from_dict({"lookback": 12})


def test_scaler_survives_a_json_round_trip():
    values = np.random.default_rng(1).normal(size=(50, 3))
    scaler = fit_scaler(values)
    loaded = scaler_from_dict(json.loads(json.dumps(scaler_to_dict(scaler))))
    np.testing.assert_allclose(loaded.transform(values), scaler.transform(values))
    np.testing.assert_allclose(loaded.inverse_transform(scaler.transform(values)), values)
    with pytest.raises(DataError, match="damaged"):
        scaler_from_dict({"mean": [1]})


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
