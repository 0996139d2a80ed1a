"""The pipeline's training time per epoch against a bare model.fit of the same model on the same
arrays: the pipeline's epochs run from its first epoch's start to its last training state saved (a
model.fit per epoch, the GradientLogger, the progress callback, the state file), the bare fit is one
model.fit over the same epochs with validation and no callbacks. Alternately, in one process; the
time spent inside the GradientLogger is measured within the pipeline's own runs.

Usage: python bench/bench_pipeline_epoch.py [--repeats 3] [--cell lstm] [--length 50] [--batch-size 64]
       [--jit-compile auto]
"""

import argparse
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pipelines.cli import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import pipelines.experiment as experiment  # noqa: E402
from models import GradientLogger  # noqa: E402
from models.execution import compile_model  # noqa: E402
from pipelines.tasks.adding import AddingConfig  # noqa: E402

BUDGET = {"length": 50, "samples": 10_000, "epochs": 3, "units": 32, "batch_size": 64}


class Clock:
    """Marks the pipeline's epoch loop (its trainer made, each epoch's state saved) and the logger's time."""

    def __init__(self):
        self.loop_start, self.epoch_ends, self.in_logger = None, [], 0.0
        trainer, record = experiment.epoch_trainer, GradientLogger.record

        def timed_trainer(*args, **kwargs):
            made = trainer(*args, **kwargs)
            self.loop_start = time.perf_counter()
            return made

        def timed_record(logger):
            started = time.perf_counter()
            record(logger)
            self.in_logger += time.perf_counter() - started

        experiment.epoch_trainer = timed_trainer
        GradientLogger.record = timed_record
        experiment.fault_point = lambda point: self.epoch_ends.append(time.perf_counter())


def pipeline_run(root: str, config: AddingConfig, clock: Clock) -> tuple[float, float]:
    """(seconds per epoch, seconds per epoch inside the logger) of one pipeline training."""
    clock.epoch_ends, clock.in_logger = [], 0.0
    shutil.rmtree(root, ignore_errors=True)
    experiment.run_experiment(config)
    epochs = len(clock.epoch_ends)
    return (clock.epoch_ends[-1] - clock.loop_start) / epochs, clock.in_logger / epochs


def bare_run(config: AddingConfig, prepared, cell: str) -> float:
    """Seconds per epoch of one model.fit of the same model over the same epochs, compiled as the pipeline's."""
    model = experiment.build_cell(config, prepared, cell)
    compile_model(model, experiment.execution_of(config, prepared, cell).compiled)
    keras.utils.set_random_seed(config.seed)
    validation = (prepared.validation.x, prepared.validation.y)
    started = time.perf_counter()
    model.fit(
        prepared.train.x,
        prepared.train.y,
        validation_data=validation,
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=0,
    )
    return (time.perf_counter() - started) / config.epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternating pairs after a warm-up (default: 3)")
    parser.add_argument("--cell", default="lstm", help="the cell trained (default: lstm)")
    parser.add_argument("--length", type=int, default=BUDGET["length"])
    parser.add_argument("--batch-size", type=int, default=BUDGET["batch_size"])
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "on", "off"])
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-epoch-")
    budget = {**BUDGET, "length": args.length, "batch_size": args.batch_size, "jit_compile": args.jit_compile}
    config = AddingConfig(cells=[args.cell], out=root, name="bench", **budget)
    prepared = experiment.task_of(config).prepare(config)
    clock = Clock()
    execution = experiment.execution_of(config, prepared, args.cell)
    print(
        f"{args.cell}({config.units}), adding T={config.length}, {len(prepared.train.x)} training sequences, "
        f"batch {config.batch_size}, {config.epochs} epochs, {execution.label} ({execution.why}); "
        f"logger every {config.log_every} batches and at epoch ends"
    )
    pipeline_run(root, config, clock), bare_run(config, prepared, args.cell)  # warm-up: first-call costs
    ratios, shares, without_logger = [], [], []
    for repeat in range(args.repeats):
        first_pipeline = repeat % 2 == 0
        if not first_pipeline:
            bare = bare_run(config, prepared, args.cell)
        per_epoch, logger = pipeline_run(root, config, clock)
        if first_pipeline:
            bare = bare_run(config, prepared, args.cell)
        ratios.append(per_epoch / bare)
        shares.append(logger / bare)
        without_logger.append((per_epoch - logger) / bare)
        print(
            f"  repeat {repeat + 1}: bare fit {bare:.2f} s/epoch, pipeline {per_epoch:.2f} s/epoch "
            f"(ratio {ratios[-1]:.3f}), inside the logger {logger:.3f} s/epoch",
            flush=True,
        )
    print(
        f"pipeline / bare model.fit per epoch: median {np.median(ratios):.3f} (range {min(ratios):.3f} to {max(ratios):.3f}; target <= 1.05)"
    )
    print(
        f"of which the GradientLogger: median {np.median(shares):.3f} of a bare epoch (its probe is traced once per model)"
    )
    print(
        f"pipeline without the logger's time / bare model.fit: median {np.median(without_logger):.3f} "
        f"(range {min(without_logger):.3f} to {max(without_logger):.3f})"
    )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
