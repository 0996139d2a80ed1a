"""Train every cell of an experiment on identical data, evaluate each against the task's baselines,
and save one run per cell plus the experiment's tables. The same for every task: the task decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from data import RunError
from models import GradientLogger, build_model, count_params, save_run
from models.experiment_store import (
    backup_path,
    discard_backup,
    experiment_path,
    finished_cells,
    run_path,
    save_experiment,
)
from models.gradient_log import summarize
from models.run_store import read_run_info
from models.unroll import recurrent_layers
from pipelines.progress import FitProgress
from pipelines.tasks import task_of
from pipelines.tasks.base import Baselines, Prepared, Task
from pipelines.tasks.config import TrainConfig

Report = Callable[[float, str], None]  # (fraction done, message), for callers such as a dashboard


@dataclass
class ExperimentResult:
    path: Path
    table: pd.DataFrame  # one row per cell and baseline
    runs: dict[str, Path]


@dataclass
class Setup:
    """What every cell of one experiment shares."""

    config: TrainConfig
    task: Task
    prepared: Prepared
    baselines: Baselines
    experiment: Path


def run_experiment(
    config: TrainConfig, *, overwrite: bool = False, resume: bool = False, progress=None, report: Report | None = None
) -> ExperimentResult:
    """Train every cell of `config` on identical data and save the runs.

    All validation (options, data, existing runs) happens before anything is written.
    """
    task = task_of(config)
    experiment = experiment_path(config.out, config.experiment_name())
    prepared = task.prepare(config)
    existing = [cell for cell in config.cells if run_path(experiment, cell).exists()]
    if existing and not (overwrite or resume):
        raise RunError(
            f"{experiment} already holds runs for {', '.join(existing)}: pass --overwrite to replace them, --resume to continue, or choose another --name."
        )
    tf.config.experimental.enable_op_determinism()  # same seed, same metrics
    setup = Setup(config, task, prepared, task.baselines(config, prepared), experiment)
    done = finished_cells(experiment, config.cells) if resume else []
    rows = []
    for index, cell in enumerate(config.cells):
        if cell in done:
            rows.append({"model": cell, **read_run_info(run_path(experiment, cell))["metrics"]})
            continue
        cell_report = None if report is None else _part_of(report, index, len(config.cells))
        metrics = train_cell(
            setup, cell, replace=overwrite or resume, resume=resume, progress=progress, report=cell_report
        )
        rows.append({"model": cell, **metrics})
    table = pd.DataFrame([*rows, *setup.baselines.rows])
    folds = task.fold_scores(config, prepared, lambda cell: build_cell(config, prepared, cell))
    if folds is not None:
        table = table.merge(folds, on="model", how="left")
    save_experiment(experiment, table)
    return ExperimentResult(experiment, table, {cell: run_path(experiment, cell) for cell in config.cells})


def _part_of(report: Report, index: int, count: int) -> Report:
    return lambda fraction, message: report((index + fraction) / count, message)


def build_cell(config: TrainConfig, prepared: Prepared, cell: str) -> keras.Model:
    """The same architecture, initialisation and optimizer for every cell of an experiment."""
    shape = prepared.shape
    return build_model(
        cell,
        shape.input_shape,
        units=config.units,
        layers=config.layers,
        dropout=config.dropout,
        gain=config.gain,
        clipnorm=config.clipnorm,
        learning_rate=config.learning_rate,
        n_classes=shape.n_classes,
        vocab_size=shape.vocab_size,
        embedding_dim=shape.embedding_dim,
        per_step=shape.per_step,
        seed=config.seed,
    )


def train_cell(setup: Setup, cell: str, *, replace: bool, resume: bool, progress=None, report=None) -> dict:
    """Train one cell (from its backup when resuming), evaluate it and save its run; return its metrics."""
    config, prepared = setup.config, setup.prepared
    model = build_cell(config, prepared, cell)
    backup = backup_path(setup.experiment, cell)
    if not resume:
        discard_backup(setup.experiment, cell)  # a stale backup would silently resume
    backup.mkdir(parents=True, exist_ok=True)
    probe_y = prepared.validation.y[: config.probe_size]
    logger = GradientLogger(
        prepared.validation.x[: config.probe_size],
        probe_y,
        every_n_batches=config.log_every,
        probe_weights=setup.task.probe_weights(probe_y),
    )
    steps = int(np.ceil(len(prepared.train.x) / config.batch_size))
    model.fit(
        prepared.train.x,
        prepared.train.y,
        validation_data=(prepared.validation.x, prepared.validation.y),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[
            logger,
            keras.callbacks.BackupAndRestore(str(backup / "state")),
            keras.callbacks.CSVLogger(str(backup / "history.csv"), append=True),
            FitProgress(cell, config.epochs, steps, progress, report),
        ],
    )
    history = pd.read_csv(backup / "history.csv").drop(columns="epoch")
    evaluation = setup.task.evaluate(config, prepared, model, cell, setup.baselines)
    probe_layer = recurrent_layers(model)[0].name  # its gradient must reach back to the earliest inputs
    metrics = {**evaluation.metrics, "params": count_params(model), **summarize(logger.log, probe_layer)}
    save_run(
        run_path(setup.experiment, cell),
        model,
        {**config.to_dict(), "cell": cell},
        metrics=metrics,
        preprocessing={**prepared.preprocessing, "data": prepared.data_info},
        outputs=evaluation.outputs,
        history=history,
        gradients=logger.log,
        predictions=evaluation.predictions,
        overwrite=replace,
    )
    discard_backup(setup.experiment, cell)
    return metrics
