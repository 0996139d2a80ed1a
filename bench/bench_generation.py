"""Generating 300 characters three ways, timed side by side in one process: one `model.predict` per
character on the window (how tutorials write it), one traced call on the window per character (the
previous method here), and the step sampler that carries the recurrent state (models/sampler.py).

Usage: python bench/bench_generation.py
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from data import load_corpus  # noqa: E402
from models import build_model  # noqa: E402
from models.inference import generate, sample_index  # noqa: E402
from pipelines.tasks.text import TextConfig, TextTask  # noqa: E402

CHARACTERS, REPEATS = 300, 3
config = TextConfig(**TextTask.default_run)
vocab = load_corpus(config.corpus, config.max_chars).vocab  # the run's own characters
model = build_model(
    "lstm",
    (config.seq_len,),
    units=config.units,
    layers=config.layers,
    n_classes=vocab.size,
    vocab_size=vocab.size,
    embedding_dim=config.embedding_dim,
)
PROMPT = "ROMEO:\nBut soft, what light through yonder window breaks?"


def window_of(ids: list[int]) -> np.ndarray:
    """The previous method's context, copied here so the reference stays fixed: the last seq_len ids
    as one (1, seq_len) window, left-padded with the unknown id."""
    window = np.zeros((1, config.seq_len), dtype=np.int32)
    tail = ids[-config.seq_len :]
    window[0, config.seq_len - len(tail) :] = tail
    return window


def with_predict() -> float:
    rng, ids = np.random.default_rng(0), list(vocab.encode(PROMPT))
    started = time.perf_counter()
    for _ in range(CHARACTERS):
        probs = model.predict(window_of(ids), verbose=0)[0].astype(float)
        ids.append(sample_index(probs, 1.0, rng))
    return time.perf_counter() - started


def with_traced_window() -> float:
    rng, ids = np.random.default_rng(0), list(vocab.encode(PROMPT))
    call = tf.function(lambda context: model(context, training=False))
    started = time.perf_counter()
    for _ in range(CHARACTERS):
        probs = call(window_of(ids)).numpy()[0].astype(float)
        ids.append(sample_index(probs, 1.0, rng))
    return time.perf_counter() - started


def with_step_sampler() -> float:
    started = time.perf_counter()
    generate(model, vocab, config.seq_len, PROMPT, length=CHARACTERS, temperature=1.0)
    return time.perf_counter() - started


print(f"text model as the default run: LSTM, {config.units} units, window {config.seq_len}, {vocab.size} ids")
first = {
    "predict per character": with_predict(),
    "traced window": with_traced_window(),
    "step sampler": with_step_sampler(),
}
print("first call (includes tracing): " + ", ".join(f"{k} {v:.2f} s" for k, v in first.items()))
times = {name: [] for name in first}
for _ in range(REPEATS):  # alternated, so machine load hits all three alike
    times["predict per character"].append(with_predict())
    times["traced window"].append(with_traced_window())
    times["step sampler"].append(with_step_sampler())
median = {name: float(np.median(values)) for name, values in times.items()}
for name, seconds in median.items():
    print(f"{name:<22} {seconds:7.3f} s for {CHARACTERS} characters (median of {REPEATS})")
step = median["step sampler"]
print(f"step sampler vs predict per character: {median['predict per character'] / step:.0f}x faster")
print(f"step sampler vs traced window:         {median['traced window'] / step:.1f}x faster")
