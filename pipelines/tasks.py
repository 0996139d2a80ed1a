"""Turn a task config into identical train/validation/test arrays for every cell.

Also records the preprocessing (scalers, vocabulary) that run.json keeps, and what the
evaluation needs to report in natural units (dates and previous closes for prices).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data import (
    DataError,
    adding_problem,
    chronological_split,
    fit_scaler,
    load_corpus,
    load_prices,
    scaler_from_json,
    scaler_to_json,
    stock_series,
    windows_with_targets,
)
from models.inference import stock_inputs
from pipelines.config import AddingConfig, StockConfig, TextConfig, TrainConfig


@dataclass
class Prepared:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    model_kwargs: dict  # extra build_model arguments (classifier head, embedding)
    preprocessing: dict  # saved in run.json; what inference needs
    data_info: dict  # saved in run.json; where the data came from
    context: dict = field(default_factory=dict)  # evaluation extras, not saved

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def prepare(config: TrainConfig) -> Prepared:
    if config.batch_size < 1 or config.epochs < 1 or config.units < 1 or config.layers < 1:
        raise DataError("--epochs, --batch-size, --units and --layers must each be at least 1.")
    if isinstance(config, StockConfig):
        return prepare_stock(config)
    if isinstance(config, TextConfig):
        return prepare_text(config)
    if isinstance(config, AddingConfig):
        return prepare_adding(config)
    raise DataError(f"Unknown task {config.task!r}: choose stock, text or adding.")


def prepare_stock(config: StockConfig) -> Prepared:
    if config.lookback < 1 or config.horizon < 1:
        raise DataError(f"--lookback and --horizon must be at least 1 (got {config.lookback} and {config.horizon}).")
    prices = load_prices(config.ticker, config.start, config.end, config.source)
    close = prices["Close"].to_numpy(dtype=float)
    offset = 1 if config.target == "return" else 0
    split = chronological_split(len(close) - offset, config.lookback, config.horizon)
    preprocessing, X, y, target_day = stock_arrays(close, config, train_end=offset + split.boundaries[0])
    parts = {name: getattr(split, name) for name in ("train", "validation", "test")}
    context = {
        name: {
            "dates": prices.index[target_day[starts]],
            "actual": close[target_day[starts]],
            "previous_close": close[target_day[starts] - config.horizon],
        }
        for name, starts in parts.items()
    }
    context["target_day"] = target_day
    context["close"] = close
    context["dates"] = prices.index
    data_info = {
        "source": prices.attrs.get("source"),
        "source_note": prices.attrs.get("source_note"),
        "first_date": str(prices.index[0].date()),
        "last_date": str(prices.index[-1].date()),
        "test_first_date": str(context["test"]["dates"][0].date()),
        "windows": {name: int(len(starts)) for name, starts in parts.items()},
    }
    return Prepared(
        X[split.train], y[split.train], X[split.validation], y[split.validation], X[split.test], y[split.test],
        model_kwargs={}, preprocessing=preprocessing, data_info=data_info, context=context,
    )  # fmt: skip


def stock_arrays(close: np.ndarray, config: StockConfig, train_end: int):
    """Scalers fitted on close[:train_end] alone, and every window scaled with them.

    Returns (preprocessing, X, y, target_day) where target_day indexes `close`. Used for the
    main split and again for each walk-forward fold, so no fold is scaled with its future.
    """
    features, targets = stock_series(close, config.target, config.horizon)
    offset = 1 if config.target == "return" else 0
    preprocessing = {
        "kind": "stock",
        "target": config.target,
        "lookback": config.lookback,
        "horizon": config.horizon,
        "feature_scaler": scaler_to_json(fit_scaler(features[offset:train_end])),
        "target_scaler": scaler_to_json(fit_scaler(targets[offset + config.horizon : train_end])),
    }
    inputs, _ = stock_inputs(close, preprocessing)
    scaled_targets = scaler_from_json(preprocessing["target_scaler"]).transform(targets[offset:, None])[:, 0]
    X, y, target_index = windows_with_targets(inputs, scaled_targets.astype("float32"), config.lookback, config.horizon)
    return preprocessing, X, y, target_index + offset


def prepare_text(config: TextConfig) -> Prepared:
    if config.seq_len < 1 or config.stride < 1:
        raise DataError(f"--seq-len and --stride must be at least 1 (got {config.seq_len} and {config.stride}).")
    corpus = load_corpus(config.corpus, config.max_chars)
    ids = corpus.vocab.encode(corpus.text)
    X, y, _ = windows_with_targets(ids, ids, config.seq_len, 1)
    split = chronological_split(len(ids), config.seq_len, 1, fractions=(0.8, 0.1))
    pick = {name: getattr(split, name)[:: config.stride] for name in ("train", "validation", "test")}
    train_ids = ids[: split.boundaries[0]]
    return Prepared(
        X[pick["train"]], y[pick["train"]], X[pick["validation"]], y[pick["validation"]], X[pick["test"]], y[pick["test"]],
        model_kwargs={"vocab_size": corpus.vocab.size, "n_classes": corpus.vocab.size, "embedding_dim": config.embedding_dim},
        preprocessing={"kind": "text", "seq_len": config.seq_len, "vocab": corpus.vocab.to_json()},
        data_info={"corpus": corpus.name, "characters": len(corpus.text), "vocab_size": corpus.vocab.size,
                   "windows": {name: int(len(p)) for name, p in pick.items()}},
        context={"train_ids": train_ids, "vocab": corpus.vocab, "prompt": corpus.text[split.boundaries[0]:][: config.seq_len]},
    )  # fmt: skip


def prepare_adding(config: AddingConfig) -> Prepared:
    if config.samples < 30:
        raise DataError(f"--samples must be at least 30 to leave test sequences (got {config.samples}).")
    x, y = adding_problem(config.samples, config.length, seed=config.seed)
    n_train, n_val = int(0.8 * config.samples), int(0.1 * config.samples)
    val_end = n_train + n_val
    return Prepared(
        x[:n_train], y[:n_train], x[n_train:val_end], y[n_train:val_end], x[val_end:], y[val_end:],
        model_kwargs={}, preprocessing={"kind": "adding", "length": config.length},
        data_info={"generator": "adding_problem", "seed": config.seed, "samples": config.samples},
    )  # fmt: skip
