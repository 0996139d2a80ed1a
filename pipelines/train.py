"""Train SimpleRNN, LSTM and GRU side by side on identical data, evaluate them beside naive
baselines, and save one run per cell under runs/<experiment>/<cell>/.

Usage: python -m pipelines.train --task stock|text|adding [options]   (see --help)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from rich.console import Console
from rich.table import Table

from data import walk_forward_folds
from models import CELLS, GradientLogger, RunError, build_model, count_params, save_run
from models.inference import generate, scaled_to_prices
from pipelines.cli import OneLineParser, add_config_options, run_command
from pipelines.config import CONFIGS, StockConfig, TextConfig, TrainConfig, config_from_dict
from pipelines.evaluate import (
    ADDING_BASELINE_MSE,
    RidgeBaseline,
    adding_metrics,
    bits_per_char,
    forecast_metrics,
    unigram_bits_per_char,
)
from pipelines.progress import FitProgress, make_progress
from pipelines.tasks import prepare, stock_arrays


@dataclass
class ExperimentResult:
    path: Path
    table: pd.DataFrame  # one row per cell and baseline
    runs: dict[str, Path]


def run_experiment(
    config: TrainConfig,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress=None,
    report: Callable[[float, str], None] | None = None,
) -> ExperimentResult:
    """Train every cell of `config` on identical data and save the runs.

    All validation (data, options, existing runs) happens before anything is written.
    """
    unknown = [cell for cell in config.cells if cell not in CELLS]
    if unknown or not config.cells:
        raise ValueError(f"Unknown cell {', '.join(unknown) or '(none given)'}: choose from {', '.join(CELLS)}.")
    prepared = prepare(config)
    experiment = Path(config.out) / config.experiment_name()
    existing = [cell for cell in config.cells if (experiment / cell).exists()]
    if existing and not (overwrite or resume):
        raise RunError(
            f"{experiment} already holds runs for {', '.join(existing)}: pass --overwrite to replace them, --resume to continue, or choose another --name."
        )
    tf.config.experimental.enable_op_determinism()  # same seed, same metrics

    baseline_rows, baseline_predictions = baselines(config, prepared)
    rows, runs = [], {}
    for index, cell in enumerate(config.cells):
        run_dir = experiment / cell
        if resume and (run_dir / "run.json").is_file():
            rows.append({"model": cell, **json.loads((run_dir / "run.json").read_text())["metrics"]})
            runs[cell] = run_dir
            continue
        metrics = train_one_cell(config, prepared, cell, experiment, baseline_predictions, overwrite or resume, resume,
                                 progress, _scaled_report(report, index, len(config.cells)))  # fmt: skip
        rows.append({"model": cell, **metrics})
        runs[cell] = run_dir
    table = pd.DataFrame([*rows, *baseline_rows.values()])
    if isinstance(config, StockConfig) and config.folds:
        table = table.merge(walk_forward(config, prepared), on="model", how="left")
    _write_table(experiment / "comparison.csv", table)
    if isinstance(config, StockConfig):
        _write_table(experiment / "predictions.csv", merged_predictions(runs))
    return ExperimentResult(experiment, table, runs)


def merged_predictions(runs: dict[str, Path]) -> pd.DataFrame:
    """One table for the experiment: date, previous close, actual, the baselines and every cell."""
    tables = [pd.read_csv(path / "predictions.csv") for path in runs.values()]
    shared = ["date", "previous_close", "actual", "naive", "ridge"]
    merged = tables[0]
    for table in tables[1:]:
        merged = merged.merge(table.drop(columns=shared[1:]), on="date", how="outer")
    return merged


def _scaled_report(report, index, count):
    if report is None:
        return None
    return lambda fraction, message: report((index + fraction) / count, message)


def build_cell(config: TrainConfig, prepared, cell: str) -> keras.Model:
    """The same architecture, initialisation and optimizer for every cell of an experiment."""
    keras.utils.set_random_seed(config.seed)
    return build_model(
        cell, prepared.input_shape, units=config.units, layers=config.layers, dropout=config.dropout, gain=config.gain,
        clipnorm=config.clipnorm, learning_rate=config.learning_rate, seed=config.seed, **prepared.model_kwargs,
    )  # fmt: skip


def train_one_cell(
    config, prepared, cell, experiment, baseline_predictions, overwrite, resume, progress, report
) -> dict:
    model = build_cell(config, prepared, cell)
    backup = experiment / ".backup" / cell
    if not resume:
        shutil.rmtree(backup, ignore_errors=True)  # a stale backup would silently resume
    backup.mkdir(parents=True, exist_ok=True)
    logger = GradientLogger(
        prepared.x_val[: config.probe_size], prepared.y_val[: config.probe_size], every_n_batches=config.log_every
    )
    steps = int(np.ceil(len(prepared.x_train) / config.batch_size))
    callbacks = [
        logger,
        keras.callbacks.BackupAndRestore(str(backup / "state")),
        keras.callbacks.CSVLogger(str(backup / "history.csv"), append=True),
        FitProgress(cell, config.epochs, steps, progress, report),
    ]
    model.fit(
        prepared.x_train, prepared.y_train, validation_data=(prepared.x_val, prepared.y_val), epochs=config.epochs,
        batch_size=config.batch_size, shuffle=True, verbose=0, callbacks=callbacks,
    )  # fmt: skip
    history = pd.read_csv(backup / "history.csv").drop(columns="epoch")
    metrics, predictions, extra = evaluate_cell(config, prepared, model, cell, baseline_predictions)
    metrics["params"] = count_params(model)
    gradients = logger.log
    first_layer = f"{cell}_1"  # the layer whose gradient must reach back to the earliest inputs
    metrics["gradient_horizon"] = int(gradients[f"horizon/{first_layer}"][-1])
    metrics["gradient_decay"] = float(gradients[f"decay/{first_layer}"][-1])
    metrics["max_global_grad_norm"] = float(np.max(gradients["global_grad_norm"]))
    run_config = {**config.to_dict(), "cell": cell}
    save_run(
        experiment / cell, model, run_config, metrics=metrics, history=history, gradients=gradients,
        predictions=predictions, overwrite=overwrite,
        preprocessing={**prepared.preprocessing, "data": prepared.data_info, **extra},
    )  # fmt: skip
    shutil.rmtree(backup, ignore_errors=True)
    return metrics


def baselines(config, prepared) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The rows every cell is compared with, computed once per experiment, and (for prices)
    the baselines' test predictions, which go into every cell's predictions.csv."""
    if isinstance(config, StockConfig):
        test = prepared.context["test"]
        ridge = RidgeBaseline().fit(prepared.x_train, prepared.y_train)
        ridge_prices = scaled_to_prices(ridge.predict(prepared.x_test), test["previous_close"], prepared.preprocessing)
        predictions = {"naive": test["previous_close"], "ridge": ridge_prices}
        rows = {
            name: {"model": name, **forecast_metrics(test["actual"], values, test["previous_close"])}
            for name, values in predictions.items()
        }
        return rows, predictions
    if isinstance(config, TextConfig):
        vocab_size = prepared.model_kwargs["vocab_size"]
        bits = unigram_bits_per_char(prepared.context["train_ids"], prepared.y_test, vocab_size)
        val_bits = unigram_bits_per_char(prepared.context["train_ids"], prepared.y_val, vocab_size)
        return {"unigram": {"model": "unigram", "val_bpc": val_bits, "test_bpc": bits}}, {}
    return {"predict-the-mean": {"model": "predict-the-mean", "test_mse": ADDING_BASELINE_MSE, "solved": False}}, {}


def evaluate_cell(config, prepared, model, cell, baseline_predictions) -> tuple[dict, pd.DataFrame | None, dict]:
    """Metrics on the held-back test split, the predictions table, and extras for run.json."""
    predicted = model.predict(prepared.x_test, verbose=0, batch_size=1024)
    if isinstance(config, StockConfig):
        test = prepared.context["test"]
        prices = scaled_to_prices(predicted[:, 0], test["previous_close"], prepared.preprocessing)
        metrics = forecast_metrics(test["actual"], prices, test["previous_close"])
        metrics["beats_naive"] = bool(metrics["mase"] < 1.0)
        table = pd.DataFrame({
            "date": test["dates"].strftime("%Y-%m-%d"), "previous_close": test["previous_close"], "actual": test["actual"],
            **baseline_predictions, cell: prices,
        })  # fmt: skip
        return metrics, table, {}
    if isinstance(config, TextConfig):
        val_probs = model.predict(prepared.x_val, verbose=0, batch_size=1024)
        metrics = {
            "val_bpc": bits_per_char(val_probs, prepared.y_val),
            "test_bpc": bits_per_char(predicted, prepared.y_test),
        }
        prompt = prepared.context["prompt"]
        samples = {
            str(t): generate(model, prepared.preprocessing, prompt, length=200, temperature=t, seed=config.seed)
            for t in (0.5, 1.0)
        }
        return metrics, None, {"samples": samples}
    return adding_metrics(prepared.y_test, predicted), None, {}


def walk_forward(config: StockConfig, prepared) -> pd.DataFrame:
    """MASE over walk-forward folds for every cell and the Ridge baseline: mean and spread.

    Each fold refits the scalers and a fresh model on the fold's earlier windows only.
    """
    close, target_day = prepared.context["close"], prepared.context["target_day"]
    folds = walk_forward_folds(len(target_day), config.folds, config.lookback, config.horizon)
    scores: dict[str, list[float]] = {name: [] for name in [*config.cells, "ridge", "naive"]}
    for train, test in folds:
        # Points up to the last training target are all the fold may learn its scaling from.
        preprocessing, X, y, _ = stock_arrays(close, config, train_end=int(target_day[train[-1]]) + 1)
        previous, actual = close[target_day[test] - config.horizon], close[target_day[test]]
        for name in scores:
            if name == "naive":
                predicted = previous
            elif name == "ridge":
                predicted = scaled_to_prices(
                    RidgeBaseline().fit(X[train], y[train]).predict(X[test]), previous, preprocessing
                )
            else:
                model = build_cell(config, prepared, name)
                model.fit(X[train], y[train], epochs=config.epochs, batch_size=config.batch_size, verbose=0)
                predicted = scaled_to_prices(model.predict(X[test], verbose=0)[:, 0], previous, preprocessing)
            scores[name].append(forecast_metrics(actual, predicted, previous)["mase"])
    return pd.DataFrame(
        [
            {"model": name, "fold_mase_mean": float(np.mean(v)), "fold_mase_std": float(np.std(v))}
            for name, v in scores.items()
        ]
    )


def _write_table(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)


def print_table(table: pd.DataFrame, title: str) -> None:
    shown = Table(title=title)
    for column in table.columns:
        shown.add_column(str(column), justify="left" if column == "model" else "right")
    for _, row in table.iterrows():
        shown.add_row(*(_format(value) for value in row))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped or captured output: do not squeeze columns to 80
    console.print(shown)


def _format(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "—"
        return f"{int(value)}" if float(value).is_integer() and abs(value) < 1e9 else f"{value:.4g}"
    return str(value)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=list(CONFIGS), help="stock prices, text characters or the adding problem")
    parser.add_argument("--config", help="repeat a run exactly from its run.json (other options then override it)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing runs of the same name")
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted experiment from its last completed epoch"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_options(parser.add_argument_group("every task"), TrainConfig)
    for task, config_class in CONFIGS.items():
        group = parser.add_argument_group(f"--task {task}")
        add_config_options(
            group, config_class, exclude=tuple(f.name for f in TrainConfig.__dataclass_fields__.values())
        )
    return parser


def config_from_args(args) -> TrainConfig:
    values = {k: v for k, v in vars(args).items() if k not in ("task", "config", "overwrite", "resume", "quiet")}
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ValueError(f"No run.json at {path}: give the run.json of a finished run.")
        base = json.loads(path.read_text())
        base = base.get("config", base)
        base.pop("cell", None)
        config = config_from_dict(base)
    elif args.task:
        config = CONFIGS[args.task]()
    else:
        raise ValueError("Say which task to train: --task stock, --task text or --task adding (or --config run.json).")
    if args.task and args.task != config.task:
        raise ValueError(f"--task {args.task} contradicts the config's task {config.task}: drop one of them.")
    allowed = set(type(config).__dataclass_fields__)
    wrong = sorted(set(values) - allowed)
    if wrong:
        raise ValueError(
            f"--{wrong[0].replace('_', '-')} does not apply to --task {config.task}: see --help for its options."
        )
    return replace(config, **values)


def main() -> int:
    args = build_parser().parse_args()
    config = config_from_args(args)
    if args.quiet:
        result = run_experiment(config, overwrite=args.overwrite, resume=args.resume)
    else:
        with make_progress() as progress:
            result = run_experiment(config, overwrite=args.overwrite, resume=args.resume, progress=progress)
    print_table(result.table, f"{config.experiment_name()}: held-back test split")
    print(f"saved: {', '.join(str(p) for p in result.runs.values())}")
    return 0


if __name__ == "__main__":
    run_command(main)
