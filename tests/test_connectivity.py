"""Connectivity (||d p(next char) / d x_t||) checked on models whose dependence on the past is known
by construction, against finite differences, and against the model's own predictions."""

import keras
import numpy as np
import pytest

from data import CharVocab, ConfigError, RunError
from data.corpus import UNKNOWN, UNKNOWN_ID
from models.builder import build_model
from models.connectivity import connectivity, connectivity_at

TEXT = "abcdefghijabcdefghij"  # any SEQ characters in a row are distinct: one embedding row is one x_t
VOCAB = CharVocab.from_text(TEXT)
SEQ = 6


def text_model(cell="simple_rnn", recurrent=None):
    model = build_model(cell, (SEQ,), units=4, n_classes=VOCAB.size, vocab_size=VOCAB.size, embedding_dim=3)
    if recurrent is not None:
        model.get_layer(f"{cell}_1").cell.recurrent_kernel.assign(recurrent * np.eye(4, dtype="float32"))
    return model


def plain_model(layer, dtype="float32"):
    """A text model of the builder's shape with a recurrent layer of the test's choosing."""
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((SEQ,), dtype="int32"),
            keras.layers.Embedding(VOCAB.size, 3, dtype=dtype),
            layer,
            keras.layers.Dense(VOCAB.size, activation="softmax", dtype=dtype),
        ]
    )


def test_a_memoryless_rnn_depends_on_the_last_character_only():
    found = connectivity(text_model(recurrent=0.0), VOCAB, SEQ, TEXT, 12)
    assert found.strengths[-1] > 1e-6
    assert np.all(found.strengths[:-1] < 1e-12)
    remembering = connectivity(text_model(), VOCAB, SEQ, TEXT, 12)  # same model, orthogonal recurrence
    assert np.all(remembering.strengths[:-1] > 1e-6)  # so the zeros above come from the kernel


@pytest.mark.parametrize("a", [0.5, 0.9])
def test_a_linear_rnn_of_a_times_identity_fades_by_a_per_step(a):
    # h_T = sum_k a^k x_{T-k} W: d p / d x_{T-k} is a^k times the same vector
    rnn = keras.layers.SimpleRNN(4, activation=None, recurrent_initializer=keras.initializers.Identity(gain=a))
    strengths = connectivity(plain_model(rnn), VOCAB, SEQ, TEXT, 12).strengths
    np.testing.assert_allclose(strengths[:-1] / strengths[1:], a, rtol=1e-4)


def test_a_tanh_rnn_with_a_small_recurrence_fades_step_by_step():
    strengths = connectivity(text_model(recurrent=0.5), VOCAB, SEQ, TEXT, 12).strengths
    assert np.all(np.diff(strengths) > 0)  # stronger the closer to the prediction


@pytest.mark.parametrize("layer", [keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU])
def test_each_strength_is_the_norm_finite_differences_give(layer):
    model = plain_model(layer(4, dtype="float64"), dtype="float64")  # float64: differences exact to ~1e-10
    position = 13
    found = connectivity(model, VOCAB, SEQ, TEXT, position)
    ids = VOCAB.encode(TEXT[position + 1 - SEQ : position + 1])[None]
    target = VOCAB.encode(TEXT[position + 1])[0]
    table = model.layers[0].embeddings
    original = table.numpy()

    def probability(row, dim, step):  # the model's own call with one embedding vector moved
        moved = original.copy()
        moved[row, dim] += step
        table.assign(moved)
        return float(model(ids, training=False)[0, target])

    expected = []
    for char_id in ids[0]:  # each character once in the window: its row is that position's x_t
        gradient = [(probability(char_id, d, 1e-6) - probability(char_id, d, -1e-6)) / 2e-6 for d in range(3)]
        expected.append(np.linalg.norm(gradient))
    table.assign(original)
    np.testing.assert_allclose(found.strengths, expected, rtol=1e-5, atol=1e-10)


def test_the_probability_is_that_of_the_actual_next_character():
    model = text_model("lstm")
    positions = list(range(SEQ - 1, len(TEXT) - 1))
    found = connectivity_at(model, VOCAB, SEQ, TEXT, positions)
    windows = np.stack([VOCAB.encode(TEXT[p + 1 - SEQ : p + 1]) for p in positions])
    predicted = model.predict(windows, verbose=0)
    following = VOCAB.encode("".join(TEXT[p + 1] for p in positions))
    assert [f.target for f in found] == [TEXT[p + 1] for p in positions]
    np.testing.assert_allclose(
        [f.probability for f in found], predicted[np.arange(len(positions)), following], rtol=1e-5
    )
    single = connectivity(model, VOCAB, SEQ, TEXT, 9)  # batching windows leaves each one's gradient its own
    np.testing.assert_allclose(found[positions.index(9)].strengths, single.strengths, rtol=1e-5)


def test_after_the_last_character_the_target_is_the_most_likely_real_one():
    model = text_model("gru")
    model.get_layer("head").bias.assign(np.eye(VOCAB.size, dtype="float32")[UNKNOWN_ID] * 10)  # the marker wins
    found = connectivity(model, VOCAB, SEQ, TEXT, len(TEXT) - 1)
    probabilities = model.predict(VOCAB.encode(TEXT[-SEQ:])[None], verbose=0)[0]
    best = 1 + int(np.argmax(probabilities[1:]))
    assert found.target == VOCAB.chars[best] != UNKNOWN
    assert found.probability == pytest.approx(probabilities[best], rel=1e-5)


def test_early_positions_read_the_characters_there_are_without_padding():
    model = text_model("gru")
    found = connectivity(model, VOCAB, SEQ, TEXT, 2)
    assert (found.start, found.characters, list(found.positions)) == (0, "abc", [0, 1, 2])
    assert len(found.strengths) == 3
    unpadded = model.predict(VOCAB.encode("abc")[None], verbose=0)[0, VOCAB.encode("d")[0]]
    assert found.probability == pytest.approx(unpadded, rel=1e-5)


def test_connectivity_leaves_the_model_as_it_was():
    model = text_model("lstm")
    before = [w.copy() for w in model.get_weights()]
    connectivity_at(model, VOCAB, SEQ, TEXT, [2, 10, len(TEXT) - 1])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_unknown_characters_read_as_the_marker_as_in_generation():
    model = text_model()
    odd = connectivity(model, VOCAB, SEQ, TEXT[:8] + "Z" + TEXT[9:], 10)
    marked = connectivity(model, VOCAB, SEQ, TEXT[:8] + UNKNOWN + TEXT[9:], 10)
    assert odd.characters[3] == "Z"  # shown as written, read as the marker
    np.testing.assert_array_equal(odd.strengths, marked.strengths)


def one_sentence(error) -> bool:
    message = str(error.value)
    return message.endswith(".") and ". " not in message and "\n" not in message


@pytest.mark.parametrize("position", [-1, len(TEXT), 2.0, True])
def test_a_position_outside_the_passage_is_one_sentence(position):
    with pytest.raises(ConfigError, match=f"outside the passage of {len(TEXT)} characters") as error:
        connectivity(text_model(), VOCAB, SEQ, TEXT, position)
    assert one_sentence(error)


def test_a_next_character_the_model_cannot_predict_is_one_sentence():
    with pytest.raises(ConfigError, match="after position 10 \\('Z'\\) is not in") as error:
        connectivity(text_model(), VOCAB, SEQ, TEXT[:11] + "Z" + TEXT[12:], 10)
    assert one_sentence(error)


def test_a_model_without_an_embedding_is_refused():
    prices = build_model("simple_rnn", (SEQ, 1), units=4)
    with pytest.raises(RunError, match="embedding"):
        connectivity(prices, VOCAB, SEQ, TEXT, 10)
