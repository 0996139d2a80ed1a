"""The text task's training budget: bits per character on the held-back text against the seconds it
costs, per cell, for the default run and an alternative or two, each cell trained by a fresh
`python -m pipelines.train --task text` (one intra-op thread, as every training here), one at a time.
Also times the sample written after each epoch (models.epoch_samples.EpochSamples) on a trained run.

Usage: python bench/bench_text_budget.py [--budgets default old] [--cells simple_rnn lstm gru] [--out DIR]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up lines would bury the table

from pipelines.tasks.text import TextTask  # noqa: E402 (after the path: the checkout's own code)

# Options beside --task text; "default" is the text task's default_run as this checkout has it.
BUDGETS = {
    "default": dict(TextTask.default_run),
    "old": {"epochs": 5, "units": 64, "max_chars": 100_000},  # the default before issue 22
    "three-epochs": {**TextTask.default_run, "epochs": 3},
    "whole-corpus": {**TextTask.default_run, "max_chars": None, "epochs": 3},
}
GOAL = 2.5  # bits per character on the held-back text, for the LSTM and the GRU


def options(budget: dict) -> list[str]:
    argv = []
    for name, value in budget.items():
        argv += [f"--{name.replace('_', '-')}", "none" if value is None else str(value)]
    return argv


def train(budget: str, cell: str, out: Path) -> dict:
    """One cell of one budget, trained by the command line; its metrics and times."""
    argv = [sys.executable, "-m", "pipelines.train", "--task", "text", "--cells", cell, "--quiet", "--overwrite"]
    argv += ["--out", str(out), "--name", budget, *options(BUDGETS[budget])]
    started = time.perf_counter()
    subprocess.run(argv, cwd=HERE, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    run = out / budget / cell
    metrics = json.loads((run / "run.json").read_text())["metrics"]
    history = pd.read_csv(run / "history.csv")
    return {
        "budget": budget,
        "cell": cell,
        "val_bpc": metrics["val_bpc"],
        "test_bpc": metrics["test_bpc"],
        "epochs": len(history),
        "training_s": history["seconds"].sum(),
        "command_s": wall,
    }


def sample_seconds(run: Path, repeats: int = 3) -> tuple[float, float]:
    """(first, median of the next) seconds of one epoch's sample, as EpochSamples writes it, on a saved run."""
    from models.run_store import load_run
    from pipelines.tasks.text import EPOCH_SAMPLE_TEMPERATURE, SAMPLE_LENGTH

    loaded = load_run(run)
    prompt = loaded.info["outputs"]["prompt"]
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        loaded.generate(prompt, SAMPLE_LENGTH, EPOCH_SAMPLE_TEMPERATURE, seed=0)
        times.append(time.perf_counter() - started)
    return times[0], float(pd.Series(times[1:]).median())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", nargs="+", default=["default", "old"], choices=list(BUDGETS))
    parser.add_argument("--cells", nargs="+", default=["simple_rnn", "lstm", "gru"])
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder, removed)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-text-"))
    rows = []
    for budget in args.budgets:
        print(f"{budget}: {' '.join(options(BUDGETS[budget]))}", flush=True)
        for cell in args.cells:
            rows.append(train(budget, cell, out))
            row = rows[-1]
            print(
                f"  {cell}: val {row['val_bpc']:.3f} bpc, test {row['test_bpc']:.3f} bpc; "
                f"{row['training_s']:.0f} s training, {row['command_s']:.0f} s the whole command",
                flush=True,
            )
    table = pd.DataFrame(rows)
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3f}" if v < 10 else f"{v:.0f}"))
    for budget, group in table.groupby("budget", sort=False):
        gated = group[group["cell"].isin(["lstm", "gru"])]
        verdict = "reach" if len(gated) and (gated["val_bpc"] <= GOAL).all() else "do not reach"
        print(f"{budget}: LSTM and GRU {verdict} {GOAL} bpc; all cells {group['command_s'].sum():.0f} s")
    trained = out / args.budgets[0] / ("lstm" if "lstm" in args.cells else args.cells[0])
    first, then = sample_seconds(trained)
    mine = table[(table["budget"] == args.budgets[0]) & (table["cell"] == trained.name)].iloc[0]
    print(
        f"one epoch's sample ({trained.name}, {args.budgets[0]}): {first:.2f} s the first (tracing), then {then:.2f} s; "
        f"an epoch of its training {mine['training_s'] / mine['epochs']:.0f} s (the sample included)"
    )
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
