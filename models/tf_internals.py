"""The only place that touches TensorFlow's and Keras' private internals, for three things their public APIs
cannot do; each function says what it works around and the versions it was checked on (tests/test_tf_internals.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# TensorFlow is imported inside the functions: models.execution imports this module, and --help and
# argument errors must answer without loading TensorFlow.


@contextmanager
def kernel_cache_kept() -> Iterator[None]:
    """Inside, `tf.random.set_seed` (and so `keras.utils.set_random_seed`) sets the seeds without
    emptying TensorFlow's eager kernel cache (models.reseed, before each epoch).

    Works around: `tf.random.set_seed` always clears the cache, to restart eager *stateful* random ops,
    and has no switch to keep it. It clears it only through the eager context's private
    `_context_handle` when that is set, so the handle is set aside for the block and put back after.
    With no handle yet (no kernels made) nothing is touched. The price: an eager stateful random op
    (`tf.random.uniform` without a seed) continues its stream instead of restarting it.

    Checked on TensorFlow 2.21.0 (`tensorflow.python.eager.context.Context._set_global_seed`).
    """
    from tensorflow.python.eager import context  # the eager context has no public handle

    eager = context.context()
    handle = getattr(eager, "_context_handle", None)
    if handle is None:  # no kernels yet (or a TensorFlow without the attribute): nothing to keep
        yield
        return
    eager._context_handle = None
    try:
        yield
    finally:
        eager._context_handle = handle


def distribute_strategy_of(model):
    """The tf.distribute strategy `model` was built under (--distribute), or None if it was built
    outside any strategy scope (models.gradient_logger runs its probe per replica under the first).

    Works around: the public `model.distribute_strategy` answers the current strategy (the default
    one, outside any scope) when the model has none of its own, so it cannot tell the two apart;
    Keras' TensorFlow trainer keeps the model's own in the private `_distribute_strategy`.

    Checked on Keras 3.15.1 with TensorFlow 2.21.0 (`keras.src.backend.tensorflow.trainer.TensorFlowTrainer`).
    """
    return getattr(model, "_distribute_strategy", None)  # set by Keras when built under a strategy


@contextmanager
def op_determinism_lifted() -> Iterator[None]:
    """Inside, TensorFlow's op determinism is off; after, it is as it was (models.execution.compile_model,
    so that Keras lets XLA compile a model while the pipeline runs deterministically).

    Works around: Keras refuses `model.jit_compile = True` whenever op determinism is on, and TensorFlow
    can switch determinism on publicly (`tf.config.experimental.enable_op_determinism`) but neither
    tell whether it is on nor switch it off: both are in the private `tensorflow.python.framework.config`.

    Checked on TensorFlow 2.21.0 with Keras 3.15.1 (`keras.src.trainers.trainer.model_supports_jit`).
    """
    from tensorflow.python.framework import config as tf_config  # the only switch back is not public

    deterministic = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if deterministic:
            tf_config.enable_op_determinism()
