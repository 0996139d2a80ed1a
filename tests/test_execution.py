"""Compiled (XLA) and op-by-op execution: `--jit-compile auto` resolves by the measured rule, XLA runs
under op determinism and repeats bit for bit, every training path compiles (fit, the custom step of
--tbptt and --penalty, the esn's reservoir pass, the GradientLogger's probe), and several batches per
call into the step change no bit."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import TINY
from tensorflow.python.framework import config as tf_config

from data import adding_problem
from models import build_model, load_run
from models.execution import COMPILE_SECONDS, choose_execution, compile_model
from pipelines.experiment import run_experiment, steps_per_call
from pipelines.tasks.adding import AddingConfig


def trained_weights(compiled: bool) -> list[np.ndarray]:
    x, y = adding_problem(96, 8, seed=0)
    model = build_model("lstm", (8, 2), units=4, clipnorm=1.0, learning_rate=1e-2, seed=0)
    assert compile_model(model, compiled) == compiled
    keras.utils.set_random_seed(0)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    return model.get_weights()


def test_xla_compiles_under_op_determinism_and_gives_plain_kerass_xla_bits():
    """Keras refuses jit_compile=True whenever op determinism is on; compile_model gets past that
    refusal only. The compiled fit repeats bit for bit, equals Keras' own XLA fit without determinism
    (so it is XLA that ran, unaltered), and differs from the op-by-op fit in the last bits. If a
    TensorFlow upgrade moves the private switch compile_model uses, this test fails loudly."""
    was_on = tf_config.is_op_determinism_enabled()
    try:
        tf.config.experimental.enable_op_determinism()
        refused = build_model("lstm", (8, 2), units=4)
        with pytest.warns(UserWarning, match="jit_compile"):
            refused.jit_compile = True
        assert refused.jit_compile is False  # Keras' own refusal, the reason compile_model exists
        compiled, again, by_ops = trained_weights(True), trained_weights(True), trained_weights(False)
        assert tf_config.is_op_determinism_enabled()  # left as it was found
        tf_config.disable_op_determinism()
        plain_xla = trained_weights(True)
    finally:
        (tf_config.enable_op_determinism if was_on else tf_config.disable_op_determinism)()
    for a, b, c in zip(compiled, again, plain_xla, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert any(not np.array_equal(a, d) for a, d in zip(compiled, by_ops, strict=True))
    for a, d in zip(compiled, by_ops, strict=True):
        np.testing.assert_allclose(a, d, atol=1e-4)  # the same computation, rounded in another order


def test_auto_compiles_where_the_saving_repays_the_compile():
    """The default sweep's LSTM at T = 100 (6 epochs of 250 batches) is compiled; the test suite's
    tiny trainings and a GPU (cuDNN kernels) are not; on and off are obeyed."""
    sweep = dict(cell="lstm", units=32, time_steps=100, layers=1, batches=1500, on_gpu=False)
    assert choose_execution("auto", **sweep).compiled
    assert not choose_execution("auto", **{**sweep, "on_gpu": True}).compiled
    assert not choose_execution("auto", **{**sweep, "time_steps": 10, "batches": 16}).compiled
    assert not choose_execution("auto", **{**sweep, "units": 512}).compiled  # wider than measured
    assert not choose_execution("auto", **{**sweep, "cell": "esn"}).compiled  # no training step
    assert not choose_execution("off", **sweep).compiled
    assert choose_execution("on", **{**sweep, "batches": 1}).compiled
    tiny = choose_execution("auto", **{**sweep, "batches": 20})
    assert not tiny.compiled and f"~{COMPILE_SECONDS:.0f} s" in tiny.why


def test_several_batches_per_call_change_no_bit(tmp_path, monkeypatch):
    """Keras' steps_per_execution runs the same updates in the same order: the same table and
    gradient log (records on the same batches) as one batch per call."""
    import pipelines.experiment

    # a divisor of the batches of an epoch and of the logger's cadence (Keras counts calls per epoch)
    assert [steps_per_call(n, 250) for n in (0, 1, 5, 7, 100)] == [10, 1, 5, 1, 10]
    assert [steps_per_call(100, n) for n in (125, 63, 8)] == [5, 1, 4]
    config = dict(length=10, samples=300, cells=["gru"], **{**TINY, "epochs": 2, "log_every": 4})
    several = run_experiment(AddingConfig(out=str(tmp_path / "a"), **config))  # 8 batches an epoch: 4 a call
    monkeypatch.setattr(pipelines.experiment, "STEPS_PER_CALL", 1)
    one = run_experiment(AddingConfig(out=str(tmp_path / "b"), **config))
    pd.testing.assert_frame_equal(several.table, one.table, check_exact=True)
    logs = [load_run(result.runs["gru"]).gradients for result in (several, one)]
    np.testing.assert_array_equal(logs[0]["step"], [4, 8, 12, 16])  # every 4 batches (an epoch's end among them)
    for key, value in logs[0].items():
        np.testing.assert_array_equal(value, logs[1][key])


def test_every_training_path_compiles_and_model_fit_repeats_bit_for_bit(tmp_path):
    """--jit-compile on through model.fit (LSTM, trained twice from the same seed: the same bits), the
    esn's reservoir pass and the custom step (--tbptt with --penalty), the probe compiled alike: each
    run says so in run.json and loads with its gradient log."""
    fit = dict(length=12, samples=200, jit_compile="on", **{**TINY, "epochs": 2})
    first = run_experiment(AddingConfig(out=str(tmp_path / "a"), cells=["lstm", "esn"], **fit))
    custom = run_experiment(
        AddingConfig(out=str(tmp_path / "a"), cells=["simple_rnn"], tbptt=4, penalty=0.5, name="custom", **fit)
    )
    second = run_experiment(AddingConfig(out=str(tmp_path / "b"), cells=["lstm"], **fit))
    for path in [*first.runs.values(), *custom.runs.values()]:
        info = json.loads((path / "run.json").read_text())
        assert info["model"]["execution"] == {"compiled": True, "why": "--jit-compile on"}
        assert len(load_run(path).gradients["step"]) >= 1  # the esn's one record is saved too (it was not)
    pd.testing.assert_frame_equal(first.table.iloc[[0]][second.table.columns], second.table.iloc[[0]], check_exact=True)
    runs = [load_run(first.runs["lstm"]), load_run(second.runs["lstm"])]
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for key, value in runs[0].gradients.items():
        np.testing.assert_array_equal(value, runs[1].gradients[key])


def test_the_compiled_custom_step_computes_what_the_graph_step_does():
    """XLA changes the rounding, not the arithmetic: the same updates within float tolerance."""
    from models.custom_fit import make_train_step

    x, y = adding_problem(32, 12, seed=0)
    losses = {}
    for compiled in (False, True):
        model = build_model("simple_rnn", (12, 2), units=4, clipnorm=1.0, learning_rate=1e-2, seed=0)
        step = make_train_step(model, truncate_every=4, penalty=0.5, compiled=compiled)
        losses[compiled] = [float(step(tf.constant(x), tf.constant(y))[1]) for _ in range(5)]
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-5)
    assert losses[True][-1] < losses[True][0]  # it does train
