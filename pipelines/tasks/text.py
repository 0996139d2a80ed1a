"""The text task: predict the next character of a corpus from a window of the previous ones,
scored in bits per character against a unigram model that knows letter frequencies only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from data import CharVocab, chronological_split, load_corpus, windows_with_targets
from models.inference import PREDICT_BATCH, generate, text_preprocessing
from pipelines.evaluate import bits_per_char, unigram_bits_per_char
from pipelines.tasks.base import Baselines, Evaluation, ModelShape, Prepared, Split, Task
from pipelines.tasks.config import PredictOptions, TrainConfig, at_least, option, require

SAMPLE_TEMPERATURES = (0.5, 1.0)  # generated after training and kept in run.json
SAMPLE_LENGTH = 200


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
        require(
            self.max_chars is None or self.max_chars >= 2,
            f"--max-chars must be at least 2 or none (got {self.max_chars}).",
        )

    def default_name(self) -> str:
        return "text-" + Path(self.corpus).stem


@dataclass
class TextPredict(PredictOptions):
    prompt: str = option("ROMEO:\n", "text to continue")
    temperature: float = option(0.8, "0 is greedy, 1 samples the model as is")
    length: int = option(300, "characters to generate")

    def __post_init__(self):
        at_least(self, "length", 1)
        require(self.temperature >= 0, f"--temperature must be 0 or more (got {self.temperature}).")


@dataclass
class TextContext:
    vocab: CharVocab
    train_ids: np.ndarray  # the characters the unigram baseline may count
    prompt: str  # the first window of the validation text: where generated samples start


class TextTask(Task):
    name = "text"
    summary = "text characters: next character, in bits per character"
    config_class = TextConfig
    predict_class = TextPredict
    headline = "val_bpc"
    default_run = {"epochs": 5, "units": 64, "max_chars": 100_000}

    def prepare(self, config: TextConfig) -> Prepared[TextContext]:
        corpus = load_corpus(config.corpus, config.max_chars)
        ids = corpus.vocab.encode(corpus.text)
        X, y, _ = windows_with_targets(ids, ids, config.seq_len, 1)
        split = chronological_split(len(ids), config.seq_len, 1, fractions=(0.8, 0.1))
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
            "model": "unigram",
            "val_bpc": unigram_bits_per_char(counts, prepared.validation.y, vocab_size),
            "test_bpc": unigram_bits_per_char(counts, prepared.test.y, vocab_size),
        }
        return Baselines([row])

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
        return Evaluation(metrics, outputs={"samples": samples})

    def use_saved(self, run, options: TextPredict) -> str:
        return run.generate(options.prompt, options.length, options.temperature, options.seed)
