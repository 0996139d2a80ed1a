"""What the GradientLogger costs: LSTM(64) on the adding problem (T=100, 20,000 samples,
batch 128, 5 epochs) trained with and without the logger at its default cadence, in one run.

Run: python bench/bench_gradient_logger.py   (the target is a wall-time ratio of at most 1.05)
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from data import adding_problem  # noqa: E402
from models import GradientLogger, build_model  # noqa: E402


class TimedLogger(GradientLogger):
    """The real logger, also adding up the wall time spent inside it."""

    spent = 0.0

    def on_train_begin(self, logs=None):
        started = time.perf_counter()
        super().on_train_begin(logs)
        self.spent = time.perf_counter() - started

    def record(self):
        started = time.perf_counter()
        super().record()
        self.spent += time.perf_counter() - started


def train_seconds(x, y, epochs: int, batch_size: int, with_logger: bool, probe_size: int) -> tuple[float, float, int]:
    """Wall time of one fit, the part of it spent in the logger, and the number of records."""
    model = build_model("lstm", x.shape[1:], units=64, seed=0)
    logger = TimedLogger(x[:probe_size], y[:probe_size]) if with_logger else None
    started = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=[logger] if logger else [], verbose=0)
    seconds = time.perf_counter() - started
    return seconds, (logger.spent if logger else 0.0), (len(logger.log["step"]) if logger else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--probe-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="alternating pairs of fits")
    args = parser.parse_args()
    x, y = adding_problem(args.samples, args.length, seed=0)
    print(
        f"LSTM(64), adding problem T={args.length}, {args.samples:,} samples, batch {args.batch_size}, {args.epochs} epochs"
    )
    # Warm-up: the first fit in a process pays one-off costs (thread pools, kernel selection).
    train_seconds(x[:2048], y[:2048], 1, args.batch_size, True, args.probe_size)
    bare, logged, inside = [], [], []
    for repeat in range(args.repeats):
        # Alternate the order so drift in machine speed hits both arms alike.
        order = (False, True) if repeat % 2 == 0 else (True, False)
        for with_logger in order:
            seconds, spent, records = train_seconds(x, y, args.epochs, args.batch_size, with_logger, args.probe_size)
            label = "with logger   " if with_logger else "without logger"
            detail = f"  ({records} records, {spent:.2f} s inside the logger)" if with_logger else ""
            print(f"  repeat {repeat + 1}: {label} {seconds:7.1f} s{detail}")
            if with_logger:
                logged.append(seconds)
                inside.append(spent)
            else:
                bare.append(seconds)
    # Fits on a shared VM vary by tens of percent; the fastest fit of each arm is the least disturbed.
    print(f"wall-time ratio with/without logger, fastest fits: {min(logged) / min(bare):.3f}  (target <= 1.05)")
    print(f"wall-time ratio with/without logger, all fits:     {sum(logged) / sum(bare):.3f}")
    # Time inside the logger, measured within the same fits: immune to fit-to-fit noise.
    share = [s / (t - s) for s, t in zip(inside, logged, strict=True)]
    print(f"logger time / rest of the fit, measured inside each fit: {min(share):.3f} to {max(share):.3f}")


if __name__ == "__main__":
    main()
