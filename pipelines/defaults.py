"""The default runs the dashboard shows: one experiment per task that has a default run (AAPL
prices, Shakespeare text, the adding problem), each with every cell. Used by `make run`.

Usage: python -m pipelines.defaults [--out runs] [--resume | --overwrite]
"""

from __future__ import annotations

import sys
import time

from models.cells import CELLS
from pipelines.cli import OneLineParser, command, import_tensorflow_quietly, print_table
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


def execute(args) -> int:
    configs = default_configs(args.out)
    todo = configs if args.overwrite else unfinished(configs)
    if args.resume and not todo:
        print(f"the default runs in {args.out}/ are complete")
        return 0
    import_tensorflow_quietly()
    from pipelines.experiment import run_experiment
    from pipelines.progress import make_progress

    started = time.perf_counter()
    for config in todo:
        print(f"training {config.experiment_name()} ({', '.join(config.cells)}, {config.epochs} epochs)")
        with make_progress() as progress:
            result = run_experiment(config, overwrite=args.overwrite, resume=args.resume, progress=progress)
        print_table(result.table, f"{config.experiment_name()}: held-back test split")
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
