"""The cell builder and the unrolled cells that the GradientLogger relies on."""

import keras
import numpy as np
import pytest

from data import ConfigError
from models import BACKPROP_CELLS, build_model, count_params, unroll_layer, unrolled_forward


@pytest.mark.parametrize("cell", list(BACKPROP_CELLS))
@pytest.mark.parametrize("layers", [1, 2])
def test_unrolled_cell_reproduces_the_layers_own_output(cell, layers):
    x = np.random.default_rng(0).normal(size=(6, 15, 3)).astype("float32")
    model = build_model(cell, (15, 3), units=7, layers=layers, seed=1)
    value = x
    for layer in model.layers[:layers]:
        ours, _ = unroll_layer(layer, value)
        theirs = layer(value, training=False).numpy()
        ours = ours.numpy() if layer.return_sequences else ours.numpy()[:, -1]
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        value = theirs
    np.testing.assert_allclose(unrolled_forward(model, x).prediction.numpy(), model(x).numpy(), atol=1e-5)


def test_lstm_gates_match_the_cells_own_state_update():
    x = np.random.default_rng(2).normal(size=(4, 5, 2)).astype("float32")
    model = build_model("lstm", (5, 2), units=3, forget_bias=2.0)
    layer = model.layers[0]
    _, gates = unroll_layer(layer, x, with_gates=True)
    # At t=0 h is zero, so the forget gate is sigmoid(x W_f + b_f): compute it independently.
    kernel, _, bias = (w.numpy() for w in layer.cell.weights)
    pre = x[:, 0] @ kernel[:, 3:6] + bias[3:6]
    assert gates["forget"].numpy()[0] == pytest.approx((1 / (1 + np.exp(-pre))).mean(), rel=1e-5)
    np.testing.assert_allclose(bias[3:6], 2.0)  # the forget-gate bias option


def test_builder_options_reach_the_layers():
    model = build_model("simple_rnn", (10, 2), units=8, layers=2, gain=0.5, clipnorm=1.0, learning_rate=0.01)
    recurrent = model.layers[0].cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(np.linalg.svd(recurrent, compute_uv=False), 0.5, rtol=1e-4)  # orthogonal x gain
    assert model.optimizer.clipnorm == 1.0
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert [layer.name for layer in model.layers] == ["simple_rnn_1", "simple_rnn_2", "head"]


def test_parameter_counts_follow_the_cell_equations():
    units, features = 8, 3
    simple = units * (features + units + 1)
    for cell, gates in (("simple_rnn", 1), ("lstm", 4)):
        model = build_model(cell, (10, features), units=units)
        assert count_params(model) == gates * simple + units + 1  # + the Dense(1) head
    gru = build_model("gru", (10, features), units=units)
    assert count_params(gru) == 3 * units * (features + units + 2) + units + 1  # reset_after: two biases


def test_same_seed_same_weights_and_classifier_head():
    a = build_model("gru", (12,), vocab_size=20, n_classes=20, seed=3)
    b = build_model("gru", (12,), vocab_size=20, n_classes=20, seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    probs = a(np.zeros((2, 12), dtype="int32")).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_cell_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match="simple_rnn, lstm, gru"):
        build_model("transformer", (10, 1))


def test_backwards_layers_are_refused():
    layer = keras.layers.SimpleRNN(3, go_backwards=True)
    layer.build((None, 4, 2))
    with pytest.raises(ValueError, match="backwards"):
        unroll_layer(layer, np.zeros((1, 4, 2), "float32"))


def test_irnn_starts_from_the_identity_with_relu():
    """Le, Jaitly & Hinton 2015: recurrent weights = identity (x gain), ReLU, zero bias."""
    model = build_model("simple_rnn", (10, 2), units=6, init="irnn", gain=0.9)
    cell = model.layers[0].cell
    np.testing.assert_array_equal(cell.recurrent_kernel.numpy(), 0.9 * np.eye(6, dtype="float32"))
    assert cell.activation.__name__ == "relu" and not cell.bias.numpy().any()


def test_glorot_recurrent_weights_are_not_orthogonal():
    model = build_model("gru", (10, 2), units=6, init="glorot")
    recurrent = model.layers[0].cell.recurrent_kernel.numpy()
    limit = np.sqrt(6 / (6 + 18))  # Glorot uniform over fan-in 6 and fan-out 3 gates x 6 units
    assert np.abs(recurrent).max() <= limit
    singular = np.linalg.svd(recurrent[:, :6], compute_uv=False)
    assert singular.max() / singular.min() > 1.5  # an orthogonal block would have them all equal


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_irnn_is_refused_for_gated_cells_in_one_sentence(cell):
    from data import ConfigError

    with pytest.raises(ConfigError, match="irnn initialisation is for a SimpleRNN"):
        build_model(cell, (10, 2), init="irnn")


def test_chrono_gates_give_every_unit_its_own_time_scale():
    """Tallec & Ollivier (2018): forget bias log u, u uniform in [1, T - 1], input bias its negative; the
    constant init keeps --forget-bias for every unit and the input bias at 0."""
    chrono = build_model("lstm", (400, 2), units=64, gate_init="chrono", seed=3).get_layer("lstm_1").cell.bias.numpy()
    forget, given = chrono[64:128], chrono[:64]
    assert np.all(forget >= 0) and np.all(forget <= np.log(399)) and forget.max() > np.log(100)
    np.testing.assert_array_equal(given, -forget)
    assert not np.any(chrono[128:])  # candidate and output gates untouched
    again = build_model("lstm", (400, 2), units=64, gate_init="chrono", seed=3).get_layer("lstm_1").cell.bias.numpy()
    np.testing.assert_array_equal(chrono, again)  # the seed decides
    constant = build_model("lstm", (400, 2), units=4, forget_bias=2.0).get_layer("lstm_1").cell.bias.numpy()
    np.testing.assert_array_equal(constant[4:8], 2.0)
    np.testing.assert_array_equal(constant[:4], 0.0)
    with pytest.raises(ConfigError, match="choose one of constant, chrono"):
        build_model("lstm", (10, 2), gate_init="warp")
