"""Run a chain model with its recurrent layers unrolled step by step through their own cells.

Each hidden state h_t gets a zero "probe" added to it; the gradient of the loss with respect to
that probe is exactly dL/dh_t (through every later step and layer). TensorFlow backend only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import tensorflow as tf

from models.gradient_log import GATES

RECURRENT_TYPES = (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)


@dataclass
class UnrolledPass:
    """What one unrolled forward pass produced."""

    prediction: tf.Tensor
    hidden: dict[str, tf.Tensor] = field(default_factory=dict)  # layer name -> (batch, T, units)
    gates: dict[str, dict[str, tf.Tensor]] = field(default_factory=dict)  # lstm name -> gate -> (T,)
    forget_per_unit: dict[str, tf.Tensor] = field(default_factory=dict)  # lstm name -> (units,) mean over T


def chain_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in call order, without the InputLayer."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in chain_layers(model) if isinstance(layer, RECURRENT_TYPES)]


def unroll_layer(layer, inputs, probe=None, with_gates: bool = False, truncate_every: int | None = None):
    """Unroll `layer.cell` over `inputs` (batch, T, features) in inference mode.

    Args:
        probe: None or a (T, batch, units) tensor added to h_t before it is passed on.
        with_gates: also return the mean forget/input/output activations per step (LSTM).
        truncate_every: K for truncated back-propagation through time: the state entering steps
            K, 2K, ... keeps its value but passes no gradient back, so no gradient crosses from one
            chunk of K steps to the one before. None: the whole sequence.

    Returns:
        (hidden (batch, T, units), gates dict or None); with gates, the dict also holds
        "forget_per_unit" (units,): each unit's forget gate averaged over steps and samples.
    """
    if layer.go_backwards or getattr(layer, "stateful", False):
        raise ValueError(
            f"Layer {layer.name!r} runs backwards or statefully; only forward, stateless layers can be unrolled."
        )
    cell = layer.cell
    inputs = tf.convert_to_tensor(inputs)
    steps = inputs.shape[1]
    batch = tf.shape(inputs)[0]
    time_major = tf.transpose(inputs, [1, 0, 2])
    states = [tf.cast(s, inputs.dtype) for s in cell.get_initial_state(batch_size=batch)]
    want_gates = with_gates and isinstance(layer, keras.layers.LSTM)

    def step(t, states, hidden_ta, gate_ta, forget_sum):
        x_t = time_major[t]
        if truncate_every is not None:
            carry = tf.cast(tf.not_equal(t % truncate_every, 0), inputs.dtype)  # 0 at a chunk's first step
            states = [carry * s + (1 - carry) * tf.stop_gradient(s) for s in states]
        if want_gates:
            means, forget = lstm_gate_means(cell, x_t, states[0])
            gate_ta = gate_ta.write(t, means)
            forget_sum = forget_sum + forget
        h_t, new_states = cell.call(x_t, states, training=False)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if probe is not None:
            h_t = h_t + probe[t]
            new_states[0] = h_t  # the probed h is what the next step sees
        return t + 1, new_states, hidden_ta.write(t, h_t), gate_ta, forget_sum

    hidden_ta = tf.TensorArray(inputs.dtype, size=steps)
    gate_ta = tf.TensorArray(inputs.dtype, size=steps if want_gates else 0, element_shape=(3,))
    forget_sum = tf.zeros((cell.units,), dtype=inputs.dtype)
    _, _, hidden_ta, gate_ta, forget_sum = tf.while_loop(
        lambda t, *_: t < steps,
        step,
        (tf.constant(0), states, hidden_ta, gate_ta, forget_sum),
        parallel_iterations=1,
        maximum_iterations=steps,
    )
    hidden = tf.transpose(hidden_ta.stack(), [1, 0, 2])
    if not want_gates:
        return hidden, None
    means = gate_ta.stack()  # (T, 3)
    gates = dict(zip(GATES, tf.unstack(means, axis=1), strict=True))
    return hidden, {**gates, "forget_per_unit": forget_sum / steps}


def activation_derivative(activation, hidden):
    """A SimpleRNN activation's derivative at each step, from its outputs h (tanh' = 1 - h^2); None for
    an activation whose derivative h does not give."""
    name = getattr(activation, "__name__", "")
    if name == "tanh":
        return 1.0 - hidden * hidden
    if name == "relu":
        return tf.cast(hidden > 0, hidden.dtype)
    if name == "linear":
        return tf.ones_like(hidden)
    return None


def lstm_gate_means(cell, x_t, h_prev):
    """Mean forget, input and output gate activations at one step, in the order of GATES, and the
    forget gate of each unit averaged over the batch (Keras orders the gates' weights i, f, c, o)."""
    z = tf.matmul(x_t, cell.kernel) + tf.matmul(h_prev, cell.recurrent_kernel)
    if cell.use_bias:
        z = z + cell.bias
    i, f, _, o = tf.split(z, 4, axis=-1)
    act = cell.recurrent_activation
    forget = act(f)
    means = tf.stack([tf.reduce_mean(forget), tf.reduce_mean(act(i)), tf.reduce_mean(act(o))])
    return means, tf.reduce_mean(forget, axis=0)


def unrolled_forward(
    model, x, probes: dict | None = None, input_probe=None, with_gates: bool = False, truncate_every: int | None = None
) -> UnrolledPass:
    """Call the chain model layer by layer, unrolling each recurrent layer.

    `probes` maps a recurrent layer's name to its (T, batch, units) probe; `input_probe`
    (batch, T, features) is added to the sequence entering the first recurrent layer, so its
    gradient is dL/dx_t. `truncate_every` stops the gradient between chunks (see `unroll_layer`).
    """
    probes = probes or {}
    result = UnrolledPass(prediction=None)
    value = tf.convert_to_tensor(x)
    seen_recurrent = False
    for layer in chain_layers(model):
        if isinstance(layer, RECURRENT_TYPES):
            if not seen_recurrent and input_probe is not None:
                value = value + input_probe
            seen_recurrent = True
            hidden, gates = unroll_layer(layer, value, probes.get(layer.name), with_gates, truncate_every)
            result.hidden[layer.name] = hidden
            if gates is not None:
                result.forget_per_unit[layer.name] = gates.pop("forget_per_unit")
                result.gates[layer.name] = gates
            value = hidden if layer.return_sequences else hidden[:, -1]
        else:
            value = layer(value, training=False)
    result.prediction = value
    return result
