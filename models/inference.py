"""Use a model exactly as it was trained: forecast prices or generate text, and the layout of the
preprocessing that run.json keeps for each (written by the tasks, read back by `Run`).

The same functions serve the pipeline evaluating a fresh model and a user loading a run later.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd

from data import CharVocab, ConfigError, DataError, RunError, StockScaling
from data.corpus import UNKNOWN_ID

PREDICT_BATCH = 1024  # one batch size everywhere a model predicts, so repeated forecasts agree bit for bit
TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # Keras colours its errors for terminals


def first_words(exc: BaseException, limit: int = 160) -> str:
    """An exception's first line, uncoloured and cut at a word boundary: a reason fit for one
    sentence (Keras' errors run over many lines)."""
    lines = TERMINAL_CODES.sub("", str(exc)).strip().splitlines()
    text = (lines[0].strip() if lines else "") or exc.__class__.__name__
    if len(text) <= limit:
        return text.rstrip(".")
    return text[:limit].rsplit(" ", 1)[0].rstrip(".,;:") + "…"


def stock_preprocessing(scaling: StockScaling) -> dict:
    return {"stock_scaling": scaling.to_dict()}


def text_preprocessing(vocab: CharVocab, seq_len: int) -> dict:
    return {"vocab": vocab.to_dict(), "seq_len": seq_len}


def scaling_of(preprocessing: dict) -> StockScaling:
    """A stock run's saved scaling; damaged (a NaN or infinite scaler, a scale of 0) is a RunError."""
    if "stock_scaling" not in preprocessing:
        raise RunError("This run was not trained on prices, so it cannot forecast them: load a stock run.")
    try:
        return StockScaling.from_dict(preprocessing["stock_scaling"])
    except DataError as exc:  # a file from elsewhere, not data the user gave
        raise RunError(str(exc)) from exc


def text_setup_of(preprocessing: dict) -> tuple[CharVocab, int]:
    if "vocab" not in preprocessing or "seq_len" not in preprocessing:
        raise RunError("This run was not trained on text, so it cannot generate any: load a text run.")
    return CharVocab.from_dict(preprocessing["vocab"]), int(preprocessing["seq_len"])


def check_fits(preprocessing: dict, inputs: tuple, outputs: tuple) -> None:
    """A ValueError unless the saved preprocessing fits a model reading `inputs` and writing `outputs`
    (windows of one price as long as its input; a vocabulary as wide as its output)."""
    if "stock_scaling" in preprocessing:
        scaling = scaling_of(preprocessing)
        if inputs != (scaling.lookback, 1) or outputs != (1,):
            raise ValueError(
                f"a lookback of {scaling.lookback} days for a model reading {inputs} and writing {outputs}"
            )
        scalers = (scaling.features.mean_, scaling.features.scale_, scaling.targets.mean_, scaling.targets.scale_)
        if any(len(values) != 1 for values in scalers):
            raise ValueError("scalers of more than one column for a single price")
    if "vocab" in preprocessing or "seq_len" in preprocessing:
        vocab, seq_len = text_setup_of(preprocessing)
        if vocab.size < 2:
            raise ValueError("a vocabulary without a character to write")
        if inputs != (seq_len,) or outputs != (vocab.size,):
            raise ValueError(
                f"{seq_len} characters of context and {vocab.size} symbols for a model reading {inputs} and writing {outputs}"
            )


def forecast(model, prices: pd.DataFrame, scaling: StockScaling) -> pd.DataFrame:
    """One forecast per window of `prices`, including the one past the last day.

    Returns columns: date (the day forecast; NaT past the data), previous_close (the close
    `horizon` days before), forecast, actual (NaN where unknown).
    """
    close = prices["Close"].to_numpy(dtype=float)
    windows, last_day = scaling.forecast_windows(close)
    try:
        predicted = model.predict(windows, verbose=0, batch_size=PREDICT_BATCH)[:, 0]
    except Exception as exc:  # a model of another kind: Keras explains over many lines, we in one sentence
        raise RunError(
            f"The model cannot read windows of {scaling.lookback} days ({first_words(exc)}): load a stock run or retrain it."
        ) from exc
    target_day = last_day + scaling.horizon
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
            "forecast": scaling.to_prices(predicted, previous),
            "actual": actual,
        }
    )


def generate(
    model, vocab: CharVocab, seq_len: int, prompt: str, length: int = 200, temperature: float = 1.0, seed: int = 0
) -> str:
    """Continue `prompt` by `length` characters, sampling with `temperature` (0 = greedy); the
    unknown-character marker is never written, whatever the model gives it."""
    check_temperature(temperature)
    from models.sampler import StepSampler  # a model is loaded, so TensorFlow already is

    sampler = StepSampler.of(model)
    window_method = _window_method(model) if sampler is None else None  # a model of another shape
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    probs, states = None, None
    for _ in range(length):
        try:
            if sampler is None:
                probs = window_method(_context(ids, seq_len)).numpy()[0].astype(float)
            elif states is None:  # the prompt's own last characters, unpadded; an empty one reads as unknown
                probs, states = sampler.start(ids[max(0, len(ids) - seq_len) :] or _context(ids, seq_len)[0])
            else:
                probs, states = sampler.advance(ids[-1], states)
        except Exception as exc:  # a model of another kind: Keras explains over many lines, we in one sentence
            raise RunError(
                f"The model cannot read {seq_len} characters of context ({first_words(exc)}): load a text run or retrain it."
            ) from exc
        if probs.shape != (vocab.size,):
            raise RunError(
                f"The model gives {probs.size} outputs for a vocabulary of {vocab.size} characters: load the run it belongs to."
            )
        probs[UNKNOWN_ID] = 0.0  # the unknown marker stands for unseen input; it is never an answer
        ids.append(sample_index(probs, temperature, rng))
    return prompt + vocab.decode(ids[len(prompt) :])


def _context(ids: list[int], seq_len: int) -> np.ndarray:
    """The last seq_len ids as one (1, seq_len) window, left-padded with the unknown id (as in training)."""
    context = np.zeros((1, seq_len), dtype=np.int32)
    tail = ids[-seq_len:]
    context[0, seq_len - len(tail) :] = tail
    return context


def _window_method(model):
    """One traced call on the whole window per character, for models the step sampler cannot run."""
    import tensorflow as tf

    return tf.function(lambda context: model(context, training=False))


def check_temperature(temperature: float) -> None:
    """0 picks the most likely id; above 0 samples, flatter as it grows. inf or NaN would turn every
    probability into NaN, so they are refused here rather than failing deep inside numpy."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not 0 <= temperature < np.inf:
        raise ConfigError(
            f"The temperature must be a finite number, 0 or more (got {temperature!r}): "
            "use 0 for the most likely text or about 1 for varied text."
        )


def sample_index(probs: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Sample an id from `probs` sharpened by `temperature` (0: the most likely); ids whose
    probability is 0 or not a number are never drawn, not even greedily."""
    check_temperature(temperature)
    probs = np.asarray(probs, dtype=float)
    usable = np.isfinite(probs) & (probs > 0)
    if not usable.any():
        raise RunError(
            "The model gives no character a probability above 0 (its outputs are zero or NaN, as after a diverged training): retrain it."
        )
    if temperature == 0:
        return int(np.argmax(np.where(usable, probs, -np.inf)))
    logs = np.where(usable, np.log(np.where(usable, probs, 1.0)), -np.inf)
    weights = np.exp((logs - logs.max()) / temperature)  # the most likely weighs 1, even at a tiny temperature
    return int(rng.choice(len(weights), p=weights / weights.sum()))
