"""The echo-state network (Jaeger 2001): a fixed random recurrent reservoir, scaled to a spectral
radius, with a leak rate, and a linear readout fitted by ridge regression; and its memory capacity.

Why a frozen Keras layer and scikit-learn rather than reservoirpy: the ESN is a cell like the others,
so its run must save, load (without pickle), probe and predict through the same Keras code. The
reservoir h_t = (1 - a) h_{t-1} + a tanh(x_t W_in + h_{t-1} W) is exactly a Keras GRU whose gates are
held constant (update gate 1 - a, reset gate 1), with trainable=False: plain Keras, no custom layer.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from data import ConfigError
from models.builder import head_layer, input_layers, loss_of
from models.execution import compile_model
from models.unroll import chain_layers, unroll_layer

CLOSED_GATE = 30.0  # a bias whose sigmoid is 1 (or 0 negated) to float32 precision: a gate held shut or open


def reservoir_weights(units: int, inputs: int, *, spectral_radius: float, input_scale: float, seed: int):
    """Input weights uniform in [-input_scale, input_scale] and Gaussian recurrent weights rescaled
    so that their largest absolute eigenvalue is `spectral_radius`."""
    rng = np.random.default_rng(seed)
    w_in = rng.uniform(-input_scale, input_scale, size=(inputs, units))
    w = rng.standard_normal((units, units))
    radius = np.max(np.abs(np.linalg.eigvals(w)))
    return w_in.astype("float32"), (w * (spectral_radius / radius)).astype("float32")


def build_reservoir_model(
    input_shape: tuple[int, ...],
    *,
    units: int = 32,
    spectral_radius: float = 0.95,
    leak_rate: float = 1.0,
    input_scale: float = 1.0,
    activation: str = "tanh",
    n_classes: int | None = None,
    vocab_size: int | None = None,
    embedding_dim: int = 32,
    per_step: bool = False,
    seed: int = 0,
) -> keras.Model:
    """An ESN as a Keras model: [frozen random embedding] -> frozen reservoir "esn_1" -> "head", whose
    weights `fit_readout` sets. Compiled with the loss of the other cells, for evaluation and the probe."""
    if not (0 < leak_rate <= 1):
        raise ConfigError(f"The leak rate must be above 0 and at most 1 (got {leak_rate}).")
    keras.utils.set_random_seed(seed)
    # a fixed random embedding too (no gradient trains anything before the readout), on the inputs' scale
    stack = input_layers(
        input_shape, vocab_size=vocab_size, embedding_dim=embedding_dim, seed=seed, embedding_scale=1.0, trainable=False
    )
    reservoir = keras.layers.GRU(units, activation=activation, return_sequences=per_step, trainable=False, name="esn_1")
    model = keras.Sequential([*stack, reservoir, head_layer(n_classes, seed)], name="esn")
    inputs = embedding_dim if vocab_size is not None else int(input_shape[-1])
    w_in, w = reservoir_weights(units, inputs, spectral_radius=spectral_radius, input_scale=input_scale, seed=seed)
    set_reservoir(reservoir, w_in, w, leak_rate)
    model.compile(optimizer=keras.optimizers.Adam(), loss=loss_of(n_classes))
    return model


def set_reservoir(layer: keras.layers.GRU, w_in: np.ndarray, w: np.ndarray, leak_rate: float) -> None:
    """Write an ESN into a GRU (Keras orders its blocks update z, reset r, candidate h): z = 1 - a and
    r = 1 whatever the input, the candidate tanh(x W_in + h W), so h = (1 - a) h + a tanh(x W_in + h W)."""
    units = layer.cell.units
    kernel = np.zeros((w_in.shape[0], 3 * units), "float32")
    recurrent = np.zeros((units, 3 * units), "float32")
    kernel[:, 2 * units :], recurrent[:, 2 * units :] = w_in, w
    bias = np.zeros((2, 3 * units), "float32")  # input and recurrent biases (reset_after)
    bias[0, :units] = -CLOSED_GATE if leak_rate == 1 else np.log((1 - leak_rate) / leak_rate)  # logit(1 - a)
    bias[0, units : 2 * units] = CLOSED_GATE
    layer.set_weights([kernel, recurrent, bias])


def reservoir_layer(model: keras.Model) -> keras.layers.GRU:
    found = [layer for layer in chain_layers(model) if layer.name == "esn_1"]
    if not found:
        raise ConfigError(f"Model {model.name!r} has no reservoir layer esn_1: it is not an echo-state network.")
    return found[0]


def recurrent_matrix(model: keras.Model) -> np.ndarray:
    """The reservoir's W (its candidate block), which training must leave untouched."""
    layer = reservoir_layer(model)
    return np.asarray(layer.cell.recurrent_kernel)[:, 2 * layer.cell.units :]


def fit_readout(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, ridge: float, batch_size: int = 256, compiled: bool = False
) -> None:
    """Fit the head on the reservoir's states: ridge regression for a regression output; for a softmax
    head, multinomial logistic regression with the same L2 penalty (C = 1 / 2 alpha), so its outputs are
    probabilities the cross-entropy can score. The reservoir is not touched. `compiled`: the reservoir's
    pass over `x` compiled by XLA (--jit-compile)."""
    features = keras.Sequential(chain_layers(model)[:-1])
    compile_model(features, compiled)
    states = features.predict(x, batch_size=batch_size, verbose=0)
    states = states.reshape(-1, states.shape[-1])  # one row per step when the head reads every step
    head = chain_layers(model)[-1]
    if head.activation is keras.activations.softmax:
        classes = head.units
        labels = np.asarray(y).reshape(-1).astype(int)
        with warnings.catch_warnings():  # lbfgs stopping at max_iter is close enough for a readout; say nothing
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = LogisticRegression(C=1 / (2 * ridge) if ridge else 1e12, max_iter=500).fit(states, labels)
        kernel = np.zeros((states.shape[1], classes), "float32")
        bias = np.full(classes, -CLOSED_GATE, "float32")  # a class never seen in training gets no probability
        kernel[:, fitted.classes_], bias[fitted.classes_] = fitted.coef_.T, fitted.intercept_
        if len(fitted.classes_) == 2:  # scikit-learn keeps one weight vector for two classes
            kernel[:, fitted.classes_] = np.stack([-fitted.coef_[0] / 2, fitted.coef_[0] / 2], axis=1)
            bias[fitted.classes_] = [-fitted.intercept_[0] / 2, fitted.intercept_[0] / 2]
    else:
        fitted = Ridge(alpha=ridge).fit(states, np.asarray(y, "float64").reshape(len(states), -1))
        kernel = np.reshape(fitted.coef_, (-1, states.shape[1])).T.astype("float32")  # (features, outputs)
        bias = np.ravel(fitted.intercept_).astype("float32")
    head.set_weights([kernel, bias])


def memory_capacity(
    model: keras.Model, *, delays: int | None = None, steps: int = 4000, washout: int = 200, seed: int = 0
) -> float | None:
    """Jaeger's short-term memory capacity: drive the reservoir with i.i.d. uniform input u_t on its first
    input feature and sum, over delays k = 0 .. delays-1, the squared correlation between u_{t-k} and a
    linear readout of h_t fitted to recall it (fitted on the first half, scored on the second). A linear
    reservoir of N units has at most N. None for a reservoir read through an embedding (no scalar input)."""
    layer = reservoir_layer(model)
    if any(isinstance(other, keras.layers.Embedding) for other in chain_layers(model)):
        return None
    units, width = layer.cell.units, int(layer.cell.kernel.shape[0])
    delays = delays or max(2 * units, 100)
    u = np.random.default_rng(seed).uniform(-1, 1, steps).astype("float32")
    drive = np.zeros((1, steps, width), "float32")
    drive[0, :, 0] = u
    unrolled = tf.function(lambda sequence: unroll_layer(layer, sequence)[0])  # compiled: eagerly, seconds
    states = np.asarray(unrolled(drive)[0], dtype="float64")  # (steps, units)
    middle = washout + (steps - washout) // 2
    test_rows = np.arange(middle, steps)
    total = 0.0
    for k in range(delays):
        fit_rows = np.arange(max(washout, k), middle)
        readout = LinearRegression().fit(states[fit_rows], u[fit_rows - k])
        recalled = readout.predict(states[test_rows])
        r = np.corrcoef(recalled, u[test_rows - k])[0, 1]
        total += 0.0 if not np.isfinite(r) else r * r
    return float(total)
