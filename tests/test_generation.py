"""The step-by-step sampler: the carried state gives the model's own probabilities, generation is
reproducible, never writes the unknown marker, and models of another shape keep the window method."""

import keras
import numpy as np
import pytest

from data import CharVocab, RunError
from data.corpus import UNKNOWN_ID
from models.builder import build_model
from models.inference import generate
from models.sampler import StepSampler

TEXT = "to be or not to be, that is the question"
SEQ = 12
VOCAB = CharVocab.from_text(TEXT)


def text_model(cell, steps=SEQ, **options):
    return build_model(
        cell, (steps,), units=6, n_classes=VOCAB.size, vocab_size=VOCAB.size, embedding_dim=4, seed=3, **options
    )


def own_output(model, cell, text):
    """The model's weights reading exactly `text` in one full-sequence call (its last step)."""
    reader = text_model(cell, steps=len(text), layers=len(model.layers) - 2)
    reader.set_weights(model.get_weights())
    return reader(VOCAB.encode(text)[None], training=False).numpy()[0]


def window_greedy(model, prompt, length):
    """The window method spelled out: the last SEQ ids, left-padded with the unknown id, per character."""
    ids = list(VOCAB.encode(prompt))
    for _ in range(length):
        window = np.zeros((1, SEQ), dtype=np.int32)
        window[0, SEQ - len(ids[-SEQ:]) :] = ids[-SEQ:]
        probs = model(window, training=False).numpy()[0]
        probs[UNKNOWN_ID] = 0.0
        ids.append(int(np.argmax(probs)))
    return prompt + VOCAB.decode(ids[len(prompt) :])


@pytest.mark.parametrize("cell, layers", [("simple_rnn", 1), ("lstm", 1), ("gru", 1), ("lstm", 2)])
def test_the_carried_state_gives_the_models_own_probabilities(cell, layers):
    model = text_model(cell, layers=layers)
    sampler = StepSampler.of(model)
    prompt = TEXT[:30]  # longer than the window: only its last SEQ characters are read
    probabilities, states = sampler.start(VOCAB.encode(prompt)[-SEQ:])
    np.testing.assert_allclose(probabilities, own_output(model, cell, prompt[-SEQ:]), atol=1e-5)
    # One step further equals the same weights reading all SEQ + 1 characters: each cell's state
    # update is the layer's own, and past the window the sampler keeps the whole context.
    after, _ = sampler.advance(int(VOCAB.encode(TEXT[30])[0]), states)
    np.testing.assert_allclose(after, own_output(model, cell, TEXT[30 - SEQ : 31]), atol=1e-5)
    # A prompt shorter than the window is read as it is, with no padding in front.
    short, _ = sampler.start(VOCAB.encode("to be"))
    np.testing.assert_allclose(short, own_output(model, cell, "to be"), atol=1e-5)


@pytest.mark.parametrize("prompt", [TEXT[:30], "to be"], ids=["long", "short"])
def test_generate_continues_from_the_prompts_own_last_characters(prompt, monkeypatch):
    model = text_model("gru")
    read = []
    start = StepSampler.start
    monkeypatch.setattr(StepSampler, "start", lambda self, ids: read.append(list(ids)) or start(self, ids))
    probs = own_output(model, "gru", prompt[-SEQ:])
    probs[UNKNOWN_ID] = 0.0
    assert generate(model, VOCAB, SEQ, prompt, length=1, temperature=0) == prompt + VOCAB.chars[np.argmax(probs)]
    assert read == [list(VOCAB.encode(prompt[-SEQ:]))]  # no padding in front of a short prompt


def test_an_empty_prompt_starts_like_the_window_method():
    model = text_model("gru")
    # Nothing to read: the state starts from a window of unknown ids, as the window method's would.
    assert generate(model, VOCAB, SEQ, "", length=1, temperature=0) == window_greedy(model, "", 1)


def test_generation_is_reproducible():
    model = text_model("lstm")
    greedy = generate(model, VOCAB, SEQ, "to be", length=60, temperature=0)
    assert greedy == generate(model, VOCAB, SEQ, "to be", length=60, temperature=0)
    sampled = generate(model, VOCAB, SEQ, "to be", length=200, temperature=1.5, seed=7)
    assert sampled == generate(model, VOCAB, SEQ, "to be", length=200, temperature=1.5, seed=7)
    assert sampled != generate(model, VOCAB, SEQ, "to be", length=200, temperature=1.5, seed=8)
    assert len(sampled) == 205 and sampled.startswith("to be")


@pytest.mark.parametrize("temperature", [0.0, 1.0, 3.0])
def test_the_unknown_marker_is_never_written_even_when_most_likely(temperature):
    model = text_model("simple_rnn")
    bias = np.zeros(VOCAB.size, "float32")
    bias[UNKNOWN_ID] = 6.0  # about 400 times any other character: unmasked, it would be drawn
    model.layers[-1].bias.assign(bias)
    text = generate(model, VOCAB, SEQ, "to be", length=100, temperature=temperature)
    assert len(text) == 105 and UNKNOWN_ID not in VOCAB.encode(text)


def backwards_model():
    inputs = keras.Input((SEQ,), dtype="int32")
    value = keras.layers.Embedding(VOCAB.size, 4)(inputs)
    value = keras.layers.SimpleRNN(5, go_backwards=True)(value)  # a step function cannot run backwards
    return keras.Model(inputs, keras.layers.Dense(VOCAB.size, activation="softmax")(value))


def masked_model():
    inputs = keras.Input((SEQ,), dtype="int32")
    value = keras.layers.Embedding(VOCAB.size, 4, mask_zero=True)(inputs)  # padding would be skipped
    value = keras.layers.GRU(5)(value)
    return keras.Model(inputs, keras.layers.Dense(VOCAB.size, activation="softmax")(value))


@pytest.mark.parametrize("make", [backwards_model, masked_model], ids=["backwards", "masked"])
def test_a_model_of_another_shape_keeps_the_window_method(make):
    model = make()
    assert StepSampler.of(model) is None
    assert generate(model, VOCAB, SEQ, "to be", length=15, temperature=0) == window_greedy(model, "to be", 15)


def test_a_model_with_a_head_on_every_step_is_refused_as_before():
    model = text_model("lstm", per_step=True)
    assert StepSampler.of(model) is None
    with pytest.raises(RunError, match=f"gives {SEQ * VOCAB.size} outputs for a vocabulary of {VOCAB.size}"):
        generate(model, VOCAB, SEQ, "to be", length=3)
