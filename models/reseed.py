"""Reseeding before each epoch (what makes --resume exact) without TensorFlow emptying its kernel
cache: keras.utils.set_random_seed, minus the cache clear that cost 0.3-0.4 s an epoch."""

from __future__ import annotations

import keras

from models.tf_internals import kernel_cache_kept


def reseed(seed: int) -> None:
    """keras.utils.set_random_seed(seed) (Python, NumPy, TensorFlow and Keras seeds), keeping the
    kernels TensorFlow has already made.

    tf.random.set_seed also empties the eager kernel cache, to restart eager *stateful* random ops;
    the pipeline runs none (Keras draws dropout and initial weights statelessly from its own seed
    generators; tf.data's shuffle is seeded when its pipeline is traced), so the cache only costs:
    after each clear, the first batches of an epoch rebuild every kernel of the training step and of
    the gradient probe (bench/bench_pipeline_epoch.py). Results are bit-identical either way
    (tests/test_pipelines.py checks it). TensorFlow has no public switch to keep the cache
    (models.tf_internals.kernel_cache_kept sets its private handle aside for the call).
    """
    with kernel_cache_kept():
        keras.utils.set_random_seed(seed)
