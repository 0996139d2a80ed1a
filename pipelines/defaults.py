"""The default runs the dashboard shows: one experiment per task that has a default run (AAPL
prices, Shakespeare text, the adding problem), each with every cell. Used by `make run`.

Usage: python -m pipelines.defaults [--out runs] [--overwrite]
"""

from __future__ import annotations

import sys
import time

from models.cells import CELLS
from pipelines.cli import OneLineParser, command, print_table
from pipelines.tasks import TASKS
from pipelines.tasks.config import TrainConfig


def default_configs(out: str = "runs") -> list[TrainConfig]:
    """Small enough to train in a few minutes on 2 CPU cores."""
    return [
        task.config_class(cells=list(CELLS), out=out, **task.default_run)
        for task in TASKS.values()
        if task.default_run is not None
    ]


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.defaults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs", help="folder for the runs (default: runs)")
    parser.add_argument("--overwrite", action="store_true", help="retrain runs that already exist")
    return parser


def execute(args) -> int:
    from pipelines.experiment import run_experiment
    from pipelines.progress import make_progress

    started = time.perf_counter()
    for config in default_configs(args.out):
        print(f"training {config.experiment_name()} ({', '.join(config.cells)}, {config.epochs} epochs)")
        with make_progress() as progress:
            result = run_experiment(config, overwrite=args.overwrite, progress=progress)
        print_table(result.table, f"{config.experiment_name()}: held-back test split")
    print(
        f"default runs trained in {time.perf_counter() - started:.0f} s; start the dashboard with: streamlit run app.py"
    )
    return 0


main = command(build_parser, execute)


if __name__ == "__main__":
    sys.exit(main())
