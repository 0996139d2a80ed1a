"""Use a saved run exactly as it was trained: forecast prices or generate text.

The preprocessing recorded in run.json (scalers, lookback, vocabulary) is applied by these
functions both when the pipeline evaluates a fresh model and when a user loads a run later.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data import CharVocab, DataError, scaler_from_json, sliding_windows, stock_series


def stock_inputs(close: np.ndarray, preprocessing: dict) -> tuple[np.ndarray, int]:
    """Scaled model inputs for every day, and the offset of day 0 of those inputs in `close`.

    With a return target the first day has no return, so inputs start on day 1.
    """
    features, _ = stock_series(close, preprocessing["target"], preprocessing["horizon"])
    offset = 1 if preprocessing["target"] == "return" else 0
    scaler = scaler_from_json(preprocessing["feature_scaler"])
    return scaler.transform(features[offset:]).astype("float32"), offset


def scaled_to_prices(predicted_scaled: np.ndarray, previous_close: np.ndarray, preprocessing: dict) -> np.ndarray:
    """Model outputs (scaled targets) back to prices."""
    scaler = scaler_from_json(preprocessing["target_scaler"])
    unscaled = scaler.inverse_transform(np.asarray(predicted_scaled, dtype=float).reshape(-1, 1))[:, 0]
    if preprocessing["target"] == "return":
        return np.asarray(previous_close, dtype=float) * np.exp(unscaled)
    return unscaled


def forecast(model, prices: pd.DataFrame, preprocessing: dict) -> pd.DataFrame:
    """One forecast per window of `prices`, including the one past the last day.

    Returns columns: date (the day forecast; NaT past the data), previous_close (the close
    `horizon` days before), forecast, actual (NaN where unknown).
    """
    if preprocessing.get("kind") != "stock":
        raise DataError("This run was not trained on prices: use generate() for text runs.")
    lookback, horizon = preprocessing["lookback"], preprocessing["horizon"]
    close = prices["Close"].to_numpy(dtype=float)
    inputs, offset = stock_inputs(close, preprocessing)
    windows = sliding_windows(inputs, lookback)
    last_day = np.arange(len(windows)) + lookback - 1 + offset  # index in `close` of each window's last day
    predicted = model.predict(windows, verbose=0, batch_size=512)[:, 0]
    target_day = last_day + horizon
    known = target_day < len(close)
    dates = pd.Series(pd.NaT, index=range(len(windows)), dtype="datetime64[ns]")
    dates[known] = prices.index[target_day[known]]
    actual = np.full(len(windows), np.nan)
    actual[known] = close[target_day[known]]
    previous = close[last_day]
    return pd.DataFrame(
        {
            "date": dates.to_numpy(),
            "previous_close": previous,
            "forecast": scaled_to_prices(predicted, previous, preprocessing),
            "actual": actual,
        }
    )


def generate(
    model, preprocessing: dict, prompt: str, length: int = 200, temperature: float = 1.0, seed: int = 0
) -> str:
    """Continue `prompt` by `length` characters, sampling with `temperature` (0 = greedy)."""
    if preprocessing.get("kind") != "text":
        raise DataError("This run was not trained on text: use forecast() for stock runs.")
    if temperature < 0:
        raise DataError(f"The temperature must be 0 or more (got {temperature}).")
    vocab = CharVocab.from_json(preprocessing["vocab"])
    seq_len = preprocessing["seq_len"]
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    for _ in range(length):
        context = np.zeros(seq_len, dtype=np.int32)  # left-pad short prompts with the unknown id
        tail = ids[-seq_len:]
        context[seq_len - len(tail) :] = tail
        probs = model(context[None], training=False).numpy()[0].astype(float)
        ids.append(sample_index(probs, temperature, rng))
    return prompt + vocab.decode(ids[len(prompt) :])


def sample_index(probs: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    if temperature == 0:
        return int(np.argmax(probs))
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))
