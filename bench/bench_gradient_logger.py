"""What the GradientLogger costs: LSTM(64) on the adding problem (T=100, 20,000 samples,
batch 128, 5 epochs) trained with and without the logger at its default cadence, in one run.

Run: python bench/bench_gradient_logger.py   (the target is a wall-time ratio of at most 1.05)
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data import adding_problem  # noqa: E402
from models import GradientLogger, build_model  # noqa: E402


def train_seconds(x, y, epochs: int, batch_size: int, with_logger: bool, probe_size: int) -> tuple[float, int]:
    model = build_model("lstm", x.shape[1:], units=64, seed=0)
    callbacks = [GradientLogger(x[:probe_size], y[:probe_size])] if with_logger else []
    started = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - started
    return seconds, len(callbacks[0].log["step"]) if with_logger else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--probe-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=4, help="alternating pairs; the ratio uses the totals")
    args = parser.parse_args()
    x, y = adding_problem(args.samples, args.length, seed=0)
    print(
        f"LSTM(64), adding problem T={args.length}, {args.samples:,} samples, batch {args.batch_size}, {args.epochs} epochs"
    )
    # Warm-up: the first fit in a process pays one-off costs (thread pools, kernel selection).
    train_seconds(x[:2048], y[:2048], 1, args.batch_size, True, args.probe_size)
    bare, logged, records = 0.0, 0.0, 0
    for repeat in range(args.repeats):
        # Alternate the order so drift in machine speed hits both arms alike.
        order = (False, True) if repeat % 2 == 0 else (True, False)
        for with_logger in order:
            seconds, n = train_seconds(x, y, args.epochs, args.batch_size, with_logger, args.probe_size)
            print(
                f"  repeat {repeat + 1}: {'with logger   ' if with_logger else 'without logger'} {seconds:7.1f} s"
                + (f"  ({n} records)" if with_logger else "")
            )
            if with_logger:
                logged, records = logged + seconds, n
            else:
                bare += seconds
    print(f"wall-time ratio with/without logger: {logged / bare:.3f}  (target <= 1.05; {records} records per fit)")


if __name__ == "__main__":
    main()
