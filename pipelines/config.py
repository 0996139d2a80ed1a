"""One configuration dataclass per task; saved whole in run.json so a run can be repeated.

Each field's `help` is also the --help text of the command-line option of the same name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


def option(default, help: str, **kwargs):
    """A config field that documents its command-line option."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class TrainConfig:
    task: str = option("", "stock, text or adding")
    cells: list[str] = option(["simple_rnn", "lstm"], "cells trained side by side: simple_rnn lstm gru")
    epochs: int = option(10, "training epochs, identical for every cell")
    batch_size: int = option(64, "windows per training batch")
    units: int = option(32, "units per recurrent layer")
    layers: int = option(1, "stacked recurrent layers")
    learning_rate: float = option(1e-3, "Adam learning rate")
    clipnorm: float | None = option(None, "clip each gradient to this norm ('none' for off)")
    gain: float = option(1.0, "orthogonal recurrent-initializer gain: <1 vanishing, >1 exploding")
    dropout: float = option(0.0, "input dropout of each recurrent layer")
    seed: int = option(0, "seed for weights, data order and generated data")
    log_every: int = option(100, "GradientLogger cadence in training batches (0: epoch ends only)")
    probe_size: int = option(64, "validation windows in the gradient probe batch")
    name: str | None = option(None, "experiment folder name (default: derived from the task)")
    out: str = option("runs", "folder that holds the experiments")

    def experiment_name(self) -> str:
        return self.name or self.default_name()

    def default_name(self) -> str:
        return self.task

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StockConfig(TrainConfig):
    task: str = "stock"
    ticker: str = option("AAPL", "ticker symbol")
    source: str = option("bundled", "bundled, yfinance, auto, or the path of a CSV with Date and Close")
    start: str | None = option(None, "first date, YYYY-MM-DD")
    end: str | None = option(None, "last date, YYYY-MM-DD")
    lookback: int = option(60, "trading days per input window")
    horizon: int = option(1, "forecast this many trading days ahead")
    target: str = option("return", "return (log return, reported in price units) or price", choices=["return", "price"])
    folds: int = option(0, "walk-forward folds evaluated besides the test split (0: none)")

    def default_name(self) -> str:
        return f"stock-{self.ticker.upper()}"


@dataclass
class TextConfig(TrainConfig):
    task: str = "text"
    corpus: str = option("shakespeare", "bundled corpus name or the path of a UTF-8 text file")
    seq_len: int = option(40, "characters of context per window")
    max_chars: int | None = option(200_000, "use only the first N characters ('none' for all)")
    stride: int = option(3, "characters between window starts")
    embedding_dim: int = option(32, "character embedding size")

    def default_name(self) -> str:
        return "text-" + Path(self.corpus).stem


@dataclass
class AddingConfig(TrainConfig):
    task: str = "adding"
    length: int = option(50, "sequence length T: how far back the first marker can be")
    samples: int = option(10_000, "generated sequences (80% train, 10% validation, 10% test)")

    def default_name(self) -> str:
        return f"adding-T{self.length}"


CONFIGS: dict[str, type[TrainConfig]] = {"stock": StockConfig, "text": TextConfig, "adding": AddingConfig}


def config_from_dict(values: dict) -> TrainConfig:
    """Rebuild a config from run.json's "config" (unknown keys are an error, not ignored)."""
    task = values.get("task")
    if task not in CONFIGS:
        raise ValueError(f"The config names task {task!r}: it must be one of {', '.join(CONFIGS)}.")
    cls = CONFIGS[task]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"The config has unknown field(s) {', '.join(unknown)} for task {task}: remove them.")
    return cls(**values)
