"""The default runs the dashboard shows: one experiment per task that has a default run (AAPL
prices, Shakespeare text) and the adding problem's length sweep, each with every cell. The
dashboard trains them in the background on first start; this command does it on the terminal.

Usage: python -m pipelines.defaults [--out runs] [--resume | --overwrite]
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from models.cells import BACKPROP_CELLS
from pipelines.cli import OneLineParser, add_jit_compile_option, command, import_tensorflow_quietly, print_table
from pipelines.tasks import TASKS
from pipelines.tasks.config import TrainConfig
from pipelines.trials import Trial, add_parallel_options, parallel_of, report_failures, train_trials


def default_configs(out: str = "runs") -> list[TrainConfig]:
    """Small enough to train in a few minutes on 2 CPU cores."""
    return [
        task.config_class(cells=list(BACKPROP_CELLS), out=out, **task.default_run)
        for task in TASKS.values()
        if task.default_run is not None
    ]


@dataclass
class DefaultSweep:
    config: TrainConfig  # the options every trial shares, with the sweep's name
    over: str
    values: list
    seeds: list[int]

    def trial_names(self) -> list[str]:
        from models.experiment_store import value_trial_name

        base = self.config.experiment_name()
        return [value_trial_name(base, self.over, value, seed) for value in self.values for seed in self.seeds]

    def landed(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The trials saved so far, as the (trials, summary) tables the finished sweep will save: what the
        Overview draws while the rest still trains. Each trial's table is verified by the store."""
        from models.experiment_store import experiment_path, finished_cells, load_experiment
        from pipelines.sweep import summarise

        rows = []
        names = iter(self.trial_names())
        for value in self.values:
            for seed in self.seeds:
                folder = experiment_path(self.config.out, next(names))
                if not (folder / "comparison.csv").is_file():
                    continue
                if finished_cells(folder, self.config.cells) != self.config.cells:
                    continue
                table = load_experiment(folder).comparison.set_index("model")
                rows += [
                    {self.over: value, "seed": seed, "cell": cell, **table.loc[cell]} for cell in self.config.cells
                ]
        trials = pd.DataFrame(rows)
        if not rows:
            return trials, trials
        return trials, summarise(trials, self.over, TASKS[self.config.task].headline)


@dataclass
class PlannedExperiment:
    """One default experiment (a sweep's trial or a run of its own) as the first start trains it."""

    name: str
    cells: list[str]
    epochs: int
    work: float  # what one epoch of one cell costs, roughly, in seconds (see epoch_work)


def default_sweeps(out: str = "runs") -> list[DefaultSweep]:
    return [
        DefaultSweep(
            task.config_class(**{"cells": list(BACKPROP_CELLS), **task.default_sweep["options"], "out": out}),
            task.default_sweep["over"],
            list(task.default_sweep["values"]),
            list(task.default_sweep["seeds"]),
        )
        for task in TASKS.values()
        if task.default_sweep is not None
    ]


def default_experiments(out: str = "runs") -> list[PlannedExperiment]:
    """Every default experiment, sweep trials first, in the order `execute` trains them: what the
    dashboard shows progress of, and estimates the time left from, while they train."""
    found = []
    for planned in default_sweeps(out):
        for name, value in zip(planned.trial_names(), [v for v in planned.values for _ in planned.seeds], strict=True):
            config = replace(planned.config, **{planned.over: value})
            found.append(PlannedExperiment(name, config.cells, config.epochs, epoch_work(config)))
    for config in default_configs(out):
        found.append(PlannedExperiment(config.experiment_name(), config.cells, config.epochs, epoch_work(config)))
    return found


# Seconds per compiled epoch ~ EPOCH_FIXED + EPOCH_RATE x prepared bytes x units^2, fitted by eye to the epochs
# measured in BENCHMARKS.md ("The default runs end to end", "Text budget"): 0.5-1.0 s for the adding problem
# at T = 10-100 (32 units), about 0.5 s for AAPL, 17-35 s for the Shakespeare cells (128 units, 28 MB).
EPOCH_FIXED, EPOCH_RATE = 0.5, 5e-11
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)  # trials trained at once on a local Ray
CELL_START = 3.0  # s: building a cell and tracing its steps, paid before its first epoch


def epoch_work(config: TrainConfig) -> float:
    """A rough estimate of one epoch's seconds, for the share of the work each epoch stands for (the time
    left is this start's own pace, so only the ratios between experiments matter)."""
    return EPOCH_FIXED + EPOCH_RATE * TASKS[config.task].estimated_bytes(config) * config.units**2


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.defaults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs", help="folder for the runs (default: runs)")
    add_jit_compile_option(parser)
    add_parallel_options(parser, default_workers=DEFAULT_WORKERS)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="retrain runs that already exist")
    mode.add_argument(
        "--resume", action="store_true", help="finish what an interrupted first training left (make run does this)"
    )
    return parser


def unfinished(configs: list[TrainConfig]) -> list[TrainConfig]:
    """The default experiments that lack a cell's finished run or their comparison table."""
    from models.experiment_store import experiment_path, finished_cells, list_experiments

    done = set(list_experiments(configs[0].out)) if configs else set()
    return [
        config
        for config in configs
        if config.experiment_name() not in done
        or finished_cells(experiment_path(config.out, config.experiment_name()), config.cells) != config.cells
    ]


def unfinished_sweeps(sweeps: list[DefaultSweep]) -> list[DefaultSweep]:
    """The default sweeps without their summary table (written once every trial is saved)."""
    from models.experiment_store import experiment_path, is_sweep

    return [s for s in sweeps if not is_sweep(experiment_path(s.config.out, s.config.experiment_name()))]


def defaults_complete(out: str = "runs") -> bool:
    return not unfinished(default_configs(out)) and not unfinished_sweeps(default_sweeps(out))


def execute(args) -> int:
    configs = [replace(config, jit_compile=args.jit_compile) for config in default_configs(args.out)]
    sweeps = [replace(s, config=replace(s.config, jit_compile=args.jit_compile)) for s in default_sweeps(args.out)]
    if not args.overwrite:
        configs, sweeps = unfinished(configs), unfinished_sweeps(sweeps)
    if args.resume and not configs and not sweeps:
        print(f"the default runs in {args.out}/ are complete")
        return 0
    from models.experiment_store import check_writable, experiment_lock, experiment_path

    parallel = parallel_of(args)
    check_writable(args.out)
    Path(args.out).mkdir(parents=True, exist_ok=True)  # where every Ray worker writes its trial
    if parallel is None:  # on Ray, only the workers train
        import_tensorflow_quietly()
    from pipelines.progress import make_progress
    from pipelines.sweep import save_sweep_tables, trials_of

    # The adding sweep first: it is the Overview's story, shown as soon as it lands.
    sweep_trials = [trials_of(p.config, p.over, p.values, p.seeds) for p in sweeps]
    trials = [trial for planned in sweep_trials for trial in planned]
    trials += [Trial(config.experiment_name(), config) for config in configs]
    workers = "one after another" if parallel is None else f"{parallel.workers} at a time on a local Ray"
    print(
        f"training {len(trials)} default experiments ({workers}): "
        + ", ".join(t.config.experiment_name() for t in trials)
    )
    started = time.perf_counter()
    with ExitStack() as locks, make_progress() as progress:
        for planned in sweeps:
            locks.enter_context(experiment_lock(experiment_path(planned.config.out, planned.config.experiment_name())))
        outcomes = train_trials(trials, parallel, overwrite=args.overwrite, resume=args.resume, progress=progress)
        results, first = [], 0
        for planned, its_trials in zip(sweeps, sweep_trials, strict=True):
            mine, first = outcomes[first : first + len(its_trials)], first + len(its_trials)
            results.append(save_sweep_tables(planned.config, planned.over, its_trials, mine))
    failed = []
    for trial, outcome in zip(trials[first:], outcomes[first:], strict=True):  # the default experiments
        if outcome.table is not None:
            print_table(outcome.table, f"{trial.config.experiment_name()}: held-back test split")
        failed += [trial.label] if outcome.table is None else []
    for planned, result in zip(sweeps, results, strict=True):
        if len(result.summary):
            print_table(result.summary, f"{planned.config.experiment_name()}: held-back test split")
        failed += result.failed
    for note in [note for outcome in outcomes for note in outcome.notes]:
        print(f"note: {note}")
    print(
        f"default runs trained in {time.perf_counter() - started:.0f} s; start the dashboard with: streamlit run app.py"
    )
    return report_failures(failed, len(trials))


main = command(
    build_parser,
    execute,
    interrupted="finished runs are intact; `make run` (or this command with --resume) continues where it stopped.",
)


if __name__ == "__main__":
    sys.exit(main())
