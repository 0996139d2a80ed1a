"""TensorFlow's intra- and inter-op thread pools for these small recurrent models: seconds per training
step under each setting, compiled by XLA and op by op, for one training alone and for two trainings at
once (what a sweep on `--workers 2` runs), and a digest of the weights trained (do the pools change the
bits?). Each measurement is a fresh process, since TensorFlow fixes
its pools when it starts; a pair's two processes start together and each reports its own time.

Usage: python bench/bench_threads.py [--cell lstm] [--length 100] [--batch 32] [--units 32] [--steps 150]
"""

import argparse
import json
import os
import subprocess
import sys

WORKER = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
intra, inter, compiled, cell, length, batch, steps, units = json.loads(sys.argv[1])
import tensorflow as tf
if intra is not None:
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
tf.config.experimental.enable_op_determinism()
from data import adding_problem
from models import build_model
from models.execution import compile_model
from models.reseed import reseed
x, y = adding_problem(steps * batch, length, seed=0)
model = build_model(cell, (length, 2), units=units, clipnorm=1.0, learning_rate=1e-2)
compile_model(model, compiled)
best = float("inf")
for epoch in range(4):
    reseed(epoch)
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, initial_epoch=epoch, epochs=epoch + 1, verbose=0)
    if epoch:
        best = min(best, time.perf_counter() - started)
import hashlib, numpy as np
digest = hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in model.get_weights())).hexdigest()[:12]
print(json.dumps([1000 * best / steps, digest]))
"""

SETTINGS = [(None, None), (1, 1), (1, 2), (2, 1), (2, 2)]


def start(setting, compiled, args):
    intra, inter = setting
    task = json.dumps([intra, inter, compiled, args.cell, args.length, args.batch, args.steps, args.units])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, task], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )


def result(process) -> tuple[float, str]:
    """(ms per step, a digest of the trained weights)"""
    out, _ = process.communicate()
    milliseconds, digest = json.loads(out.strip().splitlines()[-1])
    return milliseconds, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--steps", type=int, default=150, help="training batches per epoch (default: 150)")
    args = parser.parse_args()
    print(
        f"{args.cell}({args.units}), adding T={args.length}, batch {args.batch}; ms per training step, fastest of 3 epochs"
    )
    print(f"{'intra, inter':>14} {'execution':>10} {'alone':>8} {'two at once (each)':>20}  weights")
    for setting in SETTINGS:
        for compiled in (False, True):
            alone, digest = result(start(setting, compiled, args))
            pair = [start(setting, compiled, args) for _ in range(2)]
            both = [result(p)[0] for p in pair]
            shown = "default" if setting[0] is None else f"{setting[0]}, {setting[1]}"
            print(
                f"{shown:>14} {'XLA' if compiled else 'op by op':>10} {alone:>8.2f} "
                f"{both[0]:>9.2f} {both[1]:>9.2f}  {digest}",
                flush=True,
            )


if __name__ == "__main__":
    main()
