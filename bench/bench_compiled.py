"""Seconds per training step compiled by XLA against op by op, side by side in one process, for
SimpleRNN, LSTM and GRU over batch sizes and sequence lengths, with what compiling costs: the table
behind the pipeline's `--jit-compile auto` rule (pipelines/execution_rule.py).

Each shape trains two models built alike (adding problem, Adam with clipnorm 1, op determinism on, as
in the pipeline): one epoch of each to warm up (the compiled one's includes XLA's compile), then
alternating timed epochs, the fastest of each kept. An epoch is `--steps` training batches plus a
tenth as many validation batches, one `model.fit` call, as the pipeline runs it. `--beside` starts a
second training in another process for the whole run (a busy machine, or a sweep on two workers).

Usage: python bench/bench_compiled.py [--cells ...] [--batches ...] [--lengths ...] [--units 32]
       [--steps 40] [--repeats 2] [--threads 1] [--beside] [--csv FILE]
"""

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pipelines.cli import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from data import adding_problem  # noqa: E402
from models import build_model  # noqa: E402
from models.execution import compile_model  # noqa: E402
from models.reseed import reseed  # noqa: E402

BESIDE = """
import os; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
from data import adding_problem
from models import build_model
x, y = adding_problem(4000, 100, seed=1)
model = build_model("lstm", (100, 2), units=32, clipnorm=1.0, learning_rate=1e-2)
while True:
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
"""


GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def flops_per_step(cell: str, units: int, length: int, batch: int, features: int = 2) -> float:
    """The recurrent layer's matrix products in one training step: forward 2 x gates x units x
    (features + units) per sequence and time step, backward about twice that (the gradients of the
    inputs and of the weights). Elementwise work and the head are left out: a lower bound."""
    return 3 * 2 * GATES[cell] * units * (features + units) * length * batch


def matmul_peak() -> float:
    """What this CPU delivers on one large matrix product with training's threads, in GFLOP/s: the
    practical peak the recurrent steps are compared with."""
    a = tf.random.stateless_normal((1024, 1024), seed=(0, 1))
    tf.linalg.matmul(a, a).numpy()
    best = np.inf
    for _ in range(5):
        started = time.perf_counter()
        tf.linalg.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * 1024**3 / best / 1e9


def timed_epoch(model, x, y, validation, batch: int, epoch: int) -> float:
    reseed(epoch)
    started = time.perf_counter()
    model.fit(x, y, validation_data=validation, batch_size=batch, initial_epoch=epoch, epochs=epoch + 1, verbose=0)
    return time.perf_counter() - started


def measure(cell: str, batch: int, length: int, units: int, steps: int, repeats: int) -> dict:
    """Seconds per step of each execution and the first epoch's extra cost (tracing, compiling)."""
    n_val = max(1, steps // 10) * batch
    x, y = adding_problem(steps * batch + n_val, length, seed=0)
    train, validation = (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
    models = {}
    for compiled in (False, True):
        model = build_model(cell, (length, 2), units=units, clipnorm=1.0, learning_rate=1e-2, seed=0)
        assert compile_model(model, compiled) == compiled
        models[compiled] = model
    first = {compiled: timed_epoch(m, *train, validation, batch, 0) for compiled, m in models.items()}
    best = {False: np.inf, True: np.inf}
    for repeat in range(repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        for compiled in order:
            seconds = timed_epoch(models[compiled], *train, validation, batch, 1 + repeat)
            best[compiled] = min(best[compiled], seconds)
    keras.backend.clear_session()
    flops = flops_per_step(cell, units, length, batch)
    return {
        "cell": cell,
        "units": units,
        "batch": batch,
        "T": length,
        "ops_ms_per_step": 1000 * best[False] / steps,
        "xla_ms_per_step": 1000 * best[True] / steps,
        "speedup": best[False] / best[True],
        "ops_gflops": flops / (best[False] / steps) / 1e9,
        "xla_gflops": flops / (best[True] / steps) / 1e9,
        "ops_first_extra_s": first[False] - best[False],
        "xla_first_extra_s": first[True] - best[True],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["simple_rnn", "lstm", "gru"])
    parser.add_argument("--batches", nargs="+", type=int, default=[16, 32, 64, 128, 256])
    parser.add_argument("--lengths", nargs="+", type=int, default=[50, 100, 200, 400])
    parser.add_argument("--units", nargs="+", type=int, default=[32])
    parser.add_argument("--steps", type=int, default=40, help="training batches per timed epoch (default: 40)")
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs of each execution (default: 2)")
    parser.add_argument("--beside", action="store_true", help="a second training runs in another process")
    parser.add_argument(
        "--threads", type=int, default=1, help="TensorFlow's intra-op threads, as training uses (default: 1)"
    )
    parser.add_argument("--csv", help="also write the table to this CSV file")
    args = parser.parse_args()
    if args.threads:  # 0: TensorFlow's default (the machine's cores); the inter-op pool keeps its default
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.experimental.enable_op_determinism()  # as the pipeline runs
    beside = None
    if args.beside:
        beside = subprocess.Popen([sys.executable, "-c", BESIDE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(15)  # let it import TensorFlow and start training
    rows = []
    print(
        f"adding problem, Adam + clipnorm 1, op determinism on, {args.threads or 'default'} threads, {args.steps} steps "
        f"an epoch, fastest of {args.repeats}; " + ("a second training beside it" if beside else "nothing else running")
    )
    peak = matmul_peak()
    print(f"a 1024 x 1024 matrix product runs at {peak:.0f} GFLOP/s here: the practical peak")
    print(
        f"{'cell':>10} {'units':>5} {'batch':>5} {'T':>4}  {'ops ms/step':>11} {'XLA ms/step':>11} {'speed-up':>8}  "
        f"{'compile s':>9}  {'GFLOP/s ops':>11} {'XLA':>5}"
    )
    try:
        for units in args.units:
            for cell in args.cells:
                for length in args.lengths:
                    for batch in args.batches:
                        row = measure(cell, batch, length, units, args.steps, args.repeats)
                        rows.append(row)
                        print(
                            f"{cell:>10} {units:>5} {batch:>5} {length:>4}  {row['ops_ms_per_step']:>11.2f} "
                            f"{row['xla_ms_per_step']:>11.2f} {row['speedup']:>7.2f}x  {row['xla_first_extra_s']:>9.2f}  "
                            f"{row['ops_gflops']:>11.2f} {row['xla_gflops']:>5.2f}",
                            flush=True,
                        )
    finally:
        if beside is not None:
            beside.kill()
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(
        f"speed-up of XLA: median {table['speedup'].median():.2f}x, range {table['speedup'].min():.2f}x to "
        f"{table['speedup'].max():.2f}x over {len(table)} shapes; slower under XLA: "
        f"{(table['speedup'] < 1).sum()} shapes"
    )
    print(
        f"share of the practical peak ({peak:.0f} GFLOP/s): op by op {table['ops_gflops'].median() / peak:.1%} "
        f"(median; at most {table['ops_gflops'].max() / peak:.1%}), XLA {table['xla_gflops'].median() / peak:.1%} "
        f"(at most {table['xla_gflops'].max() / peak:.1%})"
    )


if __name__ == "__main__":
    main()
