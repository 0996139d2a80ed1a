"""models.tf_internals, the one module that touches TensorFlow's and Keras' private internals: each test
checks that the internal one function relies on is still there and still does what the function needs,
so that a TensorFlow or Keras upgrade that moves it fails here, with a sentence saying what broke and
what it costs, rather than slowing or silently changing the training."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config

from models.tf_internals import distribute_strategy_of, kernel_cache_kept, op_determinism_lifted

UPGRADE = f"(TensorFlow {tf.__version__}, Keras {keras.__version__}: update models/tf_internals.py)"


def draws() -> dict[str, float]:
    """One number from each generator keras.utils.set_random_seed seeds, and one from an eager
    *stateful* TensorFlow op, whose kernel keeps its state in the kernel cache."""
    return {
        "python": random.random(),
        "numpy": float(np.random.rand()),
        "keras": float(keras.random.uniform(()).numpy()),
        "stateful tf op": float(tf.random.uniform(()).numpy()),
    }


def test_kernel_cache_kept_reseeds_like_keras_and_keeps_the_kernels():
    tf.constant(1.0) + 1  # the eager context makes its handle with its first kernel
    eager = context.context()
    handle = getattr(eager, "_context_handle", None)
    assert handle is not None, (
        f"TensorFlow's eager context no longer keeps its handle in `_context_handle` {UPGRADE}: "
        "models.reseed still reseeds correctly but empties the kernel cache every epoch (0.3-0.4 s)."
    )
    keras.utils.set_random_seed(0)
    first = draws()
    keras.utils.set_random_seed(0)
    assert draws() == first, (
        f"keras.utils.set_random_seed no longer repeats the same numbers {UPGRADE}: if only the stateful op's "
        "differs, TensorFlow no longer empties the kernel cache on reseeding and kernel_cache_kept is needless."
    )

    with kernel_cache_kept():
        keras.utils.set_random_seed(0)
    kept = draws()
    assert getattr(eager, "_context_handle", None) is handle, f"kernel_cache_kept did not put the handle back {UPGRADE}"
    seeded = {name: value for name, value in kept.items() if name != "stateful tf op"}
    assert seeded == {name: first[name] for name in seeded}, (
        f"Reseeding with the kernel cache kept no longer gives keras.utils.set_random_seed's numbers {UPGRADE}: "
        f"{seeded} instead of {first}."
    )
    # The one difference, and the proof that the cache was kept: a cached stateful kernel goes on
    # with its stream instead of restarting it (the pipeline runs no such op).
    assert kept["stateful tf op"] != first["stateful tf op"], (
        f"tf.random.set_seed emptied the kernel cache although its handle was set aside {UPGRADE}: TensorFlow "
        "now clears it another way, so models.reseed costs 0.3-0.4 s an epoch again."
    )

    with pytest.raises(RuntimeError), kernel_cache_kept():
        raise RuntimeError
    assert getattr(eager, "_context_handle", None) is handle, "kernel_cache_kept lost the handle on an error"


def test_distribute_strategy_of_is_the_strategy_a_model_was_built_under():
    def tiny():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])

    plain = tiny()
    assert hasattr(plain, "_distribute_strategy"), (
        f"Keras models no longer have `_distribute_strategy` {UPGRADE}: the GradientLogger would run its probe "
        "outside the strategy under --distribute, where a distributed variable has no gradient."
    )
    assert distribute_strategy_of(plain) is None, (
        f"A model built outside any strategy scope has a strategy {UPGRADE}: the GradientLogger would run "
        "every probe through strategy.run."
    )

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        mirrored = tiny()
    assert distribute_strategy_of(mirrored) is strategy, (
        f"distribute_strategy_of does not answer the strategy a model was built under {UPGRADE}: "
        f"{distribute_strategy_of(mirrored)!r} instead of {strategy!r}."
    )
    assert mirrored.distribute_strategy is strategy  # what the public property says, for such a model


def test_op_determinism_lifted_lets_keras_compile_and_puts_determinism_back():
    for name in ("is_op_determinism_enabled", "disable_op_determinism", "enable_op_determinism"):
        assert callable(getattr(tf_config, name, None)), (
            f"tensorflow.python.framework.config.{name} is gone {UPGRADE}: compile_model cannot lift op "
            "determinism for Keras' check, so --jit-compile on/auto would train op by op."
        )
    was_on = tf_config.is_op_determinism_enabled()
    try:
        tf.config.experimental.enable_op_determinism()
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        with pytest.warns(UserWarning, match="jit_compile"):
            model.jit_compile = True  # the refusal op_determinism_lifted exists for
        assert model.jit_compile is False
        with op_determinism_lifted():
            assert not tf_config.is_op_determinism_enabled()
            model.jit_compile = True
        assert model.jit_compile is True, (
            f"Keras refused jit_compile=True even with op determinism lifted {UPGRADE}: it no longer decides by "
            "tensorflow.python.framework.config.is_op_determinism_enabled, so --jit-compile on/auto trains op by op."
        )
        assert tf_config.is_op_determinism_enabled(), f"op determinism is not back on after the block {UPGRADE}"

        tf_config.disable_op_determinism()
        with op_determinism_lifted():
            pass
        assert not tf_config.is_op_determinism_enabled(), "op_determinism_lifted switched determinism on"
    finally:
        (tf_config.enable_op_determinism if was_on else tf_config.disable_op_determinism)()
