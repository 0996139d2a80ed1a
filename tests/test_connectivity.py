"""Connectivity (||d p(next char) / d x_t||) checked on models whose dependence is known."""

import numpy as np
import pytest

from data import CharVocab, ConfigError
from models.builder import build_model
from models.connectivity import connectivity

TEXT = "abcabcabcabcabcabc"
SEQ = 8


def text_model(cell="simple_rnn", recurrent=None, activation=None):
    vocab = CharVocab.from_text(TEXT)
    model = build_model(cell, (SEQ,), units=4, n_classes=vocab.size, vocab_size=vocab.size, embedding_dim=3)
    layer = model.get_layer(f"{cell}_1")
    if recurrent is not None:
        layer.cell.recurrent_kernel.assign(recurrent * np.eye(4, dtype="float32"))
    return model, vocab


def test_a_memoryless_rnn_depends_on_the_last_character_only():
    model, vocab = text_model(recurrent=0.0)
    found = connectivity(model, vocab, SEQ, TEXT, 10)
    assert found.start == 3 and len(found.strengths) == SEQ
    assert found.strengths[-1] > 1e-6
    assert np.all(found.strengths[:-1] < 1e-12)


def test_dependence_fades_step_by_step_back_in_time():
    model, vocab = text_model(recurrent=0.5)
    strengths = connectivity(model, vocab, SEQ, TEXT, 10).strengths
    assert np.all(np.diff(strengths) > 0)  # stronger the closer to the prediction


def test_the_strengths_are_the_gradient_finite_differences_give():
    import tensorflow as tf

    model, vocab = text_model(recurrent=0.8)
    position, back = 10, 3
    found = connectivity(model, vocab, SEQ, TEXT, position)
    ids = np.asarray([vocab.encode(TEXT[position + 1 - SEQ : position + 1])])
    target = vocab.encode(TEXT[position + 1])[0]
    embedded = model.layers[0](ids).numpy().astype("float64")

    def probability(vectors):
        value = tf.constant(vectors, dtype="float32")
        for layer in model.layers[1:]:
            value = layer(value)
        return float(value[0, target])

    gradient = np.zeros(embedded.shape[-1])
    for d in range(embedded.shape[-1]):
        up, down = embedded.copy(), embedded.copy()
        up[0, SEQ - 1 - back, d] += 1e-2
        down[0, SEQ - 1 - back, d] -= 1e-2
        gradient[d] = (probability(up) - probability(down)) / 2e-2
    assert found.strengths[SEQ - 1 - back] == pytest.approx(np.linalg.norm(gradient), rel=2e-2)


def test_the_probability_is_that_of_the_actual_next_character():
    model, vocab = text_model("lstm")
    found = connectivity(model, vocab, SEQ, TEXT, 10)
    ids = np.asarray([vocab.encode(TEXT[3:11])])
    assert found.target == TEXT[11]
    assert found.probability == pytest.approx(
        float(model.predict(ids, verbose=0)[0, vocab.encode(TEXT[11])[0]]), rel=1e-5
    )
    last = connectivity(model, vocab, SEQ, TEXT, len(TEXT) - 1)  # nothing follows: the most likely one
    probabilities = model.predict(np.asarray([vocab.encode(TEXT[-SEQ:])]), verbose=0)[0]
    assert last.target == vocab.decode([int(np.argmax(probabilities))])


def test_early_positions_use_the_characters_there_are():
    model, vocab = text_model("gru")
    found = connectivity(model, vocab, SEQ, TEXT, 2)
    assert found.start == 0 and len(found.strengths) == 3


@pytest.mark.parametrize("position", [-1, len(TEXT)])
def test_a_position_outside_the_passage_is_one_sentence(position):
    model, vocab = text_model()
    with pytest.raises(ConfigError, match="outside the passage"):
        connectivity(model, vocab, SEQ, TEXT, position)
