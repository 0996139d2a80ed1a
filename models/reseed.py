"""Reseeding before each epoch (what makes --resume exact) without TensorFlow emptying its kernel
cache: keras.utils.set_random_seed, minus the cache clear that cost 0.3-0.4 s an epoch."""

from __future__ import annotations

import keras


def reseed(seed: int) -> None:
    """keras.utils.set_random_seed(seed) (Python, NumPy, TensorFlow and Keras seeds), keeping the
    kernels TensorFlow has already made.

    tf.random.set_seed also empties the eager kernel cache, to restart eager *stateful* random ops;
    the pipeline runs none (Keras draws dropout and initial weights statelessly from its own seed
    generators; tf.data's shuffle is seeded when its pipeline is traced), so the cache only costs:
    after each clear, the first batches of an epoch rebuild every kernel of the training step and of
    the gradient probe (bench/bench_pipeline_epoch.py). Results are bit-identical either way
    (tests/test_pipelines.py checks it). TensorFlow clears the cache only through the context's
    handle, so the handle is set aside for the call.
    """
    from tensorflow.python.eager import context  # the eager context has no public handle

    eager = context.context()
    handle = getattr(eager, "_context_handle", None)
    if handle is None:  # no kernels yet (or a TensorFlow without the attribute): nothing to keep
        keras.utils.set_random_seed(seed)
        return
    eager._context_handle = None
    try:
        keras.utils.set_random_seed(seed)
    finally:
        eager._context_handle = handle
