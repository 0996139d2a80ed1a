"""The stock task: forecast the close `horizon` trading days ahead from a window of daily log returns
(or prices), always beside the naive forecast and a Ridge regression, scored in price units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from data import TARGETS, DataError, StockScaling, chronological_split, load_prices, walk_forward_folds
from data.prices import SOURCES
from data.stock_scaling import first_input_day
from models.inference import PREDICT_BATCH, forecast, scaling_of, stock_preprocessing
from pipelines.evaluate import RidgeBaseline, beats_naive, conformal_intervals, forecast_metrics
from pipelines.tasks.base import Baselines, Evaluation, ModelShape, Prepared, Split, Task
from pipelines.tasks.config import (
    MAX_STEPS,
    PredictOptions,
    TrainConfig,
    at_least,
    at_most,
    option,
    plain_name,
    require,
)

DEFAULT_TICKER = "AAPL"
MAX_FOLDS = 100
MIN_FOLD_WINDOWS = 10  # test windows of each walk-forward fold, and training windows of its first
MAX_SHOWN = 100_000  # predict --show: forecasts printed


@dataclass
class StockConfig(TrainConfig):
    task: ClassVar[str] = "stock"
    ticker: str | None = option(None, "ticker symbol (default: AAPL; for a CSV, the file's name)")
    source: str = option("bundled", "bundled, yfinance, auto, or the path of a CSV with Date and Close")
    start: str | None = option(None, "first date, YYYY-MM-DD")
    end: str | None = option(None, "last date, YYYY-MM-DD")
    lookback: int = option(60, "trading days per input window", sweep=True)
    horizon: int = option(1, "forecast this many trading days ahead")
    target: str = option("return", "return (log return, reported in price units) or price", choices=TARGETS)
    folds: int = option(0, "walk-forward folds evaluated besides the test split (0: none)")

    def __post_init__(self):
        super().__post_init__()
        at_least(self, "lookback", 1)
        at_least(self, "horizon", 1)
        at_most(self, "lookback", MAX_STEPS)
        at_most(self, "horizon", MAX_STEPS)
        require(self.target in TARGETS, f"--target must be one of {', '.join(TARGETS)} (got {self.target!r}).")
        require(self.folds == 0 or self.folds >= 2, f"--folds must be 0 (none) or at least 2 (got {self.folds}).")
        at_most(self, "folds", MAX_FOLDS)
        if self.ticker is None:  # a CSV's series is named after its file, never after a real ticker
            self.ticker = series_name(self.source) if is_csv_source(self.source) else DEFAULT_TICKER
        require(bool(self.ticker.strip()), "--ticker is empty: give a symbol such as AAPL.")

    def default_name(self) -> str:
        """stock-<ticker> (a CSV's: its file name), reduced to what a folder name may hold (^GSPC: GSPC)."""
        return plain_name("stock-", self.ticker if is_csv_source(self.source) else self.ticker.upper(), "prices")


def is_csv_source(source: str) -> bool:
    return source not in SOURCES


def series_name(csv_path: str) -> str:
    """A CSV's name as a series (and experiment) name: its file name, reduced to plain characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", Path(csv_path).stem).strip(".-_") or "csv"


def check_folds(windows: int, config: StockConfig) -> None:
    """Refuse more walk-forward folds than the windows allow: each fold tests on at least MIN_FOLD_WINDOWS
    windows, and the first trains on at least as many, after the gap of a lookback that keeps them apart."""
    gap = config.lookback + config.horizon - 1  # as walk_forward_folds leaves between train and test

    def fits(folds: int) -> bool:
        test = windows // (folds + 1)  # TimeSeriesSplit's test size
        return test >= MIN_FOLD_WINDOWS and windows - folds * test - gap >= MIN_FOLD_WINDOWS

    if fits(config.folds):
        return
    most = max((k for k in range(2, config.folds) if fits(k)), default=0)
    fix = f"use --folds {most} or fewer" if most else "drop --folds (0)"
    raise DataError(
        f"{windows:,} windows are too few for {config.folds} walk-forward folds (each needs {MIN_FOLD_WINDOWS} test "
        f"windows, the first as many training windows, after a gap of {gap}): {fix}, or use a longer date range."
    )


@dataclass
class StockPredict(PredictOptions):
    ticker: str | None = option(None, "ticker to forecast (default: the run's)")
    source: str | None = option(None, "bundled, yfinance or auto (default: the run's)")
    csv: str | None = option(None, "forecast from this CSV (Date and Close columns) instead")
    start: str | None = option(None, "first date of the history to read, YYYY-MM-DD")
    end: str | None = option(None, "last date of the history to read, YYYY-MM-DD")
    show: int = option(10, "how many of the latest forecasts to print")

    def __post_init__(self):
        super().__post_init__()
        at_least(self, "show", 1)
        at_most(self, "show", MAX_SHOWN)
        require(
            self.csv is None or (self.ticker is None and self.source is None),
            "--csv gives the prices itself: drop --ticker and --source.",
        )


@dataclass
class StockContext:
    prices: pd.DataFrame
    scaling: StockScaling
    target_day: np.ndarray  # per window: index in the close series of the day it forecasts
    test: np.ndarray  # window indices of the test split
    validation: np.ndarray  # window indices of the validation split: the forecast intervals' calibration days

    @property
    def close(self) -> np.ndarray:
        return self.prices["Close"].to_numpy(dtype=float)

    def days(self, windows: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
        """Actual close, the close `horizon` days before (the naive forecast) and the date of every target
        of `windows`."""
        days = self.target_day[windows]
        return self.close[days], self.close[days - horizon], self.prices.index[days]

    def test_days(self, horizon: int) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
        return self.days(self.test, horizon)

    def validation_days(self, horizon: int) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
        return self.days(self.validation, horizon)


class StockTask(Task):
    name = "stock"
    summary = "stock prices: forecast the close beside naive and Ridge"
    horizon_meaning = (
        "Tomorrow's close is mostly today's (the naive forecast is hard to beat), so no cell needs a long memory "
        "here: a short horizon is a cell weighing the last days, not forgetting, and a long one only says its "
        "gradient did not fade over the window, not that the older days help the forecast."
    )
    config_class = StockConfig
    predict_class = StockPredict
    headline = "mase"
    loss_units = "the scaled targets, not dollars"
    baseline_names = ("naive", "ridge")  # tomorrow = today, and a Ridge regression on the same windows
    default_run = {"epochs": 10}

    def prepare(self, config: StockConfig) -> Prepared[StockContext]:
        prices = load_prices(config.ticker, config.start, config.end, config.source)
        close = prices["Close"].to_numpy(dtype=float)
        first = first_input_day(config.target)
        split = chronological_split(len(close) - first, config.lookback, config.horizon)
        scaling = StockScaling.fit(
            close,
            lookback=config.lookback,
            horizon=config.horizon,
            target=config.target,
            train_end=first + split.boundaries[0],
        )
        X, y, target_day = scaling.training_windows(close)
        if config.folds:  # refused now, not after every cell has trained
            check_folds(len(target_day), config)
        context = StockContext(prices, scaling, target_day, split.test, split.validation)
        test_dates = context.test_days(config.horizon)[2]
        parts = {"train": split.train, "validation": split.validation, "test": split.test}
        data_info = {
            "source": prices.attrs.get("source"),
            "source_note": prices.attrs.get("source_note"),
            "first_date": str(prices.index[0].date()),
            "last_date": str(prices.index[-1].date()),
            "test_first_date": str(test_dates[0].date()),
            "windows": {name: int(len(starts)) for name, starts in parts.items()},
        }
        return Prepared(
            *(Split(X[starts], y[starts]) for starts in parts.values()),
            shape=ModelShape(input_shape=X.shape[1:]),
            preprocessing=stock_preprocessing(scaling),
            data_info=data_info,
            context=context,
        )

    def baselines(self, config: StockConfig, prepared: Prepared[StockContext]) -> Baselines:
        """Naive and Ridge on the test days, with split-conformal intervals calibrated on the validation
        days (their bounds join the predictions: naive_lo80, naive_hi80, ...)."""
        context = prepared.context
        actual, previous, _ = context.test_days(config.horizon)
        val_actual, val_previous, _ = context.validation_days(config.horizon)
        ridge = RidgeBaseline().fit(prepared.train.x, prepared.train.y)
        predictions = {
            "naive": previous,
            "ridge": context.scaling.to_prices(ridge.predict(prepared.test.x), previous),
        }
        validation = {
            "naive": val_previous,
            "ridge": context.scaling.to_prices(ridge.predict(prepared.validation.x), val_previous),
        }
        rows, bounds = [], {}
        for name, values in predictions.items():
            columns, coverage = conformal_intervals(
                name, val_actual - validation[name], values, actual, calibration_scale=val_previous, scale=previous
            )
            rows.append({"model": name, **forecast_metrics(actual, values, previous, config.horizon), **coverage})
            bounds.update(columns)
        return Baselines(rows, {**predictions, **bounds})

    def evaluate(self, config, prepared: Prepared[StockContext], model, cell, baselines) -> Evaluation:
        # The same code path as a saved run's forecast, so loading the run reproduces these numbers.
        forecasts = forecast(model, prepared.context.prices, prepared.context.scaling)["forecast"].to_numpy()
        predicted = forecasts[prepared.context.test]
        actual, previous, dates = prepared.context.test_days(config.horizon)
        metrics = forecast_metrics(actual, predicted, previous, config.horizon)
        metrics["beats_naive"] = beats_naive(metrics)
        # Split-conformal intervals: half-widths from the same forecasts' residuals on the validation days.
        # Relative to each day's previous close: dollar errors grow with the price (see conformal_intervals).
        val_actual, val_previous = prepared.context.validation_days(config.horizon)[:2]
        residuals = val_actual - forecasts[prepared.context.validation]
        bounds, coverage = conformal_intervals(
            cell, residuals, predicted, actual, calibration_scale=val_previous, scale=previous
        )
        metrics.update(coverage)
        table = pd.DataFrame(
            {
                "date": dates.strftime("%Y-%m-%d"),
                "previous_close": previous,
                "actual": actual,
                **baselines.predictions,
                cell: predicted,
                **bounds,
            }
        )
        return Evaluation(metrics, predictions=table)

    def fold_scores(self, config: StockConfig, prepared: Prepared[StockContext], fit_cell) -> pd.DataFrame | None:
        """MASE over walk-forward folds for every cell, Ridge and naive: mean and spread.

        Each fold refits the scaling, and a fresh model through the pipeline's own training
        (`fit_cell(cell, x, y)`), on the fold's earlier windows only.
        """
        if not config.folds:
            return None
        close, target_day = prepared.context.close, prepared.context.target_day
        folds = walk_forward_folds(len(target_day), config.folds, config.lookback, config.horizon)
        scores: dict[str, list[float]] = {name: [] for name in [*config.cells, "ridge", "naive"]}
        for train, test in folds:
            # Points up to the last training target are all the fold may learn its scaling from.
            scaling = StockScaling.fit(
                close,
                lookback=config.lookback,
                horizon=config.horizon,
                target=config.target,
                train_end=int(target_day[train[-1]]) + 1,
            )
            X, y, _ = scaling.training_windows(close)
            previous, actual = close[target_day[test] - config.horizon], close[target_day[test]]
            for name in scores:
                if name == "naive":
                    predicted = previous
                elif name == "ridge":
                    predicted = scaling.to_prices(RidgeBaseline().fit(X[train], y[train]).predict(X[test]), previous)
                else:
                    model = fit_cell(name, X[train], y[train])
                    outputs = model.predict(X[test], verbose=0, batch_size=PREDICT_BATCH)[:, 0]
                    predicted = scaling.to_prices(outputs, previous)
                scores[name].append(forecast_metrics(actual, predicted, previous)["mase"])
        return pd.DataFrame(
            [
                {"model": name, "fold_mase_mean": float(np.mean(v)), "fold_mase_std": float(np.std(v))}
                for name, v in scores.items()
            ]
        )

    def replay(self, config: dict, data: dict) -> dict:
        """`source auto` records what it fell back to; repeating the run reads that same data."""
        used = data.get("source")
        if config.get("source") == "auto" and used in ("bundled", "cache", "yfinance"):
            return {**config, "source": "bundled" if used == "bundled" else "yfinance"}
        return config

    def use_saved(self, run, options: StockPredict) -> str:
        """Forecast the run's own series unless --csv or --ticker asks for another one explicitly."""
        config = run.config
        own_source, own_ticker = str(config.get("source")), str(config.get("ticker"))
        ticker, source = options.ticker or own_ticker, options.source or own_source
        if options.csv is not None:
            ticker, source = series_name(options.csv), options.csv
        elif is_csv_source(own_source) and options.ticker is None and options.source is not None:
            raise DataError(
                f"This run was trained on {own_source}: name the series to read from {source} with --ticker."
            )
        elif is_csv_source(own_source) and options.ticker is not None:
            source = options.source or "auto"  # another series on purpose: not from the run's CSV
        elif is_csv_source(own_source) and not Path(own_source).is_file():
            raise DataError(
                f"This run was trained on {own_source}, which is not here: give the prices to forecast with "
                "--csv FILE (or --ticker to forecast another series on purpose)."
            )
        prices = load_prices(ticker, options.start, options.end, source)
        table = run.forecast(prices)
        horizon = scaling_of(run.preprocessing).horizon
        shown = table.tail(options.show).copy()
        shown["date"] = shown["date"].dt.strftime("%Y-%m-%d").fillna("next")
        series = Path(source).name if is_csv_source(source) else ticker.upper()
        other = "" if ticker.upper() == own_ticker.upper() else f" (trained on {own_ticker}: another series, as asked)"
        heading = (
            f"{run.path}: {config['cell']} forecasts {series} {horizon} day(s) ahead{other}; "
            f"{prices.attrs.get('source_note', '')}"
        )
        return heading + "\n" + shown.to_string(index=False, float_format=lambda v: f"{v:.2f}")
