"""The data stage: prices, text and synthetic tasks turned into leak-free windows.

Knows nothing of Keras models; everything it returns is numpy, pandas or plain JSON.
"""

from data.atomic import atomic_write
from data.corpus import BUNDLED_CORPORA, CharVocab, Corpus, load_corpus
from data.errors import ConfigError, DataError, LabError, RunError
from data.prices import default_cache_dir, list_bundled_tickers, load_prices, read_price_csv, validate_prices
from data.scaling import fit_scaler, scaler_from_dict, scaler_to_dict
from data.stock_scaling import StockScaling
from data.synthetic import ADDING_BASELINE_MSE, adding_problem, copy_baseline_nats, copy_task
from data.targets import TARGETS, log_returns, returns_to_prices, stock_series
from data.windows import (
    ChronologicalSplit,
    chronological_split,
    sliding_windows,
    walk_forward_folds,
    window_count,
    windows_with_targets,
)

__all__ = [
    "ADDING_BASELINE_MSE",
    "BUNDLED_CORPORA",
    "TARGETS",
    "CharVocab",
    "ConfigError",
    "ChronologicalSplit",
    "Corpus",
    "DataError",
    "LabError",
    "RunError",
    "StockScaling",
    "adding_problem",
    "atomic_write",
    "chronological_split",
    "copy_baseline_nats",
    "copy_task",
    "default_cache_dir",
    "fit_scaler",
    "list_bundled_tickers",
    "load_corpus",
    "load_prices",
    "log_returns",
    "read_price_csv",
    "returns_to_prices",
    "scaler_from_dict",
    "scaler_to_dict",
    "sliding_windows",
    "stock_series",
    "validate_prices",
    "walk_forward_folds",
    "window_count",
    "windows_with_targets",
]
