"""Text corpora and the character vocabulary."""

import json

import pytest

from data import CharVocab, DataError, load_corpus


def test_bundled_shakespeare_is_the_five_tragedies():
    corpus = load_corpus("shakespeare")
    assert 650_000 < len(corpus.text) < 800_000
    for title in ("Hamlet", "Macbeth", "Othello", "King Lear", "Romeo and Juliet"):
        assert title in corpus.text
    assert "**" not in corpus.text and "_Exit" not in corpus.text  # markdown cleaned
    assert "HAMLET:\n" in corpus.text


def test_vocab_round_trips_through_json_and_handles_unseen_characters():
    vocab = CharVocab.from_text("hello world")
    again = CharVocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab
    ids = again.encode("hello zebra")
    assert ids[6] == 0  # 'z' was never seen: the unknown id
    assert again.decode(again.encode("hello")) == "hello"
    assert again.decode(ids)[6] == "\ufffd"


def test_any_utf8_file_is_a_corpus(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("Ünïcödé text, twice. Ünïcödé text.", encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.name == "poem" and "Ü" in corpus.vocab.chars


def test_max_chars_keeps_the_beginning():
    assert load_corpus("shakespeare", max_chars=5).text == "Hamle"


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"  \n", "empty"), (b"caf\xe9 latin-1", "not UTF-8")])
def test_bad_corpora_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_corpus(path)


def test_missing_corpus_names_the_bundled_ones():
    with pytest.raises(DataError, match="shakespeare"):
        load_corpus("no-such-file.txt")


def test_damaged_vocab_json_is_refused():
    with pytest.raises(DataError, match="damaged"):
        CharVocab.from_dict({"chars": ["a", "b"]})
    with pytest.raises(DataError, match="damaged"):
        CharVocab.from_dict({"chars": ["\ufffd", "ab"]})


def test_max_chars_reads_only_the_characters_it_keeps(tmp_path):
    """With --max-chars only the bytes those characters can take are read: whatever follows (here bytes
    that are not UTF-8, standing in for a file of gigabytes) is never read, and a character of several
    bytes is never cut."""
    path = tmp_path / "poem.txt"
    path.write_bytes("ab😀é c".encode() + b"\xff" * 100)
    assert load_corpus(path, max_chars=6).text == "ab😀é c"
    assert load_corpus(path, max_chars=3).text == "ab😀"
    with pytest.raises(DataError, match="not UTF-8"):
        load_corpus(path)


@pytest.mark.parametrize(
    "content, max_chars, message",
    [
        (b"a", None, r"uses one character only \('a'\): a next-character task needs at least two"),
        (b"ab", 1, r"one character only \('a'\).*; raise --max-chars \(only its first 1 characters were read\)"),
    ],
)
def test_one_character_is_not_called_empty(tmp_path, content, max_chars, message):
    path = tmp_path / "one.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_corpus(path, max_chars)
