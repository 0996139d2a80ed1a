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
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from data import ConfigError
from models.builder import head_layer, input_layers, loss_of
from models.execution import compile_model
from models.unroll import chain_layers

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


def reservoir_recursion(model: keras.Model) -> tuple[np.ndarray, np.ndarray, float, str]:
    """The reservoir's (W_in, W, leak rate a, activation name), read back from its GRU: the inverse of
    `set_reservoir`, so its states can be recomputed in float64 (`reservoir_states`)."""
    layer = reservoir_layer(model)
    units = layer.cell.units
    kernel, recurrent, bias = (np.asarray(v, dtype="float64") for v in layer.get_weights())
    keep = 1.0 / (1.0 + np.exp(-bias[0, :units]))  # the update gate: the share of the old state kept, 1 - a
    return kernel[:, 2 * units :], recurrent[:, 2 * units :], float(1.0 - keep.mean()), layer.cell.activation.__name__


def reservoir_states(model: keras.Model, drive: np.ndarray) -> np.ndarray:
    """States h_t = (1 - a) h_(t-1) + a f(x_t W_in + h_(t-1) W) of one input sequence (steps, features),
    in float64: the reservoir's own weights, without float32's rounding, which would hide the faint
    traces of far inputs that the memory capacity adds up."""
    w_in, w, leak, activation = reservoir_recursion(model)
    f = np.tanh if activation == "tanh" else (lambda z: z)
    h, states = np.zeros(w.shape[0]), np.zeros((len(drive), w.shape[0]))
    for t, x in enumerate(np.asarray(drive, dtype="float64")):
        h = (1 - leak) * h + leak * f(x @ w_in + h @ w)
        states[t] = h
    return states


def memory_function(
    model: keras.Model, *, delays: int | None = None, steps: int = 6000, washout: int = 500, seed: int = 0
) -> np.ndarray | None:
    """Jaeger's memory function m(k), k = 0 .. delays: drive the reservoir with i.i.d. uniform input u_t on
    its first input feature, fit a linear readout of h_t (least squares with an intercept, no cutoff) to
    recall u_(t-k) on the first half, and score its squared correlation on the second. For a linear
    reservoir of N units the m(k) add up to N over k >= 0 (the states span N directions of the input's
    past). None for a reservoir read through an embedding (no scalar input)."""
    layer = reservoir_layer(model)
    if any(isinstance(other, keras.layers.Embedding) for other in chain_layers(model)):
        return None
    units, width = layer.cell.units, int(layer.cell.kernel.shape[0])
    delays = delays or max(4 * units, 100)
    u = np.random.default_rng(seed).uniform(-1, 1, steps)
    drive = np.zeros((steps, width))
    drive[:, 0] = u
    states = np.c_[reservoir_states(model, drive), np.ones(steps)]  # and the intercept
    middle = washout + (steps - washout) // 2
    test_rows = np.arange(middle, steps)
    found = np.zeros(delays + 1)
    for k in range(delays + 1):
        fit_rows = np.arange(max(washout, k), middle)
        weights, *_ = np.linalg.lstsq(states[fit_rows], u[fit_rows - k], rcond=None)
        r = np.corrcoef(states[test_rows] @ weights, u[test_rows - k])[0, 1]
        found[k] = 0.0 if not np.isfinite(r) else r * r
    return found


def memory_capacity(model: keras.Model, **options) -> float | None:
    """Jaeger's short-term memory capacity, as Jaeger (2002) and reservoirpy count it: the memory function
    summed from delay 1 (recalling inputs before the present one). A linear reservoir of N units reads N
    minus m(0), about N - 1; see `memory_function`. None for a reservoir read through an embedding."""
    found = memory_function(model, **options)
    return None if found is None else float(found[1:].sum())
