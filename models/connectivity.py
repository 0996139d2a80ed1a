"""Connectivity, after Distill's "Visualizing memorization in RNNs" (Madsen 2019): ||d p(next) / d x_t||, how
strongly a text model's next-character prediction depends on the embedding x_t of each earlier character.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from data import CharVocab, ConfigError, RunError
from data.corpus import UNKNOWN_ID
from models.inference import first_words
from models.unroll import chain_layers


@dataclass(frozen=True)
class Connectivity:
    """For each character of `text[start : position + 1]`, how much p(target) depends on it."""

    strengths: np.ndarray  # (position + 1 - start,) gradient norms, oldest character first
    characters: str  # the characters read, as they stand in the text (unknown ones included)
    start: int  # where in the text the first of them is
    target: str  # the character whose probability was differentiated
    probability: float  # the model's probability of it

    @property
    def positions(self) -> np.ndarray:
        """The index in the text of each strength."""
        return np.arange(self.start, self.start + len(self.strengths))


def connectivity(model, vocab: CharVocab, seq_len: int, text: str, position: int) -> Connectivity:
    """How strongly the model's probability of the character after `text[position]` depends on each
    of the (at most `seq_len`) characters it reads, up to and including `text[position]`.

    The target is the character that follows in `text`, or the most likely one after its last
    character. Characters outside the vocabulary are read as the unknown marker, as in generation.

    Example:
        found = connectivity(model, vocab, seq_len, "To be, or not to be", 12)
        for index, strength in zip(found.positions, found.strengths): ...
    """
    return connectivity_at(model, vocab, seq_len, text, [position])[0]


def connectivity_at(model, vocab: CharVocab, seq_len: int, text: str, positions) -> list[Connectivity]:
    """`connectivity` at several positions of one text, one gradient per window length rather than per
    position (the windows of a batch are independent, so the gradient of their summed probabilities
    holds each window's own gradient)."""
    positions = [_checked_position(position, text) for position in positions]
    targets = {position: _target_id(vocab, text, position) for position in positions}
    embedding, rest = _split(model)
    found: dict[int, Connectivity] = {}
    by_length: dict[int, list[int]] = {}
    for position in positions:
        by_length.setdefault(min(position + 1, seq_len), []).append(position)
    for length, group in by_length.items():
        # Unpadded: training windows never start with padding, and the step sampler warms up on the
        # prompt's own characters too; a shorter window is read from a zero state, as a window's start.
        ids = np.stack([vocab.encode(text[position + 1 - length : position + 1]) for position in group])
        try:
            gradient, chosen = _gradient(embedding, rest, ids, [targets[p] for p in group], vocab.size)
        except (ValueError, TypeError, tf.errors.OpError) as exc:  # Keras explains over many lines, we in one sentence
            raise RunError(
                f"The model cannot read {length} characters of context ({first_words(exc)}): load a text run or retrain it."
            ) from exc
        strengths = np.linalg.norm(gradient, axis=-1)  # (windows, length)
        for row, position in enumerate(group):
            start = position + 1 - length
            found[position] = Connectivity(
                strengths=strengths[row],
                characters=text[start : position + 1],
                start=start,
                target=vocab.chars[chosen[row][0]],
                probability=chosen[row][1],
            )
    return [found[position] for position in positions]


def _checked_position(position, text: str) -> int:
    if isinstance(position, bool) or not isinstance(position, numbers.Integral) or not 0 <= position < len(text):
        raise ConfigError(
            f"Position {position!r} is outside the passage of {len(text)} characters: choose a whole number from 0 to {len(text) - 1}."
        )
    return int(position)


def _split(model) -> tuple[keras.layers.Embedding, list[keras.layers.Layer]]:
    """The embedding and the layers after it, called in order in place of the model."""
    layers = chain_layers(model) if isinstance(model, keras.Sequential) else []
    if not layers or not isinstance(layers[0], keras.layers.Embedding):
        raise RunError("This model does not read characters through an embedding first: load a text run.")
    if layers[0].mask_zero:  # called one by one, the layers would not pass the mask on as the model does
        raise RunError("This model masks the unknown character, which connectivity cannot follow: load a text run.")
    return layers[0], layers[1:]


def _target_id(vocab: CharVocab, text: str, position: int) -> int | None:
    """The id of the character after `position`, or None (the most likely) after the last one."""
    if position + 1 == len(text):
        return None
    following = text[position + 1]
    if vocab.unknown_chars(following):  # its probability would be the marker's, which is never an answer
        raise ConfigError(
            f"The character after position {position} ({following!r}) is not in this model's vocabulary: choose another position."
        )
    return int(vocab.encode(following)[0])


def _gradient(embedding, rest, ids: np.ndarray, targets: list[int | None], classes: int):
    """d p(target) / d x_t for each window, (windows, length, embedding_dim), and each window's
    (target id, probability)."""
    embedded = tf.convert_to_tensor(embedding(ids))
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        value = embedded
        for layer in rest:
            value = layer(value, training=False)
        if tuple(value.shape) != (len(ids), classes):
            raise RunError(
                f"The model gives outputs of shape {tuple(value.shape[1:])} for a vocabulary of {classes} characters: load the run it belongs to."
            )
        usable = np.array(value)  # a copy: the tensor's own numpy view must stay as it is
        usable[:, UNKNOWN_ID] = -np.inf  # the marker is never an answer (generation zeroes it), nor the most likely
        chosen_ids = [
            int(np.argmax(row)) if target is None else target for row, target in zip(usable, targets, strict=True)
        ]
        chosen = tf.gather(value, chosen_ids, axis=1, batch_dims=1)
        total = tf.reduce_sum(chosen)
    gradient = tape.gradient(total, embedded).numpy()
    return gradient, [(i, float(p)) for i, p in zip(chosen_ids, chosen.numpy(), strict=True)]
