"""Training that `model.fit` cannot do: truncated back-propagation through time (`--tbptt K`) and
the gradient-norm penalty (`--penalty`), one epoch at a time through the unrolled cells the
GradientLogger probes, so the log shows the very gradient the optimizer gets.

The model stays a plain Keras model (it saves and loads like any other); only its training step is ours.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from models.execution import xla_function
from models.penalty import gradient_penalty
from models.unroll import recurrent_layers, unrolled_forward


def make_train_step(
    model: keras.Model, *, truncate_every: int | None = None, penalty: float = 0.0, compiled: bool = False
):
    """A graph step `step(x, y) -> (task loss, loss with penalty)` that applies one update to
    `model` with its own optimizer (so --clipnorm clips as in model.fit).

    truncate_every: K, the gradient stops between chunks of K steps (the state is carried on).
    penalty: the weight of Pascanu et al.'s term on each SimpleRNN layer (0: none).
    compiled: compile the step with XLA (--jit-compile), as model.fit's step is.
    """
    loss_fn = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    variables = model.trainable_variables
    penalised = [layer for layer in recurrent_layers(model) if isinstance(layer, keras.layers.SimpleRNN)]
    penalised = penalised if penalty else []

    def step(x, y):
        batch, steps = tf.shape(x)[0], x.shape[1]
        probes = {layer.name: tf.zeros((steps, batch, layer.cell.units)) for layer in penalised}
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:  # dL/dh_t only, which the penalty holds constant
                inner.watch(list(probes.values()))
                forward = unrolled_forward(model, x, probes, truncate_every=truncate_every)
                loss = tf.reduce_mean(loss_fn(y, forward.prediction))  # the mean, as fit's default reduction
            total = loss
            if penalised:
                with tape.stop_recording():
                    h_grads = inner.gradient(loss, [probes[layer.name] for layer in penalised])
                terms = [
                    gradient_penalty(layer.cell, forward.hidden[layer.name], g)
                    for layer, g in zip(penalised, h_grads, strict=True)
                ]
                total = loss + penalty * tf.add_n(terms)
        grads = tape.gradient(total, variables)
        model.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss, total

    return xla_function(step, compiled)


def fit_epoch(
    model: keras.Model,
    step,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epoch: int,
    batch_size: int,
    order: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    callbacks: list[keras.callbacks.Callback],
) -> dict[str, float]:
    """One epoch of `step` over the batches of x[order], calling the callbacks as model.fit does;
    returns the epoch's mean training loss and its validation loss, as fit's history has them."""
    hooks = keras.callbacks.CallbackList(callbacks, model=model)
    steps = int(np.ceil(len(x) / batch_size))
    hooks.on_train_begin()
    hooks.on_epoch_begin(epoch)
    total, seen = 0.0, 0
    for index in range(steps):
        chosen = order[index * batch_size : (index + 1) * batch_size]
        hooks.on_train_batch_begin(index)
        loss, _ = step(tf.constant(x[chosen]), tf.constant(y[chosen]))
        loss = float(loss)
        total, seen = total + loss * len(chosen), seen + len(chosen)  # weighted by batch size, as fit's mean
        hooks.on_train_batch_end(index, {"loss": total / seen})
    logs = {"loss": total / seen}
    if validation is not None:
        logs["val_loss"] = float(model.evaluate(*validation, batch_size=batch_size, verbose=0))
    hooks.on_epoch_end(epoch, logs)
    hooks.on_train_end(logs)
    return logs
