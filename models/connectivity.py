"""Connectivity, after Distill's "Visualizing memorization in RNNs" (Madsen 2019): how strongly a text
model's prediction of the next character depends on each earlier character, ||d p(next) / d x_t||.

x_t is the embedding vector of the character at t (ids are integers, so the gradient is taken there).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from data import CharVocab, ConfigError
from data.corpus import UNKNOWN_ID
from models.unroll import chain_layers


@dataclass
class Connectivity:
    """Per character of `text[start : position + 1]`, the norm of the gradient of p(target) there."""

    strengths: np.ndarray  # (position + 1 - start,)
    start: int  # where in the text the first character is
    target: str  # the character whose probability was differentiated
    probability: float  # the model's probability of it


def connectivity(model, vocab: CharVocab, seq_len: int, text: str, position: int) -> Connectivity:
    """Gradient norms of the probability of the character after `position` (the actual one in `text`;
    the most likely one when `position` is the last character) with respect to each earlier
    character's embedding, over the model's context window (`seq_len` characters)."""
    if not 0 <= position < len(text):
        raise ConfigError(
            f"Position {position} is outside the passage of {len(text)} characters: choose 0 to {len(text) - 1}."
        )
    layers = chain_layers(model)
    if not layers or not isinstance(layers[0], keras.layers.Embedding):
        raise ConfigError("This model does not read characters through an embedding: load a text run.")
    start = max(0, position + 1 - seq_len)
    ids = np.full((1, seq_len), UNKNOWN_ID, dtype=np.int32)  # left-padded like generation's context
    window = vocab.encode(text[start : position + 1])
    ids[0, seq_len - len(window) :] = window
    embedded = tf.convert_to_tensor(layers[0](ids))
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        value = embedded
        for layer in layers[1:]:
            value = layer(value, training=False)
        probabilities = value[0]
        if position + 1 < len(text):
            target_id = int(vocab.encode(text[position + 1])[0])
        else:
            target_id = int(tf.argmax(probabilities))
        chosen = probabilities[target_id]
    gradient = tape.gradient(chosen, embedded)[0].numpy()  # (seq_len, embedding_dim)
    strengths = np.linalg.norm(gradient, axis=1)[seq_len - len(window) :]
    return Connectivity(strengths, start, vocab.decode([target_id]), float(chosen))
