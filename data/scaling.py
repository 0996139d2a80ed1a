"""A standard scaler fitted on the training split only, saved as a plain dict (JSON, never pickle).

It is scikit-learn's StandardScaler; only its learned statistics travel through JSON.
"""

from __future__ import annotations

import reprlib
from typing import TYPE_CHECKING

import numpy as np

from data.errors import DataError

if TYPE_CHECKING:
    from sklearn.preprocessing import StandardScaler


def fit_scaler(train_values: np.ndarray) -> StandardScaler:
    """Fit on training rows only: (n,) or (n, features)."""
    from sklearn.preprocessing import StandardScaler  # 1.5 s to import: only when scaling, never for --help

    values = np.asarray(train_values, dtype=float)
    return StandardScaler().fit(values.reshape(len(values), -1))


def scaler_to_dict(scaler: StandardScaler) -> dict:
    return {
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "var": scaler.var_.tolist(),
        "n_samples_seen": int(np.max(scaler.n_samples_seen_)),
    }


def scaler_from_dict(state: dict, what: str = "scaler") -> StandardScaler:
    """A scaler from its saved statistics, refused unless they are one finite mean, a scale above 0
    and a variance of 0 or more per column, fitted on at least one row: a forged NaN or infinity would
    turn every forecast into NaN, and a scale of 0 or less would make every forecast the mean."""
    from sklearn.preprocessing import StandardScaler

    try:
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(state["mean"], dtype=float)
        scaler.scale_ = np.asarray(state["scale"], dtype=float)
        scaler.var_ = np.asarray(state["var"], dtype=float)
        scaler.n_samples_seen_ = int(state["n_samples_seen"])
        scaler.n_features_in_ = len(scaler.mean_)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise DataError(
            f"The saved {what} is damaged: it needs mean, scale, var and n_samples_seen; retrain the run."
        ) from exc
    valid = {  # each statistic, one per column, and what it must be
        "mean": (np.isfinite(scaler.mean_), "finite number"),
        "scale": (np.isfinite(scaler.scale_) & (scaler.scale_ > 0), "finite number above 0"),
        "var": (np.isfinite(scaler.var_) & (scaler.var_ >= 0), "finite number of 0 or more"),
    }
    for name, (ok, rule) in valid.items():
        if ok.ndim != 1 or ok.shape != scaler.mean_.shape or not ok.size or not ok.all():
            raise DataError(
                f"The saved {what} is damaged (its {name} is {reprlib.repr(state[name])}, where one {rule} per "
                "column belongs): retrain the run."
            )
    if scaler.n_samples_seen_ < 1:
        raise DataError(
            f"The saved {what} is damaged (it was fitted on {scaler.n_samples_seen_} rows): retrain the run."
        )
    return scaler
