"""The default runs the dashboard shows: AAPL prices, Shakespeare text and the adding problem
(T=50), each with simple_rnn, lstm and gru. Used by `make train-defaults` and `make run`.

Usage: python -m pipelines.defaults [--out runs] [--overwrite]
"""

from __future__ import annotations

import time

from pipelines.cli import OneLineParser, run_command
from pipelines.config import AddingConfig, StockConfig, TextConfig, TrainConfig

ALL_CELLS = ["simple_rnn", "lstm", "gru"]


def default_configs(out: str = "runs") -> list[TrainConfig]:
    """Small enough to train in a few minutes on 2 CPU cores."""
    return [
        StockConfig(cells=ALL_CELLS, epochs=10, out=out),
        TextConfig(cells=ALL_CELLS, epochs=5, units=64, max_chars=100_000, out=out),
        AddingConfig(cells=ALL_CELLS, epochs=20, length=50, samples=10_000, out=out),
    ]


def main() -> int:
    parser = OneLineParser(prog="python -m pipelines.defaults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs", help="folder for the runs (default: runs)")
    parser.add_argument("--overwrite", action="store_true", help="retrain runs that already exist")
    args = parser.parse_args()
    from pipelines.progress import make_progress
    from pipelines.train import print_table, run_experiment

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


if __name__ == "__main__":
    run_command(main)
