"""The text task: predict the next character of a corpus from a window of the previous ones,
scored in bits per character against a unigram model that knows letter frequencies only.
"""

from __future__ import annotations

import math
import reprlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from data import (
    BUNDLED_CORPORA,
    CharVocab,
    ConfigError,
    DataError,
    RunError,
    chronological_split,
    load_corpus,
    windows_with_targets,
)
from models.inference import PREDICT_BATCH, generate, text_preprocessing, text_setup_of
from pipelines.evaluate import bits_per_char, unigram_bits_per_char
from pipelines.memory import array_bytes
from pipelines.tasks.base import Baselines, Evaluation, ModelShape, Prepared, Split, Task
from pipelines.tasks.config import (
    MAX_EPOCHS,
    MAX_STEPS,
    MAX_UNITS,
    PredictOptions,
    TrainConfig,
    at_least,
    at_most,
    option,
    plain_name,
    require,
)

SAMPLE_TEMPERATURES = (0.5, 1.0)  # generated after training and kept in run.json
SAMPLE_LENGTH = 200
# One sample after each epoch, kept in run.json's outputs: the Text page shows the text improve. Cooler
# than 1 so that words appear as soon as the model knows some; it costs 0.13 s an epoch (BENCHMARKS.md).
EPOCH_SAMPLE_TEMPERATURE = 0.5
SPLIT = (0.8, 0.1)  # train and validation shares of the text; the test part is the rest
MAX_CHARS = 1_000_000_000  # --max-chars: a gigabyte of text, far beyond what one CPU trains on
MAX_GENERATED = 100_000  # predict --length: characters generated one model call each


@dataclass
class TextConfig(TrainConfig):
    task: ClassVar[str] = "text"
    corpus: str = option("shakespeare", "bundled corpus name or the path of a UTF-8 text file")
    seq_len: int = option(40, "characters of context per window", sweep=True)
    max_chars: int | None = option(200_000, "use only the first N characters ('none' for all)")
    stride: int = option(3, "characters between window starts")
    embedding_dim: int = option(32, "character embedding size")

    def __post_init__(self):
        super().__post_init__()
        for name in ("seq_len", "stride", "embedding_dim"):
            at_least(self, name, 1)
        at_most(self, "seq_len", MAX_STEPS)
        at_most(self, "stride", MAX_STEPS)
        at_most(self, "embedding_dim", MAX_UNITS)
        require(
            self.max_chars is None or self.max_chars >= 2,
            f"--max-chars must be at least 2 or none (got {self.max_chars}).",
        )
        if self.max_chars is not None:
            at_most(self, "max_chars", MAX_CHARS, "none reads the whole corpus")

    def default_name(self) -> str:
        """text-<the corpus file's name>, reduced to the characters a folder name may hold."""
        return plain_name("text-", Path(self.corpus).stem, "corpus")


@dataclass
class TextPredict(PredictOptions):
    prompt: str | None = option(None, "text to continue (default: the run's own sample prompt, from its corpus)")
    temperature: float = option(0.8, "0 is greedy, 1 samples the model as is")
    length: int = option(300, "characters to generate")

    def __post_init__(self):
        super().__post_init__()
        at_least(self, "length", 1)
        at_most(self, "length", MAX_GENERATED)
        require(
            0 <= self.temperature < math.inf, f"--temperature must be a number, 0 or more (got {self.temperature})."
        )
        require(self.prompt is None or self.prompt != "", "--prompt is empty: give some text to continue.")


@dataclass
class TextContext:
    vocab: CharVocab
    train_ids: np.ndarray  # the characters the unigram baseline may count
    prompt: str  # the first window of the validation text: where generated samples start
    epoch_samples: dict[str, list] = field(default_factory=dict)  # per cell, what EpochSamples wrote


class TextTask(Task):
    name = "text"
    summary = "text characters: next character, in bits per character"
    horizon_meaning = (
        "On text the horizon counts how many characters back a prediction's gradient still reaches. The next "
        "character is mostly told by the last few (the rest of a word, a line's end), so a short horizon is a cell "
        "reading those, not forgetting what the task needed as on the adding problem; a long one only says its "
        "gradient did not fade over the window, not that the older characters help."
    )
    config_class = TextConfig
    predict_class = TextPredict
    headline = "val_bpc"
    baseline_names = ("unigram",)  # each character at its training frequency, no context
    # The first three plays (validation and test inside Othello, whose names training has seen; the whole
    # corpus holds Romeo and Juliet back and stalls at 2.7), every other window, 4 epochs of Adam 4e-3: the
    # LSTM and GRU reach about 2.4 bits per character in a few minutes each (BENCHMARKS.md, "Text budget").
    default_run = {
        "epochs": 4,
        "units": 128,
        "max_chars": 430_000,
        "stride": 2,
        "seq_len": 32,
        "batch_size": 128,
        "learning_rate": 4e-3,
        "clipnorm": 1.0,
    }

    def estimated_bytes(self, config: TextConfig) -> int:
        path = BUNDLED_CORPORA.get(config.corpus, Path(config.corpus))
        characters = path.stat().st_size if path.is_file() else 0  # a missing file fails in prepare
        if config.max_chars is not None:
            characters = min(characters, config.max_chars)
        return array_bytes(characters // config.stride + 1, config.seq_len + 1)

    def prepare(self, config: TextConfig) -> Prepared[TextContext]:
        corpus = load_corpus(config.corpus, config.max_chars)
        ids = corpus.vocab.encode(corpus.text)
        try:
            split = chronological_split(len(ids), config.seq_len, 1, fractions=SPLIT)
        except DataError as exc:  # its own advice speaks of lookbacks and date ranges
            raise DataError(too_short(corpus.name, len(ids), config)) from exc
        X, y, _ = windows_with_targets(ids, ids, config.seq_len, 1)
        parts = {name: getattr(split, name)[:: config.stride] for name in ("train", "validation", "test")}
        vocab_size = corpus.vocab.size
        return Prepared(
            *(Split(X[starts], y[starts]) for starts in parts.values()),
            shape=ModelShape(
                input_shape=X.shape[1:], n_classes=vocab_size, vocab_size=vocab_size, embedding_dim=config.embedding_dim
            ),
            preprocessing=text_preprocessing(corpus.vocab, config.seq_len),
            data_info={
                "corpus": corpus.name,
                "characters": len(corpus.text),
                "vocab_size": vocab_size,
                "windows": {name: int(len(starts)) for name, starts in parts.items()},
            },
            context=TextContext(
                corpus.vocab, ids[: split.boundaries[0]], corpus.text[split.boundaries[0] :][: config.seq_len]
            ),
        )

    def baselines(self, config, prepared: Prepared[TextContext]) -> Baselines:
        counts, vocab_size = prepared.context.train_ids, prepared.context.vocab.size
        row = {
            "model": self.baseline_names[0],
            "val_bpc": unigram_bits_per_char(counts, prepared.validation.y, vocab_size),
            "test_bpc": unigram_bits_per_char(counts, prepared.test.y, vocab_size),
        }
        return Baselines([row])

    def epoch_callbacks(self, config: TextConfig, prepared: Prepared[TextContext], cell: str) -> list:
        """One sample after each epoch, from the run's own prompt and seed (kept for evaluate to save)."""
        from models.epoch_samples import EpochSamples

        context = prepared.context
        kept = context.epoch_samples[cell] = []
        sampler = EpochSamples(
            context.vocab, config.seq_len, context.prompt, SAMPLE_LENGTH, EPOCH_SAMPLE_TEMPERATURE, config.seed, kept
        )
        return [sampler]

    def evaluate(self, config: TextConfig, prepared: Prepared[TextContext], model, cell, baselines) -> Evaluation:
        metrics = {
            name: bits_per_char(model.predict(part.x, verbose=0, batch_size=PREDICT_BATCH), part.y)
            for name, part in (("val_bpc", prepared.validation), ("test_bpc", prepared.test))
        }
        context = prepared.context
        samples = {
            str(t): generate(model, context.vocab, config.seq_len, context.prompt, SAMPLE_LENGTH, t, config.seed)
            for t in SAMPLE_TEMPERATURES
        }
        outputs = {"prompt": context.prompt, "samples": samples}
        if context.epoch_samples.get(cell):
            outputs["epoch_samples"] = context.epoch_samples[cell]
        return Evaluation(metrics, outputs=outputs)

    def loss_level(self, comparison):
        rows = comparison.set_index("model")
        if "unigram" not in rows.index:
            return None
        return "unigram", float(rows.loc["unigram", "val_bpc"]) * np.log(2)  # the loss is in nats per character

    def use_saved(self, run, options: TextPredict) -> str:
        prompt = options.prompt if options.prompt is not None else own_prompt(run.info.get("outputs", {}))
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError("This run keeps no sample prompt: give one with --prompt.")
        unknown = text_setup_of(run.preprocessing)[0].unknown_chars(prompt)
        if unknown:  # said once; the model reads each of them as the unknown marker
            shown = ", ".join(repr(c) for c in unknown[:10])
            print(
                f"note: the prompt has characters this run never saw ({shown}); it reads them as unknown.",
                file=sys.stderr,
            )
        return run.generate(prompt, options.length, options.temperature, options.seed)


def too_short(name: str, characters: int, config: TextConfig) -> str:
    """Why a corpus gives no windows: each of its three parts needs a window and the character after it,
    and the smallest part, the last 10%, comes first to lack one."""
    need = round((config.seq_len + 1) / (1 - sum(SPLIT)))
    cut = config.max_chars is not None and characters == config.max_chars
    fix = "a larger --max-chars, a longer text" if cut else "a longer text"
    return (
        f"{name} has {characters:,} characters{' (after --max-chars)' if cut else ''}, too few for windows of "
        f"--seq-len {config.seq_len} in its train, validation and test parts (about {need:,} are needed): "
        f"use {fix} or a smaller --seq-len."
    )


def own_prompt(outputs: dict) -> str | None:
    """The prompt a run's samples started from (runs saved before it was recorded: the samples' start)."""
    if isinstance(outputs.get("prompt"), str):
        return outputs["prompt"]
    sample = next(iter(outputs.get("samples", {}).values()), None)
    return sample[:-SAMPLE_LENGTH] if isinstance(sample, str) and len(sample) > SAMPLE_LENGTH else None


def epoch_samples_of(outputs: dict) -> list[tuple[int, str]]:
    """A run's samples after each epoch as (epoch, text), oldest first; [] for runs saved before they
    were kept. run.json may come from elsewhere: anything but what EpochSamples writes (whole epochs
    from 1 to MAX_EPOCHS, increasing, texts of at most SAMPLE_LENGTH characters) is a RunError."""
    found = outputs.get("epoch_samples", []) if isinstance(outputs, dict) else None
    if not isinstance(found, list) or len(found) > MAX_EPOCHS:
        raise RunError(
            f"run.json's samples per epoch are not a list of at most {MAX_EPOCHS:,} epochs: retrain the run."
        )
    samples, last = [], 0
    for entry in found:
        epoch = entry.get("epoch") if isinstance(entry, dict) else None
        text = entry.get("text") if isinstance(entry, dict) else None
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not last < epoch <= MAX_EPOCHS:
            raise RunError(
                f"run.json's samples per epoch give epoch {reprlib.repr(epoch)} after {last}: retrain the run."
            )
        if not isinstance(text, str) or len(text) > SAMPLE_LENGTH:
            size = f"{len(text):,} characters" if isinstance(text, str) else type(text).__name__
            raise RunError(
                f"run.json's sample after epoch {epoch} is {size}, not a text of at most {SAMPLE_LENGTH}: retrain the run."
            )
        samples.append((epoch, text))
        last = epoch
    return samples
