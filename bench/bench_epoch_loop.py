"""Training epoch by epoch (what makes --resume exact) against one model.fit over all epochs: the
same model, data and epochs, reseeding before each epoch either with keras.utils.set_random_seed
(which empties TensorFlow's kernel cache) or with models.reseed (which keeps it, as the pipeline
does), timed alternately in one process so machine load hits all three alike.

Usage: python bench/bench_epoch_loop.py
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from data import adding_problem  # noqa: E402
from models import build_model  # noqa: E402
from models.reseed import reseed  # noqa: E402

EPOCHS, REPEATS = 3, 3
x, y = adding_problem(8000, 50, seed=0)
x_val, y_val = adding_problem(1000, 50, seed=1)


def one_fit() -> float:
    model = build_model("lstm", (50, 2), units=32, seed=0)
    started = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=EPOCHS, validation_data=(x_val, y_val), verbose=0)
    return time.perf_counter() - started


def epoch_by_epoch(reseeding) -> float:
    model = build_model("lstm", (50, 2), units=32, seed=0)
    started = time.perf_counter()
    for epoch in range(EPOCHS):
        reseeding(epoch)
        model.fit(x, y, batch_size=64, initial_epoch=epoch, epochs=epoch + 1, validation_data=(x_val, y_val), verbose=0)
    return time.perf_counter() - started


one_fit(), epoch_by_epoch(reseed)  # warm-up: tracing and first-call costs
emptied, kept = [], []
for _ in range(REPEATS):
    whole, with_keras, with_reseed = one_fit(), epoch_by_epoch(keras.utils.set_random_seed), epoch_by_epoch(reseed)
    emptied.append(with_keras / whole)
    kept.append(with_reseed / whole)
    print(
        f"one fit {whole:.2f} s; epoch by epoch: keras.utils.set_random_seed {with_keras:.2f} s "
        f"(ratio {emptied[-1]:.3f}), models.reseed {with_reseed:.2f} s (ratio {kept[-1]:.3f})",
        flush=True,
    )
print(
    f"median ratio to one fit: reseeding with keras.utils.set_random_seed {np.median(emptied):.3f}, with models.reseed {np.median(kept):.3f}"
)
