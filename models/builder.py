"""One builder for every recurrent cell compared here: simple_rnn, lstm, gru.

Cells in a comparison share units, depth, initialisation, optimizer and seed, so the only
difference left is the cell itself. Models are plain Keras (no custom code) so they load safely.
"""

from __future__ import annotations

import keras
import numpy as np

from data import ConfigError
from models.cells import BACKPROP_CELLS, CELL_TABLE, GATE_INITS, INITS, RESERVOIR_CELLS


def build_model(
    cell: str,
    input_shape: tuple[int, ...],
    *,
    units: int = 32,
    layers: int = 1,
    dropout: float = 0.0,
    gain: float = 1.0,
    init: str = "orthogonal",
    clipnorm: float | None = None,
    learning_rate: float = 1e-3,
    forget_bias: float = 1.0,
    gate_init: str = "constant",
    n_classes: int | None = None,
    vocab_size: int | None = None,
    embedding_dim: int = 32,
    per_step: bool = False,
    seed: int = 0,
) -> keras.Model:
    """Build and compile a recurrent model: many-to-one, or one output per time step.

    Args:
        cell: "simple_rnn", "lstm" or "gru".
        input_shape: (timesteps, features) for float sequences, or (timesteps,) for integer
            ids when `vocab_size` is given (an Embedding layer comes first).
        units: units per recurrent layer. Defaults to `32`.
        layers: stacked recurrent layers. Defaults to `1`.
        dropout: input dropout of each recurrent layer. Defaults to `0.0`.
        gain: gain of the orthogonal recurrent initializer, the "Wrec" scale: below 1 the
            gradient vanishes, well above it explodes. Defaults to `1.0`.
        init: recurrent weights: "orthogonal" (x gain), "irnn" (identity x gain and a ReLU
            activation, SimpleRNN only; Le, Jaitly & Hinton 2015) or "glorot". Defaults to
            `"orthogonal"`.
        clipnorm: clip each gradient to this norm, or None. Defaults to `None`.
        learning_rate: Adam's learning rate. Defaults to `1e-3`.
        forget_bias: initial forget-gate bias of LSTM layers. Defaults to `1.0`.
        gate_init: "constant" (the forget bias above, input bias 0) or "chrono": each LSTM unit's
            forget bias log u with u uniform in [1, T - 1] for T the sequence length, its input bias
            -log u, so units start with memories of every time scale up to T (Tallec & Ollivier
            2018). Defaults to `"constant"`.
        n_classes: a softmax head over this many classes, or None for one regression output.
        vocab_size: embed integer inputs over this vocabulary, or None for float inputs.
        embedding_dim: size of that embedding. Defaults to `32`.
        per_step: the head reads every time step (the last recurrent layer returns sequences),
            for tasks with a target per step. Defaults to `False`.
        seed: seeds every initializer and the global generators. Defaults to `0`.
    """
    if cell in RESERVOIR_CELLS:
        raise ConfigError(
            f"A {cell} is not trained by back-propagation: build it with models.reservoir.build_reservoir_model."
        )
    if cell not in BACKPROP_CELLS:
        raise ConfigError(f"Unknown cell {cell!r}: choose one of {', '.join(BACKPROP_CELLS)}.")
    if init not in INITS:
        raise ConfigError(f"Unknown init {init!r}: choose one of {', '.join(INITS)}.")
    if gate_init not in GATE_INITS:
        raise ConfigError(f"Unknown gate init {gate_init!r}: choose one of {', '.join(GATE_INITS)}.")
    if init == "irnn" and cell != "simple_rnn":
        raise ConfigError(f"The irnn initialisation is for a SimpleRNN, not a {cell}: use cell simple_rnn.")
    if layers < 1 or units < 1:
        raise ConfigError(f"A model needs at least one layer and one unit (got layers={layers}, units={units}).")
    keras.utils.set_random_seed(seed)
    stack = input_layers(input_shape, vocab_size=vocab_size, embedding_dim=embedding_dim, seed=seed)
    for index in range(layers):
        stack.append(
            getattr(keras.layers, CELL_TABLE[cell].layer)(
                units,
                return_sequences=per_step or index < layers - 1,
                dropout=dropout,
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 10 * index + 1),
                recurrent_initializer=recurrent_initializer(init, gain, seed + 10 * index + 2),
                name=f"{cell}_{index + 1}",
                **({"activation": "relu"} if init == "irnn" else {}),
                **({"unit_forget_bias": False} if cell == "lstm" else {}),
            )
        )
    stack.append(head_layer(n_classes, seed))
    model = keras.Sequential(stack, name=cell)
    if cell == "lstm" and gate_init == "chrono":
        set_chrono_bias(model, time_steps=int(input_shape[0]), seed=seed)
    elif cell == "lstm":
        set_forget_bias(model, forget_bias)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm)
    model.compile(optimizer=optimizer, loss=loss_of(n_classes))
    return model


def input_layers(
    input_shape: tuple[int, ...],
    *,
    vocab_size: int | None,
    embedding_dim: int,
    seed: int,
    embedding_scale: float = 0.05,
    trainable: bool = True,
) -> list[keras.layers.Layer]:
    """The model's input, and an Embedding of integer ids (uniform in +-embedding_scale) when a
    vocabulary is given: the same for every cell, the echo-state network's included."""
    stack: list[keras.layers.Layer] = [keras.Input(shape=tuple(input_shape), name="sequence")]
    if vocab_size is not None:
        stack.append(
            keras.layers.Embedding(
                vocab_size,
                embedding_dim,
                name="embedding",
                trainable=trainable,
                embeddings_initializer=keras.initializers.RandomUniform(-embedding_scale, embedding_scale, seed=seed),
            )
        )
    return stack


def head_layer(n_classes: int | None, seed: int) -> keras.layers.Dense:
    """A softmax over `n_classes`, or one regression output when None."""
    classify = n_classes is not None
    return keras.layers.Dense(
        n_classes if classify else 1,
        activation="softmax" if classify else None,
        name="head",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 7),
    )


def loss_of(n_classes: int | None) -> str:
    return "sparse_categorical_crossentropy" if n_classes is not None else "mse"


def recurrent_initializer(init: str, gain: float, seed: int) -> keras.initializers.Initializer:
    if init == "irnn":
        return keras.initializers.Identity(gain=gain)  # h_t = relu(h_{t-1} + ...): the state is carried unchanged
    if init == "glorot":
        return keras.initializers.GlorotUniform(seed=seed)
    return keras.initializers.Orthogonal(gain=gain, seed=seed)


def set_forget_bias(model: keras.Model, value: float) -> None:
    """Write `value` into the forget slice of every LSTM bias (Keras orders gates i, f, c, o).

    Done on the built weights rather than with a custom initializer, so saved models need no
    custom code to load.
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.LSTM):
            bias = layer.cell.bias
            units = layer.cell.units
            values = np.zeros(bias.shape, dtype="float32")
            values[units : 2 * units] = value
            bias.assign(values)


def set_chrono_bias(model: keras.Model, time_steps: int, seed: int) -> None:
    """Chrono initialisation of every LSTM's gate biases (Tallec & Ollivier 2018, "Can recurrent neural
    networks warp time?"): unit j's forget bias b_j = log u_j, u_j uniform in [1, T - 1], and its input
    bias -b_j, so a unit forgets on a time scale of about u_j steps and at first writes little. Written
    into the built weights, like set_forget_bias, so saved models need no custom code."""
    rng = np.random.default_rng([seed, 0xC4])
    for layer in model.layers:
        if isinstance(layer, keras.layers.LSTM):
            units = layer.cell.units
            forget = np.log(rng.uniform(1.0, max(time_steps - 1, 2), size=units))
            values = np.zeros(layer.cell.bias.shape, dtype="float32")
            values[:units], values[units : 2 * units] = -forget, forget
            layer.cell.bias.assign(values)


def count_params(model: keras.Model) -> int:
    """Trainable parameters: the budget to compare cells by."""
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))
