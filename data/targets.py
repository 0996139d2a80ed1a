"""Stock targets: next-day log returns, and the way back from predicted returns to prices.

Models learn the (stationary) log return; every metric is reported in price units.
"""

from __future__ import annotations

import numpy as np

from data.errors import DataError

TARGETS = ("return", "price")


def log_returns(close: np.ndarray) -> np.ndarray:
    """r_t = log(close_t / close_{t-1}); r_0 is 0 so the array keeps the series' length."""
    close = np.asarray(close, dtype=float)
    returns = np.zeros_like(close)
    returns[1:] = np.diff(np.log(close))
    return returns


def returns_to_prices(previous_close: np.ndarray, predicted_log_return: np.ndarray) -> np.ndarray:
    """The price implied by a predicted log return applied to the previous close."""
    return np.asarray(previous_close, dtype=float) * np.exp(np.asarray(predicted_log_return, dtype=float))


def stock_series(close: np.ndarray, target: str = "return", horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The model's input feature per day and the target aligned to the day it is about.

    target="return": feature r_t (daily log return), target at day j = log(close_j / close_{j-horizon}),
    so a window ending on day s targets the log return from s to s+horizon.
    target="price": feature and target are the close itself.
    Returns (features (n, 1), targets (n,)); use with `windows_with_targets(features, targets, lookback, horizon)`.
    """
    if target not in TARGETS:
        raise DataError(f"Unknown stock target {target!r}: choose one of {', '.join(TARGETS)}.")
    close = np.asarray(close, dtype=float)
    if target == "price":
        return close[:, None], close.copy()
    targets = np.zeros_like(close)
    targets[horizon:] = np.log(close[horizon:] / close[:-horizon])
    return log_returns(close)[:, None], targets
