"""The stock task: forecast the close `horizon` trading days ahead from a window of daily log returns
(or prices), always beside the naive forecast and a Ridge regression, scored in price units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from data import TARGETS, StockScaling, chronological_split, load_prices, walk_forward_folds
from data.stock_scaling import first_input_day
from models.inference import PREDICT_BATCH, forecast, scaling_of, stock_preprocessing
from pipelines.evaluate import RidgeBaseline, forecast_metrics
from pipelines.tasks.base import Baselines, Evaluation, ModelShape, Prepared, Split, Task
from pipelines.tasks.config import PredictOptions, TrainConfig, at_least, option, require


@dataclass
class StockConfig(TrainConfig):
    task: ClassVar[str] = "stock"
    ticker: str = option("AAPL", "ticker symbol")
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
        require(self.target in TARGETS, f"--target must be one of {', '.join(TARGETS)} (got {self.target!r}).")
        require(self.folds == 0 or self.folds >= 2, f"--folds must be 0 (none) or at least 2 (got {self.folds}).")
        require(bool(self.ticker.strip()), "--ticker is empty: give a symbol such as AAPL.")

    def default_name(self) -> str:
        return f"stock-{self.ticker.upper()}"


@dataclass
class StockPredict(PredictOptions):
    ticker: str | None = option(None, "ticker to forecast (default: the run's)")
    source: str | None = option(None, "bundled, yfinance or auto (default: the run's)")
    csv: str | None = option(None, "forecast from this CSV (Date and Close columns) instead")
    start: str | None = option(None, "first date of the history to read, YYYY-MM-DD")
    end: str | None = option(None, "last date of the history to read, YYYY-MM-DD")
    show: int = option(10, "how many of the latest forecasts to print")

    def __post_init__(self):
        at_least(self, "show", 1)


@dataclass
class StockContext:
    prices: pd.DataFrame
    scaling: StockScaling
    target_day: np.ndarray  # per window: index in the close series of the day it forecasts
    test: np.ndarray  # window indices of the test split

    @property
    def close(self) -> np.ndarray:
        return self.prices["Close"].to_numpy(dtype=float)

    def test_days(self, horizon: int) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
        """Actual close, the close `horizon` days before (the naive forecast) and the date of every test target."""
        days = self.target_day[self.test]
        return self.close[days], self.close[days - horizon], self.prices.index[days]


class StockTask(Task):
    name = "stock"
    summary = "stock prices: forecast the close beside naive and Ridge"
    config_class = StockConfig
    predict_class = StockPredict
    headline = "mase"
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
        context = StockContext(prices, scaling, target_day, split.test)
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
        actual, previous, _ = prepared.context.test_days(config.horizon)
        ridge = RidgeBaseline().fit(prepared.train.x, prepared.train.y)
        predictions = {
            "naive": previous,
            "ridge": prepared.context.scaling.to_prices(ridge.predict(prepared.test.x), previous),
        }
        rows = [{"model": name, **forecast_metrics(actual, values, previous)} for name, values in predictions.items()]
        return Baselines(rows, predictions)

    def evaluate(self, config, prepared: Prepared[StockContext], model, cell, baselines) -> Evaluation:
        # The same code path as a saved run's forecast, so loading the run reproduces these numbers.
        forecasts = forecast(model, prepared.context.prices, prepared.context.scaling)
        predicted = forecasts["forecast"].to_numpy()[prepared.context.test]
        actual, previous, dates = prepared.context.test_days(config.horizon)
        metrics = forecast_metrics(actual, predicted, previous)
        metrics["beats_naive"] = bool(metrics["mase"] < 1.0)
        table = pd.DataFrame(
            {
                "date": dates.strftime("%Y-%m-%d"),
                "previous_close": previous,
                "actual": actual,
                **baselines.predictions,
                cell: predicted,
            }
        )
        return Evaluation(metrics, predictions=table)

    def fold_scores(self, config: StockConfig, prepared: Prepared[StockContext], build_cell) -> pd.DataFrame | None:
        """MASE over walk-forward folds for every cell, Ridge and naive: mean and spread.

        Each fold refits the scaling and a fresh model on the fold's earlier windows only.
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
                    model = build_cell(name)
                    model.fit(X[train], y[train], epochs=config.epochs, batch_size=config.batch_size, verbose=0)
                    outputs = model.predict(X[test], verbose=0, batch_size=PREDICT_BATCH)[:, 0]
                    predicted = scaling.to_prices(outputs, previous)
                scores[name].append(forecast_metrics(actual, predicted, previous)["mase"])
        return pd.DataFrame(
            [
                {"model": name, "fold_mase_mean": float(np.mean(v)), "fold_mase_std": float(np.std(v))}
                for name, v in scores.items()
            ]
        )

    def use_saved(self, run, options: StockPredict) -> str:
        config = run.config
        source = options.csv or options.source or config["source"]
        prices = load_prices(options.ticker or config["ticker"], options.start, options.end, source)
        table = run.forecast(prices)
        horizon = scaling_of(run.preprocessing).horizon
        shown = table.tail(options.show).copy()
        shown["date"] = shown["date"].dt.strftime("%Y-%m-%d").fillna("next")
        heading = (
            f"{run.path}: {config['cell']} forecasts {horizon} day(s) ahead; {prices.attrs.get('source_note', '')}"
        )
        return heading + "\n" + shown.to_string(index=False, float_format=lambda v: f"{v:.2f}")
