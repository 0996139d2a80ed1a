"""The data stage: prices, text and synthetic tasks turned into leak-free windows.

Knows nothing of Keras models; everything it returns is numpy, pandas or plain JSON.
"""

from data.corpus import BUNDLED_CORPORA, CharVocab, Corpus, load_corpus
from data.errors import DataError
from data.prices import default_cache_dir, list_bundled_tickers, load_prices, read_price_csv, validate_prices
from data.scaling import fit_scaler, scaler_from_json, scaler_to_json
from data.synthetic import ADDING_BASELINE_MSE, adding_problem
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
    "ChronologicalSplit",
    "Corpus",
    "DataError",
    "adding_problem",
    "chronological_split",
    "default_cache_dir",
    "fit_scaler",
    "list_bundled_tickers",
    "load_corpus",
    "load_prices",
    "log_returns",
    "read_price_csv",
    "returns_to_prices",
    "scaler_from_json",
    "scaler_to_json",
    "sliding_windows",
    "stock_series",
    "validate_prices",
    "walk_forward_folds",
    "window_count",
    "windows_with_targets",
]
