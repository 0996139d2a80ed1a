"""Windowing a 1,000,000-point series with lookback 60: the project's zero-copy windows against
the copy-every-window loop of typical tutorials, timed and memory-measured side by side in one run.

Run: python bench/bench_windows.py
"""

import argparse
import time
import tracemalloc

import numpy as np

from data import windows_with_targets


def tutorial_loop(series: np.ndarray, lookback: int):
    """What tutorials do: append a copy of every window to a list, then stack."""
    xs, ys = [], []
    for i in range(len(series) - lookback):
        xs.append(series[i : i + lookback])
        ys.append(series[i + lookback])
    return np.array(xs), np.array(ys)


def project_windows(series: np.ndarray, lookback: int):
    X, y, _ = windows_with_targets(series, series, lookback)
    return X, y


def measure(function, series, lookback):
    tracemalloc.start()
    started = time.perf_counter()
    X, y = function(series, lookback)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--lookback", type=int, default=60)
    args = parser.parse_args()
    series = np.random.default_rng(0).normal(size=args.points).cumsum()
    series_mb = series.nbytes / 1e6

    ours = measure(project_windows, series, args.lookback)
    theirs = measure(tutorial_loop, series, args.lookback)
    np.testing.assert_array_equal(ours[2], theirs[2])  # same windows, same targets
    np.testing.assert_array_equal(ours[3], theirs[3])

    print(f"series: {args.points:,} points, lookback {args.lookback}, {series_mb:.1f} MB")
    print(f"{'method':<22}{'time (s)':>10}{'peak memory (MB)':>18}{'x series memory':>17}")
    for name, (seconds, peak, _, _) in (("zero-copy windows", ours), ("copy-every-window loop", theirs)):
        print(f"{name:<22}{seconds:>10.3f}{peak / 1e6:>18.1f}{peak / series.nbytes:>17.2f}")
    print(f"ratio loop/zero-copy: time {theirs[0] / ours[0]:.0f}x, peak memory {theirs[1] / max(ours[1], 1):.0f}x")


if __name__ == "__main__":
    main()
