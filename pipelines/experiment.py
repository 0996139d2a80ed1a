"""Train every cell of an experiment on identical data, evaluate each against the task's baselines,
and save one run per cell plus the experiment's tables. The same for every task: the task decides.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from models import GradientLogger, build_model, count_params, save_run
from models.cells import CELLS, trains_by_gradient
from models.custom_fit import fit_epoch, make_train_step
from models.distribution import distribution_scope
from models.execution import Execution, choose_execution, compile_model, on_gpu, probe_compiled
from models.experiment_store import ExperimentWriter
from models.faults import batch_fault_callbacks, fault_point
from models.gradient_log import summarize
from models.reseed import reseed
from models.reservoir import build_reservoir_model, fit_readout, memory_capacity
from models.training_state import TrainingState, load_training_state, save_training_state
from models.unroll import recurrent_layers
from pipelines.fit_progress import FitProgress
from pipelines.memory import check_memory
from pipelines.tasks import task_of
from pipelines.tasks.base import Baselines, Evaluation, Prepared, Split, Task
from pipelines.tasks.config import TrainConfig

Report = Callable[[float, str], None]  # (fraction done, message), for callers such as a dashboard
# Batches per call into the training step: Keras' loop costs about 0.5-0.7 ms a call on this machine, as
# much as a compiled batch at T = 10; ten a call made those fits 1.7x faster (bench/bench_compiled_parts.py).
STEPS_PER_CALL = 10


@dataclass
class ExperimentResult:
    path: Path
    table: pd.DataFrame  # one row per cell (of this experiment folder, not only this call) and baseline
    runs: dict[str, Path]
    notes: list[str] = field(default_factory=list)  # what the user must know: a diverged cell, say


@dataclass
class Setup:
    """What every cell of one experiment shares."""

    config: TrainConfig
    task: Task
    prepared: Prepared
    baselines: Baselines
    writer: ExperimentWriter
    notes: list[str] = field(default_factory=list)  # what training found that the user must know


def run_experiment(
    config: TrainConfig, *, overwrite: bool = False, resume: bool = False, progress=None, report: Report | None = None
) -> ExperimentResult:
    """Train every cell of `config` on identical data and save the runs.

    All validation (options, memory, data, existing runs) happens before anything is written; the
    experiment is locked while it is written; cells already in the folder are kept in its tables.
    """
    task = task_of(config)
    request = config.request(overwrite=overwrite, resume=resume)
    request.check()  # refuse before preparing data
    check_memory(task, config)
    prepared = task.prepare(config)
    baselines = task.baselines(config, prepared)
    tf.config.experimental.enable_op_determinism()  # same seed, same metrics
    with request.open() as writer:
        setup = Setup(config, task, prepared, baselines, writer)
        rows, notes = [], []
        for index, cell in enumerate(config.cells):
            if cell not in writer.todo:
                rows.append({"model": cell, **writer.saved_metrics(cell)})
                continue
            cell_report = None if report is None else _part_of(report, index, len(config.cells))
            metrics = train_cell(setup, cell, resume=resume, progress=progress, report=cell_report)
            if "diverged_epoch" in metrics:
                remedy = "lower --learning-rate" + ("" if config.clipnorm else " or add --clipnorm")
                notes.append(
                    f"{cell}: the loss diverged at epoch {metrics['diverged_epoch']}; {remedy} "
                    "(the run is saved with NaN metrics)."
                )
            rows.append({"model": cell, **metrics})
        table = pd.DataFrame(rows)
        folds = task.fold_scores(config, prepared, lambda cell, x, y: fit_fold(config, prepared, cell, x, y))
        if folds is not None:
            table = table.merge(folds[folds["model"].isin(config.cells)], on="model", how="left")
        kept = writer.earlier_rows([c for c in CELLS if c not in config.cells])
        baseline_rows = pd.DataFrame(baselines.rows)
        if folds is not None:
            baseline_rows = baseline_rows.merge(folds, on="model", how="left")
        table = pd.concat([t for t in (table, kept, baseline_rows) if t is not None and len(t)], ignore_index=True)
        order = {name: i for i, name in enumerate([*CELLS, *baseline_rows["model"]])}
        table = table.sort_values("model", key=lambda names: names.map(order), kind="stable", ignore_index=True)
        writer.finish(table)
    runs = {cell: writer.run_folder(cell) for cell in table["model"] if cell in CELLS}
    return ExperimentResult(writer.path, table, runs, notes + setup.notes)


def _part_of(report: Report, index: int, count: int) -> Report:
    return lambda fraction, message: report((index + fraction) / count, message)


def build_cell(config: TrainConfig, prepared: Prepared, cell: str) -> keras.Model:
    """The same architecture, initialisation and optimizer for every cell of an experiment (an esn:
    the same units, input and head, around a fixed reservoir)."""
    shape = prepared.shape
    if not trains_by_gradient(cell):
        return build_reservoir_model(
            shape.input_shape,
            units=config.units,
            spectral_radius=config.spectral_radius,
            leak_rate=config.leak_rate,
            n_classes=shape.n_classes,
            vocab_size=shape.vocab_size,
            embedding_dim=shape.embedding_dim,
            per_step=shape.per_step,
            seed=config.seed,
        )
    return build_model(
        cell,
        shape.input_shape,
        units=config.units,
        layers=config.layers,
        dropout=config.dropout,
        gain=config.gain,
        init=config.init,
        forget_bias=config.forget_bias,
        gate_init=config.gate_init,
        clipnorm=config.clipnorm,
        learning_rate=config.learning_rate,
        n_classes=shape.n_classes,
        vocab_size=shape.vocab_size,
        embedding_dim=shape.embedding_dim,
        per_step=shape.per_step,
        seed=config.seed,
    )


def train_cell(setup: Setup, cell: str, *, resume: bool, progress=None, report=None) -> dict:
    """Train one cell epoch by epoch (from its saved state when resuming), evaluate it and save its
    run; return its metrics. After every epoch the whole training state is saved in one file. With
    --distribute, the model is built, restored, trained and saved under the strategy's scope."""
    config, prepared = setup.config, setup.prepared
    with distribution_scope(config.distribute):
        model = build_cell(config, prepared, cell)
        execution = execution_of(config, prepared, cell)
        if compile_model(model, execution.compiled) != execution.compiled:
            setup.notes.append(f"{cell}: Keras cannot compile this model with XLA here; it trained op by op.")
            execution = Execution(False, "Keras refused XLA for this model")
        writer, by_gradient = setup.writer, trains_by_gradient(cell)
        state_file = writer.state_file(cell)
        probe_y = prepared.validation.y[: config.probe_size]
        logger = GradientLogger(
            prepared.validation.x[: config.probe_size],
            probe_y,
            every_n_batches=config.log_every,
            probe_weights=setup.task.probe_weights(probe_y),
            truncate_every=config.tbptt,
            jit_compile=probe_compiled(config.jit_compile),
            log_dir=tensorboard_dir(config, cell),
        )
        state = TrainingState(options=writer.options)
        if resume and state_file.is_file():
            state = load_training_state(state_file, model)
            logger.restore(state.log)
        else:
            writer.discard_state(cell)  # a stale state would silently resume
        steps = int(np.ceil(len(prepared.train.x) / config.batch_size))
        bar = FitProgress(f"{cell}, {execution.label}", config.epochs, steps, progress, report)
        diverged = next((i + 1 for i, row in enumerate(state.history) if not np.isfinite(row["loss"])), None)
        if not by_gradient:  # a reservoir's readout is fitted in one go: no epochs
            state.history, epochs = [fit_reservoir(model, prepared, config, logger, execution.compiled)], range(0)
        else:
            callbacks = [logger, bar, *setup.task.epoch_callbacks(config, prepared, cell), *batch_fault_callbacks()]
            train_epoch = epoch_trainer(model, prepared, config, callbacks, execution.compiled)
            epochs = range(state.epochs_done, config.epochs if diverged is None else state.epochs_done)
        for epoch in epochs:
            # Each epoch's shuffling follows from (seed, epoch) alone, so a resumed run repeats exactly.
            reseed(epoch_seed(config.seed, epoch))
            started = time.perf_counter()
            row = train_epoch(epoch)
            # wall time stays in history.csv, not in the metrics: the same seed must give the same metrics
            state.history.append({**row, "seconds": time.perf_counter() - started})
            state.epochs_done, state.log = epoch + 1, logger.log
            save_training_state(state_file, model, state)
            fault_point("epoch")
            if not np.isfinite(state.history[-1]["loss"]):
                diverged = epoch + 1  # exploding gradients: a result to save, not a crash
                break
        state.log = logger.log  # an esn's one record too (it has no epochs to save it after)
        history = pd.DataFrame(state.history)
        probe_layer = recurrent_layers(model)[0].name  # its gradient must reach back to the earliest inputs
        if diverged is None:
            evaluation = setup.task.evaluate(config, prepared, model, cell, setup.baselines)
        else:
            evaluation = Evaluation(
                {key: float("nan") for row in setup.baselines.rows for key in row if key != "model"}
            )
            evaluation.metrics["diverged_epoch"] = diverged
        metrics = {
            **evaluation.metrics,
            "params": count_params(model),
            **summarize(logger.log, probe_layer, setup.task.solved_loss),
        }
        if not by_gradient:
            capacity = memory_capacity(model)
            if capacity is not None:
                metrics["memory_capacity"] = capacity
        save_run(
            writer.run_folder(cell),
            model,
            {**config.to_dict(), "cell": cell},
            metrics=metrics,
            preprocessing={**prepared.preprocessing, "data": prepared.data_info},
            outputs=evaluation.outputs,
            history=history,
            gradients=state.log,
            predictions=evaluation.predictions,
            execution={"compiled": execution.compiled, "why": execution.why},
            overwrite=True,  # the request allowed only runs of this project to be replaced
        )
        writer.discard_state(cell)
        return metrics


def fit_fold(config: TrainConfig, prepared: Prepared, cell: str, x: np.ndarray, y: np.ndarray) -> keras.Model:
    """A fresh model of `cell` trained on one walk-forward fold's windows as train_cell trains a cell
    (its execution, the per-epoch reseeding, the same epoch trainer), stopped if the loss diverges
    (its forecasts are then NaN, as a diverged cell's metrics are); no gradient log, no run saved."""
    model = build_cell(config, prepared, cell)
    compiled = compile_model(model, execution_of(config, prepared, cell).compiled)
    fold = replace(prepared, train=Split(x, y), validation=None)  # the fold's own test days stay unseen
    train_epoch = epoch_trainer(model, fold, config, [], compiled)
    for epoch in range(config.epochs):
        reseed(epoch_seed(config.seed, epoch))
        if not np.isfinite(train_epoch(epoch)["loss"]):
            break
    return model


def epoch_trainer(model: keras.Model, prepared: Prepared, config: TrainConfig, callbacks: list, compiled: bool):
    """A function that trains `model` for one epoch and returns fit's history row: model.fit itself,
    or the custom step of --tbptt and --penalty (which shuffles with numpy from the epoch's seed, not
    with fit's own shuffle: the same seed repeats either path exactly, but not one path by the other).
    Without a validation split (a walk-forward fold), the row has no val_loss."""
    train = prepared.train
    validation = None if prepared.validation is None else (prepared.validation.x, prepared.validation.y)
    if config.tbptt is None and not config.penalty:
        if config.distribute == "none":  # under MirroredStrategy, Keras' multi-step loop fails to run (TF 2.21)
            batches = int(np.ceil(len(train.x) / config.batch_size))
            model.steps_per_execution = steps_per_call(config.log_every, batches)

        def fit_once(epoch: int) -> dict:
            fitted = model.fit(
                train.x,
                train.y,
                validation_data=validation,
                initial_epoch=epoch,
                epochs=epoch + 1,
                batch_size=config.batch_size,
                shuffle=True,
                verbose=0,
                callbacks=callbacks,
            )
            return {key: float(values[-1]) for key, values in fitted.history.items()}

        return fit_once
    step = make_train_step(model, truncate_every=config.tbptt, penalty=config.penalty, compiled=compiled)

    def custom_once(epoch: int) -> dict:
        order = np.random.default_rng(epoch_seed(config.seed, epoch)).permutation(len(train.x))
        return fit_epoch(
            model,
            step,
            train.x,
            train.y,
            epoch=epoch,
            batch_size=config.batch_size,
            order=order,
            validation=validation,
            callbacks=callbacks,
        )

    return custom_once


def fit_reservoir(
    model: keras.Model, prepared: Prepared, config: TrainConfig, logger: GradientLogger, compiled: bool
) -> dict:
    """An esn's whole training: the readout fitted once, then one probe of its gradient through time
    (the reservoir's own sensitivity to the past, which no training changes). Its history row."""
    started = time.perf_counter()
    fit_readout(model, prepared.train.x, prepared.train.y, ridge=config.ridge, compiled=compiled)
    seconds = time.perf_counter() - started
    logger.set_model(model)
    logger.on_train_begin()
    logger.record()
    loss = model.evaluate(prepared.train.x, prepared.train.y, batch_size=config.batch_size, verbose=0)
    val_loss = model.evaluate(prepared.validation.x, prepared.validation.y, batch_size=config.batch_size, verbose=0)
    return {"loss": float(loss), "val_loss": float(val_loss), "seconds": seconds}


def tensorboard_dir(config: TrainConfig, cell: str) -> str | None:
    """Where --tensorboard DIR puts a cell's TensorBoard log: DIR/<experiment>/<cell>, a run of its own."""
    return None if config.tensorboard is None else str(Path(config.tensorboard) / config.experiment_name() / cell)


def steps_per_call(log_every: int, batches_per_epoch: int) -> int:
    """Training batches per call into Keras' step (its steps_per_execution): up to STEPS_PER_CALL, and a
    divisor of the epoch's batches and of the logger's cadence, so that every record still falls on its
    own batch (Keras counts the calls of an epoch from its first batch). The same updates in the same
    order, so the same bits; only Python's share of each batch shrinks."""
    whole = math.gcd(log_every, batches_per_epoch)  # gcd(0, n) = n: records only at epoch ends
    return max(d for d in range(1, STEPS_PER_CALL + 1) if whole % d == 0)


def execution_of(config: TrainConfig, prepared: Prepared, cell: str) -> Execution:
    """How this cell's steps run (--jit-compile, resolved for its shape, budget and device)."""
    if config.distribute != "none" and config.jit_compile == "auto":
        return Execution(False, "auto: Keras compiles nothing under tf.distribute")
    batches = config.epochs * int(np.ceil(len(prepared.train.x) / config.batch_size))
    return choose_execution(
        config.jit_compile,
        cell=cell,
        units=config.units,
        time_steps=int(prepared.shape.input_shape[0]),
        layers=config.layers,
        batches=batches,
        on_gpu=on_gpu(),
        custom_step=config.tbptt is not None or config.penalty > 0,
    )


def epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
