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

    `start(ids)` runs a prompt's last characters through the cells from a zero state, as the model
    read each training window, and returns the model's own output on those characters; `advance(id,
    states)` feeds one more. The states then carry on past seq_len rather than being re-warmed from
    the last seq_len characters: this is how char-rnn samples models trained on truncated windows,
    the gated and tanh states stay bounded however long they run, and the text keeps conditioning
    on everything before it instead of forgetting it at a hard cut (re-warming would also double
    the steps per character).
    """

    def __init__(self, model: keras.Model):
        layers = chain_layers(model)
        self.embedding, self.cells, self.head = layers[0], [layer.cell for layer in layers[1:-1]], layers[-1]
        self._step = tf.function(self._one_step, reduce_retracing=True)

    @classmethod
    def of(cls, model) -> StepSampler | None:
        """The sampler of `model`, or None unless the model is an Embedding, forward stateless
        recurrent layers whose last one returns only its last step, and a Dense head."""
        if not isinstance(model, keras.Model):
            return None
        if model in _SAMPLERS:
            return _SAMPLERS[model]
        layers = chain_layers(model)
        recurrent = layers[1:-1]
        fits = (
            len(layers) >= 3
            # a mask would make the recurrent layers skip id 0, which the step function would feed
            and isinstance(layers[0], keras.layers.Embedding)
            and not layers[0].mask_zero
            and isinstance(layers[-1], keras.layers.Dense)
            and all(
                isinstance(layer, RECURRENT_TYPES) and not layer.go_backwards and not layer.stateful
                for layer in recurrent
            )
            # a head on every step gives one output per character: the window method refuses those
            and [layer.return_sequences for layer in recurrent] == [True] * (len(recurrent) - 1) + [False]
        )
        sampler = cls(model) if fits else None
        _SAMPLERS[model] = sampler
        return sampler

    def _one_step(self, ids, states):
        value = self.embedding(ids)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            # states go in as lists, as the RNN layers pass them: every cell then returns a list
            # ([h] for SimpleRNN and GRU, [h, c] for LSTM)
            value, state = cell(value, state, training=False)
            new_states.append(list(state))
        return self.head(value), new_states

    def start(self, ids) -> tuple[np.ndarray, list]:
        """Probabilities after `ids` (at least one), read from a zero state, and the states after them."""
        states = [list(cell.get_initial_state(batch_size=1)) for cell in self.cells]
        probabilities = None
        for token in ids:
            probabilities, states = self.advance(int(token), states)
        return probabilities, states

    def advance(self, token: int, states: list) -> tuple[np.ndarray, list]:
        """Probabilities after one more character, and the new states (the sampler keeps none, so two
        generations with one model may run at once)."""
        probabilities, states = self._step(tf.constant([token], dtype=tf.int32), states)
        return probabilities.numpy()[0].astype(float), states
