"""How a stock run turns closing prices into model windows and its outputs back into prices: the
lookback, horizon and target, with both scalers fitted on the training part only, saved as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from data.errors import DataError
from data.scaling import fit_scaler, scaler_from_dict, scaler_to_dict
from data.targets import TARGETS, returns_to_prices, stock_series
from data.windows import sliding_windows, windows_with_targets

if TYPE_CHECKING:
    from sklearn.preprocessing import StandardScaler


def first_input_day(target: str) -> int:
    """Index in `close` of the first model input: a return target has no return on day 0."""
    return 1 if target == "return" else 0


@dataclass(frozen=True)
class StockScaling:
    """Fitted once on the training part; applied identically in training, evaluation and inference."""

    lookback: int
    horizon: int
    target: str  # "return": log return over the horizon; "price": the close itself
    features: StandardScaler
    targets: StandardScaler

    @classmethod
    def fit(cls, close: np.ndarray, *, lookback: int, horizon: int, target: str, train_end: int) -> StockScaling:
        """Fit both scalers on close[:train_end] alone: the points training is allowed to see."""
        if target not in TARGETS:
            raise DataError(f"Unknown stock target {target!r}: choose one of {', '.join(TARGETS)}.")
        features, targets = stock_series(close, target, horizon)
        first = first_input_day(target)
        return cls(
            lookback,
            horizon,
            target,
            fit_scaler(features[first:train_end]),
            fit_scaler(targets[first + horizon : train_end]),
        )

    def inputs(self, close: np.ndarray) -> np.ndarray:
        """The scaled model input of every day from `first_input_day` on, shaped (days, 1)."""
        features, _ = stock_series(close, self.target, self.horizon)
        return self.features.transform(features[first_input_day(self.target) :]).astype("float32")

    def training_windows(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every window with a known target: (X view, scaled y, index in `close` of each target day)."""
        first = first_input_day(self.target)
        _, targets = stock_series(close, self.target, self.horizon)
        scaled = self.targets.transform(targets[first:, None])[:, 0].astype("float32")
        X, y, target_index = windows_with_targets(self.inputs(close), scaled, self.lookback, self.horizon)
        return X, y, target_index + first

    def forecast_windows(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every window, including those whose target lies past the data: (X view, index of each last day)."""
        windows = sliding_windows(self.inputs(close), self.lookback)
        return windows, np.arange(len(windows)) + self.lookback - 1 + first_input_day(self.target)

    def to_prices(self, predicted: np.ndarray, previous_close: np.ndarray) -> np.ndarray:
        """Model outputs (scaled targets) back to prices, given the close `horizon` days before."""
        unscaled = self.targets.inverse_transform(np.asarray(predicted, dtype=float).reshape(-1, 1))[:, 0]
        return returns_to_prices(previous_close, unscaled) if self.target == "return" else unscaled

    def to_dict(self) -> dict:
        return {
            "lookback": self.lookback,
            "horizon": self.horizon,
            "target": self.target,
            "feature_scaler": scaler_to_dict(self.features),
            "target_scaler": scaler_to_dict(self.targets),
        }

    @classmethod
    def from_dict(cls, state: dict) -> StockScaling:
        try:
            lookback, horizon, target = int(state["lookback"]), int(state["horizon"]), state["target"]
            features, targets = state["feature_scaler"], state["target_scaler"]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                "The saved stock scaling is damaged: it needs lookback, horizon, target and both scalers; retrain the run."
            ) from exc
        if target not in TARGETS or lookback < 1 or horizon < 1:
            raise DataError(
                f"The saved stock scaling is damaged (lookback {lookback}, horizon {horizon}, target {target!r}): retrain the run."
            )
        return cls(
            lookback,
            horizon,
            target,
            scaler_from_dict(features, "feature scaler"),
            scaler_from_dict(targets, "target scaler"),
        )
