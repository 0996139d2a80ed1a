"""Character generation one step at a time: one compiled step function carries the recurrent states
(embedding -> each layer's own cell -> head), so a character costs one step, not a whole window.

Models of another shape get None from `StepSampler.of`, and the caller keeps the window method.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from models.unroll import RECURRENT_TYPES, chain_layers

_SAMPLERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one traced step per model


class StepSampler:
    """Next-character probabilities of an Embedding -> recurrent layers -> Dense model, one step at a time.

    `start(window)` runs the model's context window (left-padded ids, exactly as the model was
    trained) through the cells and returns the probabilities after it, equal to the model's own
    output on that window; `advance(id, state)` feeds one more character. The state then carries on past
    the window, as char-rnn samplers do: the cells were trained from a zero state over windows of
    this length, and the window's first characters already weigh little in their state.
    """

    def __init__(self, model: keras.Model):
        layers = chain_layers(model)
        self.embedding, self.cells, self.head = layers[0], [layer.cell for layer in layers[1:-1]], layers[-1]
        self._step = tf.function(self._one_step, reduce_retracing=True)

    @classmethod
    def of(cls, model: keras.Model) -> StepSampler | None:
        """The sampler of `model`, or None if the model is not an Embedding, forward stateless
        recurrent layers and a Dense head."""
        if model in _SAMPLERS:
            return _SAMPLERS[model]
        layers = chain_layers(model) if isinstance(model, keras.Model) else []
        fits = (
            len(layers) >= 3
            and isinstance(layers[0], keras.layers.Embedding)
            and isinstance(layers[-1], keras.layers.Dense)
            and all(
                isinstance(layer, RECURRENT_TYPES) and not layer.go_backwards and not layer.stateful
                for layer in layers[1:-1]
            )
        )
        sampler = cls(model) if fits else None
        _SAMPLERS[model] = sampler
        return sampler

    def _one_step(self, ids, states):
        value = self.embedding(ids)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            value, state = cell.call(value, state, training=False)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        return self.head(value), new_states

    def start(self, window: np.ndarray) -> tuple[np.ndarray, list]:
        """Probabilities after the (seq_len,) window of ids, from a zero state, and the state after it."""
        states = [[tf.zeros((1, cell.units)) for _ in _state_sizes(cell)] for cell in self.cells]
        probabilities = None
        for token in window:
            probabilities, states = self.advance(int(token), states)
        return probabilities, states

    def advance(self, token: int, states: list) -> tuple[np.ndarray, list]:
        """Probabilities after one more character, and the new state (the sampler keeps none, so two
        generations with one model may run at once)."""
        probabilities, states = self._step(tf.constant([token], dtype=tf.int32), states)
        return probabilities.numpy()[0].astype(float), states


def _state_sizes(cell) -> list:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]
