"""The metrics every task scores with: forecast errors in price units against the naive forecast, a
Ridge baseline on the same windows, split-conformal prediction intervals, and bits per character
against a unigram model.

Baselines follow the estimator shape (fit, predict) so one loop scores cells and baselines.
scikit-learn is imported inside the functions: it takes 1.5 s, which `--help` must not pay.
"""

from __future__ import annotations

import math

import numpy as np

SIGNIFICANCE = 0.05  # "beats naive" needs a Diebold-Mariano p-value below this
INTERVAL_COVERAGES = (0.80, 0.95)  # the nominal coverages of the forecast intervals


def forecast_metrics(actual, predicted, previous_close, horizon: int = 1) -> dict[str, float]:
    """MAE, RMSE, MAPE (%) in price units; MASE scaled by the naive forecast (previous close) on
    the same days; directional accuracy (share of days the predicted move has the actual's sign);
    the Diebold-Mariano p-value against naive (`dm_p`: equal absolute errors, `horizon` days ahead)."""
    from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error

    actual, predicted, previous = (np.asarray(a, dtype=float) for a in (actual, predicted, previous_close))
    naive_mae = mean_absolute_error(actual, previous)
    mae = mean_absolute_error(actual, predicted)
    predicted_move, actual_move = np.sign(predicted - previous), np.sign(actual - previous)
    moved = predicted_move != 0  # the naive forecast predicts no move: direction undefined
    return {
        "mae": float(mae),
        "rmse": float(np.sqrt(mean_squared_error(actual, predicted))),
        "mape": float(100 * mean_absolute_percentage_error(actual, predicted)),
        "mase": float(mae / naive_mae) if naive_mae > 0 else float("nan"),
        "directional_accuracy": float(np.mean(predicted_move[moved] == actual_move[moved]))
        if moved.any()
        else float("nan"),
        "dm_p": diebold_mariano(actual, predicted, previous, horizon)[1],
    }


def beats_naive(metrics: dict) -> bool:
    """Smaller errors than naive (MASE below 1) and the difference significant (Diebold-Mariano)."""
    return bool(metrics["mase"] < 1 and metrics["dm_p"] < SIGNIFICANCE)


def diebold_mariano(actual, forecast, benchmark, horizon: int = 1) -> tuple[float, float]:
    """Diebold-Mariano test of equal accuracy (absolute errors, as MAE and MASE), with the Harvey,
    Leybourne & Newbold (1997) small-sample correction: (statistic, two-sided p-value from Student's t
    with n - 1 degrees of freedom). A negative statistic: `forecast` has the smaller errors. The loss
    differential's variance counts autocovariances up to lag horizon - 1 (an h-step forecast's errors
    overlap by h - 1 days)."""
    from scipy import stats

    actual, forecast, benchmark = (np.asarray(a, dtype=float) for a in (actual, forecast, benchmark))
    d = np.abs(actual - forecast) - np.abs(actual - benchmark)
    n = len(d)
    if n < 3 or not np.isfinite(d).all():
        return float("nan"), float("nan")
    centred = d - d.mean()
    autocovariance = [centred[k:] @ centred[: n - k] / n for k in range(horizon)]
    variance = (autocovariance[0] + 2 * sum(autocovariance[1:])) / n
    if variance <= 0:  # identical forecasts: nothing to tell apart
        return float("nan"), float("nan")
    statistic = d.mean() / np.sqrt(variance)
    statistic *= np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df=n - 1))


def lag_correlations(forecast, actual, max_lag: int = 3) -> dict[int, float]:
    """Correlation of the forecast's day-to-day moves with the actual moves `lag` days earlier, for
    lag = -max_lag..max_lag. A forecast that only echoes yesterday's close peaks at lag 1 (its moves
    are yesterday's moves); one that anticipates the price peaks at lag 0."""
    forecast_moves = np.diff(np.asarray(forecast, dtype=float))
    actual_moves = np.diff(np.asarray(actual, dtype=float))
    found = {}
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            f, a = forecast_moves[lag:], actual_moves[: len(actual_moves) - lag]
        else:
            f, a = forecast_moves[:lag], actual_moves[-lag:]
        keep = np.isfinite(f) & np.isfinite(a)
        enough = keep.sum() > 2 and np.std(f[keep]) > 0 and np.std(a[keep]) > 0
        found[lag] = float(np.corrcoef(f[keep], a[keep])[0, 1]) if enough else float("nan")
    return found


def conformal_halfwidth(residuals, coverage: float) -> float:
    """Split-conformal half-width for nominal `coverage` (1 - alpha) from the residuals (actual - forecast)
    of n calibration days: the k-th smallest absolute residual, k = ceil((n + 1) * coverage), i.e. the
    ceil((n+1)(1-alpha))/n empirical quantile. forecast ± it covers a fresh day with probability at least
    `coverage` when the residuals are exchangeable. inf when n is too small (k > n); NaN when a residual is
    not finite (a forecast that failed gives no interval)."""
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must lie strictly between 0 and 1 (got {coverage}).")
    scores = np.abs(np.asarray(residuals, dtype=float).ravel())
    if not np.isfinite(scores).all():
        return float("nan")
    k = math.ceil((len(scores) + 1) * coverage - 1e-9)  # 1e-9: (n + 1) * 0.8 may land a hair above an integer
    if k > len(scores):
        return float("inf")
    return float(np.sort(scores)[k - 1])


def interval_bounds(forecast, halfwidth) -> tuple[np.ndarray, np.ndarray]:
    """The interval forecast ± halfwidth (one number, or one per day) on every day: (lower, upper)."""
    forecast = np.asarray(forecast, dtype=float)
    return forecast - halfwidth, forecast + halfwidth


def interval_coverage(actual, forecast, halfwidth) -> float:
    """Share of days whose actual lies in forecast ± halfwidth (one number, or one per day; bounds
    included), computed from the bounds themselves, so it can be recomputed exactly from saved bounds.
    NaN without days or without a half-width (NaN)."""
    actual = np.asarray(actual, dtype=float)
    if not len(actual) or np.isnan(halfwidth).any():
        return float("nan")
    lower, upper = interval_bounds(forecast, halfwidth)
    return float(np.mean((lower <= actual) & (actual <= upper)))


def interval_columns(model: str, coverage: float) -> tuple[str, str]:
    """The predictions-table columns of a model's interval: e.g. ("lstm_lo80", "lstm_hi80")."""
    percent = round(100 * coverage)
    return f"{model}_lo{percent}", f"{model}_hi{percent}"


def coverage_key(coverage: float) -> str:
    """The comparison-table column of the empirical coverage at `coverage`: e.g. "coverage_80"."""
    return f"coverage_{round(100 * coverage)}"


def conformal_intervals(
    model: str,
    calibration_residuals,
    forecast,
    actual,
    coverages=INTERVAL_COVERAGES,
    *,
    calibration_scale=1.0,
    scale=1.0,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """A model's split-conformal intervals at each coverage: half-widths from its residuals on the
    calibration (validation) days, applied to its `forecast` of the test days. With scales (each day's
    previous close), the residuals are calibrated relative to them and each test day's half-width is
    that relative error times its own scale: a price's errors in dollars grow with the price, their
    ratio to it much less (on the default AAPL run, whose price doubled from validation to test, naive's
    80% and 95% intervals covered 45% and 68% of the test days calibrated in dollars, 75% and 95%
    relative). Returns the bound columns ({"lstm_lo80": ..., "lstm_hi80": ..., ...}) and the empirical
    coverage on the test days ({"coverage_80": ...})."""
    relative = np.asarray(calibration_residuals, dtype=float) / np.asarray(calibration_scale, dtype=float)
    columns, found = {}, {}
    for coverage in coverages:
        halfwidth = conformal_halfwidth(relative, coverage) * np.asarray(scale, dtype=float)
        lower, upper = interval_columns(model, coverage)
        columns[lower], columns[upper] = interval_bounds(forecast, halfwidth)
        found[coverage_key(coverage)] = interval_coverage(actual, forecast, halfwidth)
    return columns, found


class RidgeBaseline:
    """A linear model on the same scaled windows the cells see (flattened)."""

    def fit(self, x, y):
        from sklearn.linear_model import Ridge

        self.model_ = Ridge(alpha=1.0).fit(np.asarray(x).reshape(len(x), -1), np.ravel(y))
        return self

    def predict(self, x):
        return self.model_.predict(np.asarray(x).reshape(len(x), -1))


def bits_from_nats(values):
    """A cross-entropy in nats (Keras' loss) in bits, the unit bits per character is quoted in."""
    return np.asarray(values, dtype=float) / np.log(2)


def bits_per_char(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """Mean -log2 p(next character) over the windows."""
    picked = probabilities[np.arange(len(targets)), np.ravel(targets).astype(int)]
    return float(-np.mean(np.log2(np.maximum(picked, 1e-12))))


def unigram_bits_per_char(train_ids: np.ndarray, targets: np.ndarray, vocab_size: int) -> float:
    """The baseline that knows letter frequencies but no context (add-one smoothed)."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    probs = counts / counts.sum()
    return float(-np.mean(np.log2(probs[np.ravel(targets).astype(int)])))
