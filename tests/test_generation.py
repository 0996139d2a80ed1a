"""The step-by-step sampler: the carried state gives the model's own probabilities, generation is
reproducible, never writes the unknown marker, and models of another shape keep the window method."""

import keras
import numpy as np
import pytest

from data import CharVocab
from data.corpus import UNKNOWN_ID
from models.builder import build_model
from models.inference import generate
from models.sampler import StepSampler

TEXT = "to be or not to be, that is the question"
SEQ = 12


def text_model(cell):
    vocab = CharVocab.from_text(TEXT)
    model = build_model(cell, (SEQ,), units=6, n_classes=vocab.size, vocab_size=vocab.size, embedding_dim=4, seed=3)
    return model, vocab


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_the_carried_state_gives_the_models_own_probabilities(cell):
    model, vocab = text_model(cell)
    sampler = StepSampler.of(model)
    window = np.asarray(vocab.encode(TEXT[:SEQ]), dtype=np.int32)
    probabilities, states = sampler.start(window)
    np.testing.assert_allclose(probabilities, model.predict(window[None], verbose=0)[0], atol=1e-5)
    # One step further equals the same weights reading all SEQ + 1 characters: the state update is
    # the layer's own (past the window the sampler keeps more context than a window would).
    after, _ = sampler.advance(int(vocab.encode(TEXT[SEQ])[0]), states)
    longer = build_model(cell, (SEQ + 1,), units=6, n_classes=vocab.size, vocab_size=vocab.size, embedding_dim=4)
    longer.set_weights(model.get_weights())
    ids = np.asarray([vocab.encode(TEXT[: SEQ + 1])])
    np.testing.assert_allclose(after, longer.predict(ids, verbose=0)[0], atol=1e-5)


def test_generation_is_reproducible_and_never_writes_the_unknown_marker():
    model, vocab = text_model("lstm")
    greedy = generate(model, vocab, SEQ, "to be", length=60, temperature=0)
    assert greedy == generate(model, vocab, SEQ, "to be", length=60, temperature=0)
    sampled = generate(model, vocab, SEQ, "to be", length=200, temperature=1.5, seed=7)
    assert sampled == generate(model, vocab, SEQ, "to be", length=200, temperature=1.5, seed=7)
    assert sampled != generate(model, vocab, SEQ, "to be", length=200, temperature=1.5, seed=8)
    assert len(sampled) == 205 and UNKNOWN_ID not in vocab.encode(sampled[5:])
    assert sampled.startswith("to be") and set(sampled) <= set(TEXT)


def test_a_model_of_another_shape_keeps_the_window_method():
    vocab = CharVocab.from_text(TEXT)
    inputs = keras.Input((SEQ,), dtype="int32")
    value = keras.layers.Embedding(vocab.size, 4)(inputs)
    value = keras.layers.SimpleRNN(5, go_backwards=True)(value)  # the step sampler cannot run backwards
    outputs = keras.layers.Dense(vocab.size, activation="softmax")(value)
    model = keras.Model(inputs, outputs)
    assert StepSampler.of(model) is None
    text = generate(model, vocab, SEQ, "to be", length=20, temperature=0)
    assert len(text) == 25 and text.startswith("to be")
