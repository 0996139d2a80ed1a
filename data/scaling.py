"""A standard scaler fitted on the training split only, saved as plain JSON (never pickle).

It is scikit-learn's StandardScaler; only its learned statistics travel through JSON.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.preprocessing import StandardScaler

from data.errors import DataError


def fit_scaler(train_values: np.ndarray) -> StandardScaler:
    """Fit on training rows only: (n,) or (n, features)."""
    values = np.asarray(train_values, dtype=float)
    return StandardScaler().fit(values.reshape(len(values), -1))


def scaler_to_json(scaler: StandardScaler) -> str:
    return json.dumps(
        {
            "kind": "standard",
            "mean": scaler.mean_.tolist(),
            "scale": scaler.scale_.tolist(),
            "var": scaler.var_.tolist(),
            "n_samples_seen": int(np.max(scaler.n_samples_seen_)),
        }
    )


def scaler_from_json(text: str) -> StandardScaler:
    try:
        state = json.loads(text)
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(state["mean"], dtype=float)
        scaler.scale_ = np.asarray(state["scale"], dtype=float)
        scaler.var_ = np.asarray(state["var"], dtype=float)
        scaler.n_samples_seen_ = int(state["n_samples_seen"])
        scaler.n_features_in_ = len(scaler.mean_)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(
            "The scaler JSON is damaged: it needs mean, scale, var and n_samples_seen; retrain the run."
        ) from exc
    return scaler
