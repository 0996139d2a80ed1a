"""Multi-device training for --distribute: the tf.distribute strategy a cell's model is built and
trained under (MirroredStrategy over this machine's GPUs, else its CPU devices)."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager, nullcontext

DISTRIBUTIONS = ("none", "mirrored")


def distribution_scope(name: str) -> AbstractContextManager:
    """The scope to build, restore and train a model in: the strategy's, or nothing for "none".

    Keras binds a model to the strategy it was created under, so model.fit then splits each batch
    between the devices and sums their gradients; the GradientLogger runs its probe through
    `strategy.run` (each device on the whole probe batch) and keeps the first device's record.
    """
    return nullcontext() if name == "none" else mirrored_strategy().scope()


@functools.cache
def mirrored_strategy():
    """One strategy per process: each MirroredStrategy numbers its collective operations from the
    same start, so a second one in the same process (the next cell) would clash with the first."""
    import tensorflow as tf

    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])
