"""A 12-trial adding sweep (T = 50, tiny budget) trained one trial after another (--workers 1) and
two at a time on a local Ray (--workers 2), alternately, each a fresh `python -m pipelines.sweep`
as a user runs it; checks both saved the same trial table. Then what Ray costs before any trial.

Usage: python bench/bench_sweep_workers.py [--repeats 1]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

SWEEP = "--task adding --over length --values 50 --seeds 0 1 2 3 4 5 6 7 8 9 10 11 --cells simple_rnn lstm"
BUDGET = "--epochs 2 --samples 1000 --units 16 --batch-size 32 --quiet --name bench"


def timed_sweep(out: Path, workers: int) -> tuple[float, pd.DataFrame]:
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "pipelines.sweep", *SWEEP.split(), *BUDGET.split(), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run([*argv, "--workers", str(workers)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, pd.read_csv(out / "bench" / "trials.csv")


def ray_startup() -> dict[str, float]:
    """A local Ray's start, a first empty task, a first task that imports TensorFlow, and its stop."""
    import ray

    marks = {}
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    marks["ray.init (local, 2 CPUs)"] = time.perf_counter() - started

    @ray.remote(num_cpus=1)
    def nothing():
        return 0

    @ray.remote(num_cpus=1)
    def import_tensorflow():
        from pipelines.cli import import_tensorflow_quietly

        import_tensorflow_quietly()
        return 0

    started = time.perf_counter()
    ray.get(nothing.remote())
    marks["first empty task"] = time.perf_counter() - started
    started = time.perf_counter()
    ray.get([import_tensorflow.remote() for _ in range(2)])
    marks["TensorFlow imported in both workers"] = time.perf_counter() - started
    started = time.perf_counter()
    ray.shutdown()
    marks["ray.shutdown"] = time.perf_counter() - started
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="alternating pairs of sweeps (default: 1)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"12 trials: adding T=50, cells simple_rnn lstm, {BUDGET.replace(' --quiet --name bench', '')}")
    ratios = []
    for repeat in range(args.repeats):
        order = (1, 2) if repeat % 2 == 0 else (2, 1)
        times, tables = {}, {}
        for workers in order:
            times[workers], tables[workers] = timed_sweep(root / f"w{workers}", workers)
            print(f"  repeat {repeat + 1}: --workers {workers}  {times[workers]:6.1f} s", flush=True)
        same = tables[1].equals(tables[2])
        ratios.append(times[1] / times[2])
        print(f"  repeat {repeat + 1}: speed-up {ratios[-1]:.2f}x, identical trial tables: {'yes' if same else 'NO'}")
    print(
        f"speed-up of --workers 2 over --workers 1 (wall time, whole command): {min(ratios):.2f}x to {max(ratios):.2f}x (target >= 1.5x)"
    )
    shutil.rmtree(root, ignore_errors=True)
    print("Ray's own cost, before any trial trains:")
    for name, seconds in ray_startup().items():
        print(f"  {name:<38} {seconds:5.2f} s")


if __name__ == "__main__":
    main()
