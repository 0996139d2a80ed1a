"""Each remedy's mechanism, checked rather than only run: truncated BPTT stops the gradient at chunk
boundaries (and equals model.fit when K = T), the penalty equals its formula, the echo-state reservoir
stays fixed at the spectral radius asked and its memory capacity meets the known answers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from data import ConfigError, adding_problem, copy_task
from models import GradientLogger, build_model
from models.custom_fit import fit_epoch, make_train_step
from models.penalty import gradient_penalty
from models.reservoir import (
    build_reservoir_model,
    fit_readout,
    memory_capacity,
    memory_function,
    recurrent_matrix,
    reservoir_layer,
    reservoir_recursion,
    reservoir_states,
    reservoir_weights,
)
from models.unroll import unrolled_forward
from pipelines.tasks.adding import AddingConfig

T, K = 12, 4


def probe_log(model, x, y, truncate_every=None) -> dict:
    logger = GradientLogger(x, y, truncate_every=truncate_every)
    logger.set_model(model)
    logger.on_train_begin()
    logger.record()
    return logger.log


# --- truncated back-propagation through time ---------------------------------------------------


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm"])
def test_no_gradient_crosses_a_chunk_boundary(cell):
    """Many-to-one, T = 12, K = 4: the loss is at the last step, so only the last chunk (steps 8-11)
    gets a gradient; the logger, probing as training does, shows zeros before it and a horizon < K."""
    x, y = adding_problem(16, T, seed=0)
    model = build_model(cell, (T, 2), units=5, gain=1.5, seed=1)
    full = probe_log(model, x, y)[f"h_grad_norm/{cell}_1"][0]
    cut = probe_log(model, x, y, truncate_every=K)[f"h_grad_norm/{cell}_1"][0]
    assert np.all(full > 0)  # without truncation every step gets some gradient
    assert np.all(cut[: T - K] == 0) and np.all(cut[T - K :] > 0)
    np.testing.assert_allclose(cut[T - K :], full[T - K :], rtol=1e-5)  # within the chunk, nothing changes
    assert probe_log(model, x, y, truncate_every=K)[f"horizon/{cell}_1"][0] <= K - 1


def test_truncation_carries_the_state_on():
    """The state crosses the boundary (only its gradient stops): the prediction is the model's own."""
    x, _ = adding_problem(8, T, seed=0)
    model = build_model("lstm", (T, 2), units=5, seed=2)
    truncated = unrolled_forward(model, x, truncate_every=K).prediction.numpy()
    np.testing.assert_allclose(truncated, model(x).numpy(), atol=1e-5)


def test_per_step_losses_reach_back_to_their_own_chunk_start_only():
    """The copy task's head reads every step: with K = 5 each step's gradient comes from the losses in
    its own chunk, so the weight gradient equals the sum of each chunk's loss differentiated alone."""
    x, y = copy_task(6, 5, seed=0)  # 25 steps: 5 chunks of 5
    model = build_model("simple_rnn", x.shape[1:], units=4, n_classes=10, per_step=True, seed=3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(loss_fn(y, unrolled_forward(model, x, truncate_every=5).prediction))
    together = tape.gradient(loss, variables)
    cell, head = model.get_layer("simple_rnn_1").cell, model.get_layer("head")
    kernel = cell.recurrent_kernel
    carried = np.asarray(unrolled_forward(model, x).hidden["simple_rnn_1"])  # h_t, no gradient wanted
    separately = np.zeros(kernel.shape)
    for start in range(0, x.shape[1], 5):  # each chunk written out from its carried state, a constant
        with tf.GradientTape() as tape:
            h = tf.zeros((len(x), 4)) if start == 0 else tf.constant(carried[:, start - 1])
            chunk_loss = 0.0
            for t in range(start, start + 5):
                h = tf.tanh(x[:, t] @ cell.kernel + h @ kernel + cell.bias)
                chunk_loss += tf.reduce_sum(loss_fn(y[:, t], head(h))) / y.size
        separately += tape.gradient(chunk_loss, kernel).numpy()
    index = [v.path for v in variables].index(kernel.path)
    np.testing.assert_allclose(together[index].numpy(), separately, rtol=1e-4, atol=1e-7)


def test_tbptt_with_k_equal_to_t_trains_exactly_as_model_fit():
    x, y = adding_problem(96, T, seed=4)
    order = np.random.default_rng(0).permutation(len(x))
    ours, theirs = (build_model("simple_rnn", (T, 2), units=6, clipnorm=1.0, learning_rate=1e-2, seed=5) for _ in "ab")
    step = make_train_step(ours, truncate_every=T)
    for epoch in range(2):
        logs = fit_epoch(
            ours, step, x, y, epoch=epoch, batch_size=32, order=order, validation=(x[:16], y[:16]), callbacks=[]
        )
        fitted = theirs.fit(x[order], y[order], batch_size=32, shuffle=False, epochs=1, verbose=0)
        assert logs["loss"] == pytest.approx(fitted.history["loss"][0], rel=1e-4)
    for mine, keras_own in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_own, rtol=1e-4, atol=1e-6)
    assert not np.allclose(ours.get_weights()[1], build_model("simple_rnn", (T, 2), units=6, seed=5).get_weights()[1])


# --- the gradient-norm penalty -------------------------------------------------------------------


def penalty_by_hand(model, x, y) -> float:
    """Pascanu et al.'s Omega from a numpy forward and backward pass: dL/dh_t by the chain rule, and
    each one-step Jacobian dh_{k+1}/dh_k = diag(1 - h_{k+1}^2) R^T written out per sample."""
    layer, head = model.get_layer("simple_rnn_1"), model.get_layer("head")
    kernel, recurrent, bias = (np.asarray(w, dtype="float64") for w in layer.get_weights())
    w_head, b_head = (np.asarray(w, dtype="float64") for w in head.get_weights())
    batch, steps = x.shape[:2]
    h = np.zeros((batch, steps + 1, recurrent.shape[0]))
    for t in range(steps):
        h[:, t + 1] = np.tanh(x[:, t] @ kernel + h[:, t] @ recurrent + bias)
    error = 2 * (h[:, -1] @ w_head + b_head - y) / batch  # d mean((pred - y)^2) / d pred
    grads = [None] * steps
    grads[-1] = error @ w_head.T
    for t in range(steps - 2, -1, -1):
        grads[t] = np.stack(
            [grads[t + 1][i] @ (np.diag(1 - h[i, t + 2] ** 2) @ recurrent.T) for i in range(batch)]
        )  # (1 - h^2) R^T: row vector times the Jacobian of h_{t+1} (array index t+2) w.r.t. h_t
    terms = []
    for k in range(steps - 1):
        carried = np.stack([grads[k + 1][i] @ (np.diag(1 - h[i, k + 2] ** 2) @ recurrent.T) for i in range(batch)])
        terms.append((np.linalg.norm(carried) / np.linalg.norm(grads[k + 1]) - 1) ** 2)
    return float(np.mean(terms))


def test_the_penalty_equals_its_formula_on_a_small_case():
    x, y = adding_problem(5, 6, seed=6)
    model = build_model("simple_rnn", (6, 2), units=3, gain=0.8, seed=7)
    expected = penalty_by_hand(model, x.astype("float64"), y.astype("float64"))
    probes = {"simple_rnn_1": tf.zeros((6, 5, 3))}
    with tf.GradientTape() as tape:
        tape.watch(probes["simple_rnn_1"])
        forward = unrolled_forward(model, x, probes)
        loss = tf.reduce_mean(keras.losses.mean_squared_error(y, forward.prediction))
    omega = gradient_penalty(
        model.get_layer("simple_rnn_1").cell,
        forward.hidden["simple_rnn_1"],
        tape.gradient(loss, probes["simple_rnn_1"]),
    )
    assert float(omega) == pytest.approx(expected, rel=1e-4)
    assert expected > 0.01  # a case where the gradient does shrink, so the check has something to check

    # and the training step adds exactly weight x Omega to the loss it minimises
    step = make_train_step(model, penalty=0.5)
    task_loss, total = step(tf.constant(x), tf.constant(y))
    assert float(task_loss) == pytest.approx(float(loss), rel=1e-5)
    assert float(total) - float(task_loss) == pytest.approx(0.5 * expected, rel=1e-3)


def test_the_penalty_has_a_finite_gradient_where_nothing_is_carried_or_almost_nothing_arrives():
    """R = 0 carries nothing back (a norm at 0), and gradients of 1e-30 square to below float32's range."""
    model = build_model("simple_rnn", (6, 2), units=3, seed=8)
    cell = model.get_layer("simple_rnn_1").cell
    cell.recurrent_kernel.assign(np.zeros((3, 3), "float32"))
    hidden = tf.constant(np.random.default_rng(0).uniform(-0.5, 0.5, (4, 6, 3)), "float32")
    tiny = tf.constant(np.random.default_rng(1).normal(size=(6, 4, 3)) * 1e-30, "float32")
    with tf.GradientTape() as tape:
        omega = gradient_penalty(cell, hidden, tiny)
    assert float(omega) == pytest.approx(1.0, rel=1e-5)  # nothing carried: every ratio is 0, (0 - 1)^2 = 1
    assert np.all(np.isfinite(tape.gradient(omega, cell.recurrent_kernel).numpy()))
    cell.recurrent_kernel.assign(np.eye(3, dtype="float32") * 2)
    linear_hidden = tf.zeros((4, 6, 3))  # tanh' = 1 at h = 0: each step doubles the gradient
    assert float(gradient_penalty(cell, linear_hidden, tiny)) == pytest.approx(1.0, rel=1e-4)  # (2 - 1)^2


# --- the echo-state network ---------------------------------------------------------------------


def test_the_reservoir_is_the_leaky_esn_and_its_weights_do_not_train():
    model = build_reservoir_model((30, 2), units=6, spectral_radius=0.8, leak_rate=0.3, seed=2)
    w_in, w = reservoir_weights(6, 2, spectral_radius=0.8, input_scale=1.0, seed=2)
    assert np.max(np.abs(np.linalg.eigvals(recurrent_matrix(model)))) == pytest.approx(0.8, rel=1e-5)
    x, y = adding_problem(64, 30, seed=1)
    h = np.zeros((64, 6))
    for t in range(30):
        h = 0.7 * h + 0.3 * np.tanh(x[:, t] @ w_in + h @ w)  # Jaeger's leaky-integrator update
    states = keras.Sequential(model.layers[:-1])(x).numpy()
    np.testing.assert_allclose(states, h, atol=1e-5)
    before = [np.array(v) for v in reservoir_layer(model).weights]
    fit_readout(model, x, y, ridge=1e-3)
    model.fit(x, y, epochs=1, verbose=0)  # even a gradient step leaves a frozen reservoir alone
    for old, new in zip(before, reservoir_layer(model).weights, strict=True):
        np.testing.assert_array_equal(old, np.array(new))


def test_the_readout_is_the_ridge_solution():
    model = build_reservoir_model((20, 2), units=8, seed=3)
    x, y = adding_problem(200, 20, seed=2)
    fit_readout(model, x, y, ridge=1e-2)
    states = keras.Sequential(model.layers[:-1])(x).numpy().astype("float64")
    design = np.hstack([states, np.ones((200, 1))])
    centred = states - states.mean(0)  # scikit-learn fits the intercept unpenalised, on centred data
    weights = np.linalg.solve(centred.T @ centred + 1e-2 * np.eye(8), centred.T @ (y - y.mean()))
    intercept = y.mean() - states.mean(0) @ weights
    np.testing.assert_allclose(model.predict(x, verbose=0), design @ np.append(weights, intercept)[:, None], atol=1e-4)


def test_memory_capacity_meets_the_known_answers():
    """Counted from delay 1, as Jaeger (2002) and reservoirpy count it. A linear reservoir of N = 32 units:
    its memory function adds up to N over delays 0, 1, ... (its states span N directions of the input's
    past), so from delay 1 it reads N - m(0) = N - 1; computed in float32 or with scikit-learn's lstsq
    cutoff it read 24-30. Without recurrence nothing before the present is recalled; tanh costs memory."""
    linear = build_reservoir_model((10, 2), units=32, spectral_radius=0.9, activation="linear", seed=1)
    found = memory_function(linear)
    assert found.sum() == pytest.approx(32, abs=0.3)  # within finite-sample noise of N
    assert found[0] == pytest.approx(1, abs=0.01) and memory_capacity(linear) == pytest.approx(found[1:].sum())
    none = memory_capacity(build_reservoir_model((10, 2), units=8, spectral_radius=0.0, activation="linear"))
    assert none == pytest.approx(0, abs=0.2)
    tanh = memory_capacity(build_reservoir_model((10, 2), units=32, spectral_radius=0.9, seed=1))
    assert 1 < tanh < memory_capacity(linear) - 10


def test_memory_capacity_agrees_with_reservoirpy_on_one_shared_reservoir():
    """The same tanh reservoir (our weights handed to reservoirpy's Reservoir) and input signal: the two
    capacities agree within 3% (each fits and scores its readout on its own split of the signal)."""
    from reservoirpy.nodes import Reservoir, Ridge
    from reservoirpy.observables import memory_capacity as reservoirpy_capacity

    model = build_reservoir_model((10, 1), units=32, spectral_radius=0.9, leak_rate=0.7, seed=1)
    w_in, w, leak, activation = reservoir_recursion(model)
    assert activation == "tanh" and leak == pytest.approx(0.7, abs=1e-6)
    theirs = Reservoir(W=w.T, Win=w_in.T, bias=np.zeros(32), lr=leak, activation=np.tanh)
    signal = np.random.default_rng(0).uniform(-1, 1, (6000, 1))
    expected = float(np.sum(reservoirpy_capacity(theirs >> Ridge(ridge=1e-10), k_max=128, series=signal)))
    assert memory_capacity(model, delays=128) == pytest.approx(expected, rel=0.03)


def test_the_float64_states_are_the_layers_own():
    model = build_reservoir_model((10, 2), units=8, spectral_radius=0.9, leak_rate=0.5, seed=1)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 50, 2)).astype("float32")
    from models.unroll import unroll_layer

    np.testing.assert_allclose(reservoir_states(model, x[0]), unroll_layer(reservoir_layer(model), x)[0][0], atol=1e-6)


def test_an_esn_trains_beside_the_other_cells_with_its_capacity_in_the_table(tmp_path):
    from pipelines.experiment import run_experiment

    config = AddingConfig(cells=["simple_rnn", "esn"], length=10, samples=200, epochs=1, out=str(tmp_path), log_every=0)
    table = run_experiment(config).table.set_index("model")
    assert table.loc["esn", "params"] == 32 + 1  # only the readout is trained
    assert 0 < table.loc["esn", "memory_capacity"] <= 32
    assert np.isnan(table.loc["simple_rnn", "memory_capacity"])


# --- options refused in one sentence -------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tbptt": 0}, "--tbptt must be at least 1"),
        ({"penalty": 1.0, "cells": ["simple_rnn", "lstm"]}, "--penalty .* add --cells simple_rnn"),
        ({"penalty": -1.0, "cells": ["simple_rnn"]}, "--penalty must be 0 or a positive number"),
        ({"tbptt": 5, "dropout": 0.2}, "--tbptt and --penalty train without dropout"),
        ({"tbptt": 5, "cells": ["esn"]}, "fitted by ridge regression"),
        ({"cells": ["esn"], "layers": 2}, "An esn has one reservoir"),
        ({"cells": ["esn"], "leak_rate": 0.0}, "--leak-rate must be above 0"),
        ({"cells": ["esn"], "spectral_radius": -1.0}, "--spectral-radius must be a positive number"),
    ],
)
def test_remedy_options_that_cannot_apply_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        AddingConfig(**options)


@pytest.mark.slow
def test_readme_remedies_rows_irnn_seed0_solves_and_truncation_caps_the_horizon(tmp_path):
    """docs/remedies.md, "Every remedy on one budget", adding T = 100, seed 0: the IRNN solves it (0.0060,
    horizon 99); truncated BPTT at 20 does not (0.175), and its gradient reaches 19 steps back, never more."""
    from pipelines.experiment import run_experiment
    from pipelines.remedies import REMEDIES, trial_configs

    chosen = [remedy for remedy in REMEDIES if remedy.name in ("irnn", "tbptt-20")]
    results = {
        remedy.name: run_experiment(config).table.set_index("model").loc["simple_rnn"]
        for remedy, _, config in trial_configs("adding", [0], chosen, out=str(tmp_path))
    }
    assert results["irnn"]["test_mse"] < 0.01 and results["irnn"]["gradient_horizon"] == 99
    assert results["tbptt-20"]["test_mse"] > 0.1 and results["tbptt-20"]["gradient_horizon"] <= 19
