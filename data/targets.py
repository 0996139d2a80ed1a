"""Stock targets: next-day log returns, and the way back from predicted returns to prices.

Models learn the (stationary) log return; every metric is reported in price units.
"""

from __future__ import annotations

import numpy as np

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
