"""Training epoch by epoch (what makes --resume exact) against one model.fit over all epochs: the
same model, data and epochs, timed alternately in one process so machine load hits both alike.

Usage: python bench/bench_epoch_loop.py
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from data import adding_problem  # noqa: E402
from models import build_model  # noqa: E402

EPOCHS, REPEATS = 3, 3
x, y = adding_problem(8000, 50, seed=0)
x_val, y_val = adding_problem(1000, 50, seed=1)


def one_fit() -> float:
    model = build_model("lstm", (50, 2), units=32, seed=0)
    started = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=EPOCHS, validation_data=(x_val, y_val), verbose=0)
    return time.perf_counter() - started


def epoch_by_epoch() -> float:
    model = build_model("lstm", (50, 2), units=32, seed=0)
    started = time.perf_counter()
    for epoch in range(EPOCHS):
        keras.utils.set_random_seed(epoch)
        model.fit(x, y, batch_size=64, initial_epoch=epoch, epochs=epoch + 1, validation_data=(x_val, y_val), verbose=0)
    return time.perf_counter() - started


one_fit(), epoch_by_epoch()  # warm-up: tracing and first-call costs
ratios = []
for _ in range(REPEATS):
    whole, stepwise = one_fit(), epoch_by_epoch()
    ratios.append(stepwise / whole)
    print(f"one fit {whole:.2f} s, epoch by epoch {stepwise:.2f} s, ratio {stepwise / whole:.3f}", flush=True)
print(f"median ratio (epoch by epoch / one fit): {np.median(ratios):.3f}")
