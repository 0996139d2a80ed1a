"""Load a saved run and use it: forecast prices, generate text or score the adding problem,
with the run's own preprocessing.

Usage: python -m pipelines.predict RUN_DIR [--ticker T --source S | --csv FILE] [--prompt P --temperature 0.8 --length 300]
       (adding-problem runs are scored on fresh sequences: --samples N --seed S)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.cli import OneLineParser, run_command


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a run folder, e.g. runs/stock-AAPL/lstm")
    prices = parser.add_argument_group("stock runs")
    prices.add_argument("--ticker", help="ticker to forecast (default: the run's)")
    prices.add_argument("--source", help="bundled, yfinance or auto (default: the run's)")
    prices.add_argument("--csv", help="forecast from this CSV (Date and Close columns) instead")
    prices.add_argument("--start", help="first date of the history to read, YYYY-MM-DD")
    prices.add_argument("--end", help="last date of the history to read, YYYY-MM-DD")
    prices.add_argument("--show", type=int, default=10, help="how many of the latest forecasts to print (default: 10)")
    text = parser.add_argument_group("text runs")
    text.add_argument("--prompt", default="ROMEO:\n", help="text to continue (default: 'ROMEO:\\n')")
    text.add_argument(
        "--temperature", type=float, default=0.8, help="0 is greedy, 1 samples the model as is (default: 0.8)"
    )
    text.add_argument("--length", type=int, default=300, help="characters to generate (default: 300)")
    text.add_argument(
        "--seed", type=int, default=0, help="sampling seed, or the adding problem's generator seed (default: 0)"
    )
    adding = parser.add_argument_group("adding-problem runs")
    adding.add_argument("--samples", type=int, default=1000, help="fresh sequences to score (default: 1000)")
    return parser


def main() -> int:
    args = build_parser().parse_args()
    from data import load_prices
    from models import load_run
    from models.inference import forecast, generate

    run = load_run(Path(args.run_dir))
    kind = run.preprocessing.get("kind")
    if kind == "text":
        print(generate(run.model, run.preprocessing, args.prompt, args.length, args.temperature, args.seed))
        return 0
    if kind == "adding":
        return score_adding(run, args.samples, args.seed)
    if kind != "stock":
        raise ValueError(
            f"{args.run_dir} holds a {kind!r} run, which predict does not know: retrain it with this version."
        )
    config = run.config
    source = args.csv or args.source or config.get("source", "bundled")
    prices = load_prices(args.ticker or config.get("ticker", "AAPL"), args.start, args.end, source)
    table = forecast(run.model, prices, run.preprocessing)
    note = prices.attrs.get("source_note", "")
    print(f"{run.path}: {config.get('cell')} forecasts {run.preprocessing['horizon']} day(s) ahead; {note}")
    shown = table.tail(args.show).copy()
    shown["date"] = shown["date"].dt.strftime("%Y-%m-%d").fillna("next")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


def score_adding(run, samples: int, seed: int) -> int:
    """Score the run on freshly generated sequences (a seed the training never used by default)."""
    from data import ADDING_BASELINE_MSE, adding_problem

    x, y = adding_problem(samples, run.preprocessing["length"], seed=10_000 + seed)
    predicted = run.model.predict(x, verbose=0)
    mse = float(np.mean((predicted - y) ** 2))
    print(f"{run.path}: {run.config.get('cell')} on {samples} fresh sequences of length {run.preprocessing['length']}")
    for target, guess in list(zip(y[:5, 0], predicted[:5, 0], strict=True)):
        print(f"  target {target:.3f}  predicted {guess:.3f}")
    print(f"MSE {mse:.5f} (predicting the mean: {ADDING_BASELINE_MSE:.5f})")
    return 0


if __name__ == "__main__":
    run_command(main)
