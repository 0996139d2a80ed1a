"""The default runs the dashboard shows: one experiment per task that has a default run (AAPL
prices, Shakespeare text) and the adding problem's length sweep, each with every cell. The
dashboard trains them in the background on first start; this command does it on the terminal.

Usage: python -m pipelines.defaults [--out runs] [--resume | --overwrite]
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

from models.cells import BACKPROP_CELLS
from pipelines.cli import OneLineParser, add_jit_compile_option, command, import_tensorflow_quietly, print_table
from pipelines.tasks import TASKS
from pipelines.tasks.config import TrainConfig


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
        base = self.config.experiment_name()
        return [f"{base}/{self.over}-{value}-seed{seed}" for value in self.values for seed in self.seeds]


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


def default_experiments(out: str = "runs") -> list[tuple[str, list[str], int]]:
    """Every default experiment (sweep trials included) as (name, cells, epochs): what the
    dashboard shows progress of while they train."""
    found = [(config.experiment_name(), config.cells, config.epochs) for config in default_configs(out)]
    for planned in default_sweeps(out):
        found += [(name, planned.config.cells, planned.config.epochs) for name in planned.trial_names()]
    return found


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.defaults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs", help="folder for the runs (default: runs)")
    add_jit_compile_option(parser)
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
    import_tensorflow_quietly()
    from pipelines.experiment import run_experiment
    from pipelines.progress import make_progress
    from pipelines.sweep import run_sweep

    started = time.perf_counter()
    for config in configs:
        print(f"training {config.experiment_name()} ({', '.join(config.cells)}, {config.epochs} epochs)")
        with make_progress() as progress:
            result = run_experiment(config, overwrite=args.overwrite, resume=args.resume, progress=progress)
        print_table(result.table, f"{config.experiment_name()}: held-back test split")
        for note in result.notes:
            print(f"note: {note}")
    for planned in sweeps:
        values = " ".join(map(str, planned.values))
        print(f"training {planned.config.experiment_name()} ({planned.over} {values}, {planned.config.epochs} epochs)")
        with make_progress() as progress:
            result = run_sweep(
                planned.config,
                planned.over,
                planned.values,
                planned.seeds,
                overwrite=args.overwrite,
                resume=args.resume,
                progress=progress,
            )
        print_table(result.summary, f"{planned.config.experiment_name()}: held-back test split")
        for note in result.notes:
            print(f"note: {note}")
    print(
        f"default runs trained in {time.perf_counter() - started:.0f} s; start the dashboard with: streamlit run app.py"
    )
    return 0


main = command(
    build_parser,
    execute,
    interrupted="finished runs are intact; `make run` (or this command with --resume) continues where it stopped.",
)


if __name__ == "__main__":
    sys.exit(main())
