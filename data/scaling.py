"""A standard scaler fitted on the training split only, saved as a plain dict (JSON, never pickle).

It is scikit-learn's StandardScaler; only its learned statistics travel through JSON.
"""

from __future__ import annotations

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


def scaler_from_dict(state: dict) -> StandardScaler:
    from sklearn.preprocessing import StandardScaler

    try:
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(state["mean"], dtype=float)
        scaler.scale_ = np.asarray(state["scale"], dtype=float)
        scaler.var_ = np.asarray(state["var"], dtype=float)
        scaler.n_samples_seen_ = int(state["n_samples_seen"])
        scaler.n_features_in_ = len(scaler.mean_)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(
            "The saved scaler is damaged: it needs mean, scale, var and n_samples_seen; retrain the run."
        ) from exc
    return scaler
