"""The default runs (`make train-defaults`: AAPL, Shakespeare and the adding sweep) timed end to end, each
as a fresh `python -m pipelines.defaults` into its own folder, alternately for every version asked:
`--jit-compile` settings of this checkout, or another checkout of the project (`--checkout DIR`, e.g.
a `git worktree` of an earlier commit, run with its own defaults). Prints the wall time of each and the
seconds per epoch of every run, read from their history.csv.

Usage: python bench/bench_defaults.py [--settings off auto] [--checkout DIR] [--repeats 1]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parents[1]


def train_defaults(code: Path, out: Path, setting: str | None) -> float:
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "pipelines.defaults", "--out", str(out)]
    if setting is not None:
        argv += ["--jit-compile", setting]
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    subprocess.run(argv, cwd=code, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def epoch_seconds(out: Path) -> pd.Series:
    """Mean seconds per epoch of every run under `out`, after its first epoch (which also traces and compiles)."""
    found = {}
    for history in sorted(out.rglob("history.csv")):
        run = history.parent.relative_to(out)
        seconds = pd.read_csv(history)["seconds"]
        found[str(run)] = seconds.iloc[1:].mean() if len(seconds) > 1 else seconds.iloc[0]
    return pd.Series(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", nargs="+", default=["off", "auto"], help="--jit-compile values of this checkout")
    parser.add_argument("--checkout", help="also time another checkout of the project (its own defaults)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    versions = [(f"this checkout, --jit-compile {s}", HERE, s) for s in args.settings]
    if args.checkout:
        versions.insert(0, (f"checkout {args.checkout}", Path(args.checkout).resolve(), None))
    root = Path(tempfile.mkdtemp(prefix="bench-defaults-"))
    walls: dict[str, list[float]] = {name: [] for name, _, _ in versions}
    epochs: dict[str, pd.Series] = {}
    for repeat in range(args.repeats):
        for name, code, setting in versions if repeat % 2 == 0 else versions[::-1]:
            out = root / f"runs-{len(walls[name])}-{abs(hash(name))}"
            walls[name].append(train_defaults(code, out, setting))
            epochs[name] = epoch_seconds(out)
            print(f"{name}: {walls[name][-1]:.0f} s", flush=True)
    table = pd.DataFrame(epochs)
    print("\nseconds per epoch after the first (mean), per run:")
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    first = versions[0][0]
    for name, _, _ in versions[1:]:
        ratio = table[first] / table[name]
        print(
            f"\n{first} / {name}: wall time {min(walls[first]) / min(walls[name]):.2f}x; per epoch median "
            f"{ratio.median():.2f}x (range {ratio.min():.2f}x to {ratio.max():.2f}x)"
        )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
