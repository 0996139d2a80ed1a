"""Character-level text: the bundled Shakespeare tragedies or any UTF-8 file, and its vocabulary.

The vocabulary maps characters to integer ids, reserves id 0 for characters it has never seen,
and round-trips through a JSON dict so a saved model decodes exactly as it was trained.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.errors import DataError

BUNDLED_CORPORA = {"shakespeare": Path(__file__).with_name("bundled") / "shakespeare.txt"}
UNKNOWN = "\ufffd"  # id 0: any character the vocabulary has not seen
UNKNOWN_ID = 0
UTF8_MAX_BYTES = 4  # the most bytes one character takes in UTF-8


@dataclass(frozen=True)
class CharVocab:
    """An ordered character alphabet; `chars[0]` is the unknown-character marker."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls((UNKNOWN, *sorted(set(text) - {UNKNOWN})))

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.chars)}
        return np.fromiter((index.get(c, 0) for c in text), dtype=np.int32, count=len(text))

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, in order of first appearance."""
        known = set(self.chars[1:])
        return list(dict.fromkeys(c for c in text if c not in known))

    def decode(self, ids) -> str:
        return "".join(self.chars[i] if 0 <= i < len(self.chars) else UNKNOWN for i in np.asarray(ids).ravel())

    def to_dict(self) -> dict:
        return {"chars": list(self.chars)}

    @classmethod
    def from_dict(cls, state: dict) -> CharVocab:
        try:
            chars = list(state["chars"])
        except (KeyError, TypeError) as exc:
            raise DataError(
                "The vocabulary JSON is damaged: it needs a 'chars' list; retrain or restore the run."
            ) from exc
        single = all(isinstance(c, str) and len(c) == 1 for c in chars)
        if not chars or not single or chars[0] != UNKNOWN or len(set(chars)) != len(chars):
            raise DataError(
                "The vocabulary JSON is damaged: 'chars' must be single characters, start with the unknown marker and have no repeats."
            )
        return cls(tuple(chars))


@dataclass(frozen=True)
class Corpus:
    name: str
    text: str
    vocab: CharVocab


def load_corpus(name_or_path: str | Path = "shakespeare", max_chars: int | None = None) -> Corpus:
    """Load a bundled corpus by name or any UTF-8 text file by path; optionally keep the first `max_chars`
    (then only the bytes those characters can take are read, however large the file)."""
    key = str(name_or_path)
    path = BUNDLED_CORPORA.get(key, Path(key))
    if not path.is_file():
        raise DataError(
            f"No corpus {key!r}: give the path of a UTF-8 text file or one of {', '.join(BUNDLED_CORPORA)}."
        )
    try:
        text, cut = _read_utf8(path, max_chars)
    except OSError as exc:
        raise DataError(f"{path.name} cannot be read ({exc.strerror}): check the file's permissions.") from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not UTF-8 text (byte {exc.start} cannot be decoded): save it as UTF-8."
        ) from exc
    fix = f"; raise --max-chars (only its first {max_chars:,} characters were read)" if cut else ""
    if not text.strip():
        empty = "is empty" if not text else "is empty (whitespace only)"
        raise DataError(f"{path.name} {empty}: a corpus needs some text to learn from{fix}.")
    if len(set(text)) < 2:
        raise DataError(
            f"{path.name} uses one character only ({text[0]!r}): a next-character task needs at least two "
            f"different characters{fix}."
        )
    return Corpus(name=path.stem if key not in BUNDLED_CORPORA else key, text=text, vocab=CharVocab.from_text(text))


def _read_utf8(path: Path, max_chars: int | None) -> tuple[str, bool]:
    """The file's text, or its first `max_chars` characters (read from at most 4 bytes a character), and
    whether characters were left out."""
    if max_chars is None:
        return path.read_bytes().decode("utf-8"), False
    limit = UTF8_MAX_BYTES * max(max_chars, 0)
    with path.open("rb") as handle:
        raw = handle.read(limit + 1)
    more = len(raw) > limit
    try:
        # A character cut at the limit is left out, not an error: the decoder waits for bytes that never come.
        text = codecs.getincrementaldecoder("utf-8")().decode(raw[:limit], final=not more)
    except UnicodeDecodeError as exc:  # an error after the characters kept is none of theirs
        text = raw[: exc.start].decode("utf-8")
        if len(text) < max_chars:
            raise
        more = True
    return text[:max_chars], more or len(text) > max_chars
