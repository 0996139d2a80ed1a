"""The training paths besides model.fit's step, compiled by XLA against op by op, side by side in one
process: the GradientLogger's probe (one record), the custom step of --tbptt and --penalty (one batch),
the esn's reservoir pass (the states of 8,000 sequences), and Keras' own loop around the step (one
batch per call against ten, `steps_per_execution`). Each: the first call (tracing, compiling) and the
fastest of the next ones.

Usage: python bench/bench_compiled_parts.py [--lengths 100 400] [--repeats 5] [--threads 1]
       [--only probe custom reservoir loop]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pipelines.cli import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # one thread per op pool, as training runs

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from data import adding_problem  # noqa: E402
from models import GradientLogger, build_model  # noqa: E402
from models.custom_fit import make_train_step  # noqa: E402
from models.execution import compile_model  # noqa: E402
from models.reseed import reseed  # noqa: E402
from models.reservoir import build_reservoir_model, fit_readout  # noqa: E402


def timed(call, repeats: int) -> tuple[float, float]:
    """(seconds of the first call, fastest of the next `repeats`)."""
    started = time.perf_counter()
    call()
    first = time.perf_counter() - started
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return first, best


def row(what: str, graph: tuple[float, float], xla: tuple[float, float], unit: str = "ms") -> None:
    scale = 1000 if unit == "ms" else 1
    print(
        f"{what:<38} {scale * graph[1]:>9.1f} {scale * xla[1]:>9.1f} {unit:<2} {graph[1] / xla[1]:>6.2f}x   "
        f"first call {graph[0]:.2f} s / {xla[0]:.2f} s",
        flush=True,
    )


def probe(cell: str, length: int, repeats: int) -> None:
    x, y = adding_problem(64, length, seed=0)
    results = []
    for compiled in (False, True):
        model = build_model(cell, (length, 2), units=32, seed=0)
        logger = GradientLogger(x, y, jit_compile=compiled)
        logger.set_model(model)
        logger.on_train_begin()
        results.append(timed(logger.record, repeats))
    row(f"probe record, {cell} T={length}", *results)


def custom_step(length: int, repeats: int) -> None:
    x, y = adding_problem(32, length, seed=0)
    x, y = tf.constant(x), tf.constant(y)
    results = []
    for compiled in (False, True):
        model = build_model("simple_rnn", (length, 2), units=32, clipnorm=1.0, seed=0)
        step = make_train_step(model, truncate_every=20, penalty=1.0, compiled=compiled)
        results.append(timed(lambda step=step: float(step(x, y)[0]), repeats))
    row(f"--tbptt 20 --penalty 1 step, T={length}", *results)


def reservoir_pass(length: int, repeats: int) -> None:
    x, y = adding_problem(8000, length, seed=0)
    results = []
    for compiled in (False, True):
        model = build_reservoir_model((length, 2), units=32, seed=0)
        results.append(
            timed(lambda m=model, c=compiled: fit_readout(m, x, y, ridge=1e-3, compiled=c), max(1, repeats // 2))
        )
    row(f"esn readout fit (8,000 sequences), T={length}", *results, unit="s")


def loop(length: int, repeats: int) -> None:
    """model.fit over 250 batches of 32, compiled, with one or ten batches per call into the step."""
    x, y = adding_problem(8000, length, seed=0)
    results = []
    for per_call in (1, 10):
        model = build_model("lstm", (length, 2), units=32, clipnorm=1.0, seed=0)
        compile_model(model, True)
        model.steps_per_execution = per_call
        epochs = iter(range(100))

        def fit(model=model, epochs=epochs):
            reseed(next(epochs))
            model.fit(x, y, batch_size=32, epochs=1, verbose=0)

        first, best = timed(fit, max(1, repeats // 2))
        results.append((first, best / 250))
    row(f"LSTM fit, XLA, T={length}: 1 vs 10 a call", *results)
    keras.backend.clear_session()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="TensorFlow's intra-op threads (default: 1, as training)"
    )
    parser.add_argument(
        "--inter-threads", type=int, default=None, help="inter-op threads (default: TensorFlow's, as training)"
    )
    parser.add_argument("--only", nargs="+", default=["probe", "custom", "reservoir", "loop"])
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    if args.inter_threads:  # else the default pool, as training keeps it
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_threads)
    tf.config.experimental.enable_op_determinism()
    print(f"{args.threads} intra-op thread(s), {args.inter_threads or 'the default'} inter-op")
    print(f"{'':<38} {'op by op':>9} {'XLA':>9} {'':<2} {'ratio':>6}")
    for length in args.lengths:
        if "probe" in args.only:
            for cell in ("simple_rnn", "lstm", "gru"):
                probe(cell, length, args.repeats)
        if "custom" in args.only:
            custom_step(length, args.repeats)
        if "reservoir" in args.only:
            reservoir_pass(length, args.repeats)
    if "loop" in args.only:
        print(f"{'':<38} {'1 a call':>9} {'10':>9}")
        for length in (10, 100):
            loop(length, args.repeats)


if __name__ == "__main__":
    main()
