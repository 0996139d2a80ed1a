"""GradientLogger against theory: a linear RNN with W_h = a*I has ||dL/dh_t|| ~ a^(T-t)."""

import math

import keras
import numpy as np
import pytest

from data import adding_problem
from models import GradientLogger, build_model, decay_factor, gradient_horizon, load_gradient_log, unrolled_forward

T = 30


def linear_rnn(a: float, units: int = 4, features: int = 3) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((T, features)),
            keras.layers.SimpleRNN(units, activation=None, name="rnn"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(loss="mse", optimizer="sgd")
    model.get_layer("rnn").cell.recurrent_kernel.assign(a * np.eye(units, dtype="float32"))
    return model


def probe_batch(features: int = 3, batch: int = 8):
    rng = np.random.default_rng(0)
    return rng.normal(size=(batch, T, features)).astype("float32"), rng.normal(size=(batch, 1)).astype("float32")


def record_once(model, x, y) -> dict:
    logger = GradientLogger(x, y)
    logger.set_model(model)
    logger.on_train_begin()
    logger.record()
    return logger.log


@pytest.mark.parametrize("a", [0.5, 0.9, 1.1])
def test_linear_rnn_gradient_follows_a_to_the_distance(a):
    log = record_once(linear_rnn(a), *probe_batch())
    norms = log["h_grad_norm/rnn"][0]
    theory = a ** (T - 1 - np.arange(T))  # relative to the last step
    np.testing.assert_allclose(norms / norms[-1], theory, rtol=1e-3)
    assert log["decay/rnn"][0] == pytest.approx(a, rel=1e-3)


@pytest.mark.parametrize("a", [0.5, 0.7, 0.9, 1.1])
def test_horizon_of_the_linear_rnn_matches_the_closed_form(a):
    log = record_once(linear_rnn(a), *probe_batch())
    closed_form = T - 1 if a >= 1 else min(T - 1, math.floor(math.log(1e-2) / math.log(a)))
    assert log["horizon/rnn"][0] == closed_form


def test_last_step_gradient_agrees_with_finite_differences():
    """dL/dh_T through the Dense head, estimated by central differences in float64."""
    model = linear_rnn(0.8, units=5)
    x, y = probe_batch()
    log = record_once(model, x, y)
    h_last = model.get_layer("rnn")(x).numpy().astype(np.float64)  # the layer's own output
    kernel, bias = (w.numpy().astype(np.float64) for w in model.get_layer("head").weights)

    def loss(h):
        return np.mean((h @ kernel + bias - y) ** 2)

    step = 1e-6
    grad = np.zeros_like(h_last)
    for index in np.ndindex(h_last.shape):
        bump = np.zeros_like(h_last)
        bump[index] = step
        grad[index] = (loss(h_last + bump) - loss(h_last - bump)) / (2 * step)
    assert log["h_grad_norm/rnn"][0][-1] == pytest.approx(np.linalg.norm(grad), rel=1e-4)


def test_input_gradient_and_weight_norms_are_consistent():
    model = linear_rnn(0.9)
    log = record_once(model, *probe_batch())
    # dL/dx_t = W_x^T dL/dh_t with W_h = a*I: the input gradient decays with the same factor.
    x_norms = log["x_grad_norm"][0]
    assert decay_factor(x_norms) == pytest.approx(0.9, rel=1e-3)
    weights = [v for k, v in log.items() if k.startswith("weight_grad_norm/")]
    assert len(weights) == 5  # kernel, recurrent_kernel, bias, head kernel, head bias
    global_norm = np.sqrt(sum(w[0] ** 2 for w in weights))
    assert log["global_grad_norm"][0] == pytest.approx(global_norm, rel=1e-5)


def test_logger_in_a_plain_fit_records_on_cadence_and_saves(tmp_path):
    x, y = adding_problem(256, 20, seed=0)
    model = build_model("lstm", (20, 2), units=8, layers=2)
    logger = GradientLogger(x[:32], y[:32], every_n_batches=4, tensorboard_dir=str(tmp_path / "tb"))
    model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    log = logger.log
    # 8 batches per epoch: records at batches 4 and 8 (the epoch end reuses 8), twice.
    assert list(log["step"]) == [4, 8, 12, 16] and list(log["epoch"]) == [0, 0, 1, 1]
    assert log["h_grad_norm/lstm_1"].shape == (4, 20) and log["h_grad_norm/lstm_2"].shape == (4, 20)
    forget = log["gate_mean/lstm_2/forget"]
    assert forget.shape == (4, 20) and ((forget > 0) & (forget < 1)).all()
    assert np.isfinite(log["loss"]).all()
    loaded = load_gradient_log(logger.save(tmp_path / "gradients.npz"))
    assert loaded.keys() == log.keys()
    np.testing.assert_array_equal(loaded["h_grad_norm/lstm_1"], log["h_grad_norm/lstm_1"])
    assert any((tmp_path / "tb").iterdir())  # TensorBoard event file written


def test_horizon_and_decay_helpers_on_known_profiles():
    assert gradient_horizon(np.array([1e-5, 1e-3, 0.5, 1.0])) == 1  # 1 step back holds 0.5; 2 back falls to 1e-3
    assert gradient_horizon(np.ones(10)) == 9
    assert decay_factor(0.7 ** np.arange(20)[::-1]) == pytest.approx(0.7)


def test_the_reach_goes_past_a_dip_where_the_horizon_stops():
    """A profile that decays step by step has reach = horizon; one that dips and comes back far back (a
    solved LSTM's, at the marked inputs) has a short horizon and a long reach."""
    from models.gradient_log import gradient_reaches

    decaying = 0.7 ** np.arange(30)[::-1]
    dipping = np.r_[[0.5, 0.3], np.full(20, 1e-4), np.linspace(0.02, 1.0, 8)]  # 30 steps, oldest first
    np.testing.assert_array_equal(gradient_reaches(np.stack([decaying, dipping])), [gradient_horizon(decaying), 29])
    assert gradient_horizon(dipping) == 7
    assert gradient_reaches(np.zeros((1, 5)))[0] == 0  # a dead gradient reaches nowhere


def test_the_summary_keeps_the_reach_when_solved_and_its_peak():
    """The summary keeps the reach at the first record under the solved loss and its peak, beside the
    horizon at the first and the last record."""
    from models.gradient_log import summarize

    profiles = np.stack([0.5 ** np.arange(10)[::-1], np.r_[0.5, np.full(8, 1e-4), 1.0], 0.9 ** np.arange(10)[::-1]])
    log = {
        "h_grad_norm/l": profiles,
        "horizon/l": np.array([6, 0, 9]),
        "decay/l": np.array([0.5, 0.9, 0.9]),
        "loss": np.array([0.17, 0.008, 0.001]),
        "global_grad_norm": np.array([1.0, 3.0, 0.5]),
    }
    summary = summarize(log, "l", solved_loss=0.01)
    assert (summary["first_gradient_horizon"], summary["gradient_horizon"]) == (6, 9)
    assert (summary["solved_gradient_reach"], summary["peak_gradient_reach"], summary["gradient_reach"]) == (9, 9, 9)
    assert np.isnan(summarize(log, "l", solved_loss=0.0001)["solved_gradient_reach"])  # never below it
    assert np.isnan(summarize(log, "l")["solved_gradient_reach"])  # a task without a solved loss


def test_bad_probe_and_model_get_one_sentence():
    x, y = adding_problem(8, 20)
    model = build_model("gru", (20, 2), units=4)
    logger = GradientLogger(x[:, :10], y)
    logger.set_model(model)
    with pytest.raises(ValueError, match=r"probe batch has shape \(10, 2\).*expects \(20, 2\)"):
        logger.on_train_begin()
    dense = keras.Sequential([keras.Input((20, 2)), keras.layers.Flatten(), keras.layers.Dense(1)])
    dense.compile(loss="mse")
    logger = GradientLogger(x, y)
    logger.set_model(dense)
    with pytest.raises(ValueError, match="no SimpleRNN, LSTM or GRU"):
        logger.on_train_begin()
    with pytest.raises(ValueError, match="as many targets"):
        GradientLogger(x, y[:3])


def test_functional_model_with_a_skip_connection_is_refused():
    x, y = adding_problem(8, 20)
    inputs = keras.Input((20, 2))
    hidden = keras.layers.SimpleRNN(4, return_sequences=True, name="rnn")(inputs)
    merged = keras.layers.Concatenate()([hidden, inputs])  # not a chain: the input skips the RNN
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(merged))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    logger = GradientLogger(x, y)
    logger.set_model(model)
    with pytest.raises(ValueError, match="not a single chain"):
        logger.on_train_begin()


def test_functional_chain_is_accepted():
    x, y = adding_problem(8, 20)
    inputs = keras.Input((20, 2))
    outputs = keras.layers.Dense(1)(keras.layers.GRU(4, name="gru")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    assert record_once(model, x, y)["h_grad_norm/gru"].shape == (1, 20)


def test_other_backends_get_one_sentence(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    x, y = probe_batch()
    with pytest.raises(RuntimeError, match="needs the TensorFlow backend .*KERAS_BACKEND=tensorflow"):
        GradientLogger(x, y)


def test_several_batches_per_call_record_on_the_same_batches_and_values():
    """With steps_per_execution, Keras calls on_train_batch_end once for several batches: the logger
    counts batches, not calls, and (the same updates in the same order) records the same values."""
    x, y = adding_problem(256, 12, seed=0)
    logs = []
    for per_call in (1, 4):
        model = build_model("lstm", (12, 2), units=4, seed=0)
        model.steps_per_execution = per_call
        logger = GradientLogger(x[:16], y[:16], every_n_batches=4)
        keras.utils.set_random_seed(0)
        model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
        logs.append(logger.log)
    assert list(logs[1]["step"]) == [4, 8, 12, 16]
    for key, value in logs[0].items():
        np.testing.assert_array_equal(value, logs[1][key])


def test_the_probe_compiles_as_the_model_does_and_computes_the_same():
    """jit_compile="auto" follows model.jit_compile; the compiled probe agrees with the graph probe."""
    from models.execution import compile_model

    x, y = adding_problem(16, 12, seed=0)
    model = build_model("lstm", (12, 2), units=4, seed=0)
    logs = {}
    for compiled in (False, True):
        compile_model(model, compiled)
        logger = GradientLogger(x, y)
        logger.set_model(model)
        logger.on_train_begin()
        assert logger._probe_fn._jit_compile is compiled  # tf.function keeps the flag only privately
        logger.record()
        logs[compiled] = logger.log
    for key in ("h_grad_norm/lstm_1", "x_grad_norm", "global_grad_norm", "gate_mean/lstm_1/forget"):
        np.testing.assert_allclose(logs[True][key], logs[False][key], rtol=1e-4, atol=1e-9)
    with pytest.raises(ValueError, match="jit_compile must be"):
        GradientLogger(x, y, jit_compile="yes")


def test_one_logger_serves_two_fits_and_cadence_zero_records_epoch_ends_only():
    x, y = adding_problem(192, 12, seed=2)
    model = build_model("gru", (12, 2), units=4)
    logger = GradientLogger(x[:16], y[:16], every_n_batches=0)
    model.fit(x, y, batch_size=32, epochs=3, callbacks=[logger], verbose=0)
    assert list(logger.log["step"]) == [6, 12, 18] and list(logger.log["epoch"]) == [0, 1, 2]
    first_fit = logger.log["h_grad_norm/gru_1"].copy()
    smaller = build_model("gru", (12, 2), units=3)  # a different model: the probe must be rebuilt
    smaller.fit(x, y, batch_size=64, epochs=1, callbacks=[logger], verbose=0)
    assert list(logger.log["step"]) == [3]  # the second fit starts a fresh log
    assert logger.log["h_grad_norm/gru_1"].shape == (1, 12)
    assert not np.allclose(logger.log["h_grad_norm/gru_1"][0], first_fit[-1])
    assert logger.log["weight_grad_norm/gru/gru_1/gru_cell/kernel"].shape == (1,)


def test_probe_weights_choose_which_steps_the_probe_loss_reads():
    """With a per-step head, h_T only affects the last output: weighting only the first steps
    leaves dL/dh_T exactly zero; weighting only the last steps does not; all-ones weights change nothing."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 12, 3)).astype("float32")
    y = rng.integers(0, 4, size=(8, 12))
    model = build_model("simple_rnn", (12, 3), units=5, n_classes=4, per_step=True)

    def profile(weights):
        logger = GradientLogger(x, y, probe_weights=weights)
        logger.set_model(model)
        logger.on_train_begin()
        logger.record()
        return logger.log["h_grad_norm/simple_rnn_1"][0]

    early, late = np.zeros((8, 12)), np.zeros((8, 12))
    early[:, :4], late[:, -4:] = 1, 1
    assert np.all(profile(early)[4:] == 0) and np.all(profile(early)[:4] > 0)
    assert np.all(profile(late) > 0)
    np.testing.assert_allclose(profile(np.ones((8, 12))), profile(None), rtol=1e-6)
    np.testing.assert_allclose(profile(np.ones(8)), profile(None), rtol=1e-6)  # per-sample weights broadcast
    with pytest.raises(ValueError, match="probe_weights has shape"):
        GradientLogger(x, y, probe_weights=np.ones(3))


def test_fitting_epoch_by_epoch_or_resuming_continues_one_log():
    """Three one-epoch fits of one model log what one three-epoch fit logs; a fresh logger given the
    saved log (as after an interruption) continues it on a new model object, steps counting on."""
    x, y = adding_problem(192, 12, seed=2)
    model = build_model("gru", (12, 2), units=4)
    logger = GradientLogger(x[:16], y[:16], every_n_batches=4)
    for epoch in range(2):
        model.fit(x, y, batch_size=32, initial_epoch=epoch, epochs=epoch + 1, callbacks=[logger], verbose=0)
    assert list(logger.log["step"]) == [4, 6, 8, 12] and list(logger.log["epoch"]) == [0, 0, 1, 1]
    resumed = GradientLogger(x[:16], y[:16], every_n_batches=4)
    resumed.restore(logger.log)
    again = build_model("gru", (12, 2), units=4)
    again.set_weights(model.get_weights())
    again.fit(x, y, batch_size=32, initial_epoch=2, epochs=3, callbacks=[resumed], verbose=0)
    assert list(resumed.log["step"]) == [4, 6, 8, 12, 16, 18] and list(resumed.log["epoch"]) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("a", [0.5, 0.9])
def test_the_weights_predict_the_linear_rnns_decay(a):
    """||W_rec||_2 x mean activation slope: a x 1 for a linear RNN with W_rec = a I, which is also the
    decay the logger measures on ||dL/dh_t||."""
    from models.gradient_log import predicted_decay

    log = record_once(linear_rnn(a), *probe_batch())
    assert log["recurrent_norm/rnn"][0] == pytest.approx(a, rel=1e-6)
    assert log["activation_slope/rnn"][0] == 1.0
    assert predicted_decay(log, "rnn")[0] == pytest.approx(log["decay/rnn"][0], rel=1e-3)


def test_recurrent_norm_and_tanh_slope_match_the_layers_own_weights_and_output():
    x, y = probe_batch(features=2)
    model = build_model("simple_rnn", (T, 2), units=6, gain=1.3)
    model.fit(x, y, epochs=1, verbose=0)
    log = record_once(model, x, y)
    layer = model.get_layer("simple_rnn_1")
    kernel, recurrent, bias = (w.numpy() for w in layer.cell.weights)
    assert log["recurrent_norm/simple_rnn_1"][0] == pytest.approx(
        np.linalg.svd(recurrent, compute_uv=False)[0], rel=1e-5
    )
    sequences = keras.layers.SimpleRNN(6, return_sequences=True)  # the same weights, every h_t returned
    sequences(x)
    sequences.set_weights([kernel, recurrent, bias])
    h = sequences(x).numpy()
    assert log["activation_slope/simple_rnn_1"][0] == pytest.approx(np.mean(1 - h**2), rel=1e-5)


def test_per_unit_forget_gate_averages_to_the_per_step_mean():
    x, y = probe_batch(features=2)
    model = build_model("lstm", (T, 2), units=5, forget_bias=1.0)
    log = record_once(model, x, y)
    per_unit = log["gate_unit_mean/lstm_1/forget"]
    assert per_unit.shape == (1, 5)
    assert per_unit[0].mean() == pytest.approx(log["gate_mean/lstm_1/forget"][0].mean(), rel=1e-5)
    assert "recurrent_norm/lstm_1" not in log  # the prediction is the SimpleRNN's argument only


def test_the_memory_units_traces_agree_with_the_logger_and_the_layer():
    """models.memory_units runs the LSTM's own cell step by step: its forget gates average to the logger's
    per-step means, and its last cell state gives the layer's own output (h = o * tanh(c))."""
    from models.memory_units import lstm_traces

    x, y = probe_batch(features=2)
    model = build_model("lstm", (T, 2), units=5, forget_bias=2.0, seed=3)
    layer = model.get_layer("lstm_1")
    cell_states, forget = lstm_traces(layer, x)
    np.testing.assert_allclose(
        forget.mean(axis=(0, 2)), record_once(model, x, y)["gate_mean/lstm_1/forget"][0], rtol=1e-5
    )
    hidden = unrolled_forward(model, x).hidden["lstm_1"].numpy()
    kernel, recurrent, bias = (w.numpy() for w in (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))
    z = x[:, -1] @ kernel + hidden[:, -2] @ recurrent + bias
    output_gate = 1 / (1 + np.exp(-z[:, 15:20]))
    np.testing.assert_allclose(hidden[:, -1], output_gate * np.tanh(cell_states[:, -1]), atol=1e-5)
