"""Load a saved run and use it on fresh data, with the run's own preprocessing: forecast prices,
generate text, or score a synthetic-task run on sequences it has never seen.

Usage: python -m pipelines.predict RUN_DIR [options of the run's task]   (see --help)
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.cli import OneLineParser, add_task_options, command, given_options, import_tensorflow_quietly
from pipelines.tasks import TASKS, get_task
from pipelines.tasks.config import PredictOptions


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a run folder, e.g. runs/stock-AAPL/lstm")
    classes = {name: task.predict_class for name, task in TASKS.items()}
    add_task_options(parser, PredictOptions, classes, title="{} runs")
    return parser


def execute(args) -> int:
    import_tensorflow_quietly()
    from models import load_run

    run = load_run(Path(args.run_dir))
    task = get_task(str(run.config.get("task")))
    options = task.predict_class(**given_options(args, task.predict_class, task.name, exclude=("run_dir",)))
    print(task.use_saved(run, options))
    return 0


main = command(build_parser, execute, interrupted="nothing was written.", resumable=False)


if __name__ == "__main__":
    sys.exit(main())
