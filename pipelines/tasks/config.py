"""What a task's options are: the training options every task shares, the helpers a task's own
options validate themselves with, and rebuilding options saved in run.json.

Each field's `help` is also the --help text of the command-line option of the same name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from data import ConfigError
from models.cells import CELLS


def option(default, help: str, **metadata):
    """A config field that documents the command-line option of the same name."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass
class TrainConfig:
    """The training budget and model shared by every task; identical for every cell of an experiment."""

    task: ClassVar[str] = ""
    cells: list[str] = option(["simple_rnn", "lstm"], "cells trained side by side: " + " ".join(CELLS), choices=CELLS)
    epochs: int = option(10, "training epochs, identical for every cell")
    batch_size: int = option(64, "windows per training batch")
    units: int = option(32, "units per recurrent layer", sweep=True)
    layers: int = option(1, "stacked recurrent layers")
    learning_rate: float = option(1e-3, "Adam learning rate", sweep=True)
    clipnorm: float | None = option(None, "clip each gradient to this norm ('none' for off)", sweep=True)
    gain: float = option(1.0, "orthogonal recurrent-initializer gain: <1 vanishing, >1 exploding", sweep=True)
    dropout: float = option(0.0, "input dropout of each recurrent layer")
    seed: int = option(0, "seed for weights, data order and generated data")
    log_every: int = option(100, "GradientLogger cadence in training batches (0: epoch ends only)")
    probe_size: int = option(64, "validation windows in the gradient probe batch")
    name: str | None = option(None, "experiment folder name (default: derived from the task)")
    out: str = option("runs", "folder that holds the experiments")

    def __post_init__(self):
        unknown = [cell for cell in self.cells if cell not in CELLS]
        require(
            bool(self.cells) and not unknown,
            f"Unknown cell {', '.join(unknown) or '(none given)'}: choose from {', '.join(CELLS)}.",
        )
        require(
            len(set(self.cells)) == len(self.cells),
            f"--cells names a cell twice ({' '.join(self.cells)}): name each once.",
        )
        for name in ("epochs", "batch_size", "units", "layers", "probe_size"):
            at_least(self, name, 1)
        at_least(self, "log_every", 0)
        require(self.learning_rate > 0, f"--learning-rate must be positive (got {self.learning_rate}).")
        require(
            self.clipnorm is None or self.clipnorm > 0, f"--clipnorm must be positive or none (got {self.clipnorm})."
        )
        require(self.gain > 0, f"--gain must be positive (got {self.gain}).")
        require(0 <= self.dropout < 1, f"--dropout must be at least 0 and below 1 (got {self.dropout}).")

    def experiment_name(self) -> str:
        return self.name or self.default_name()

    def default_name(self) -> str:
        return self.task

    def to_dict(self) -> dict:
        return {"task": self.task, **asdict(self)}


def at_least(config, name: str, low: int) -> None:
    value = getattr(config, name)
    require(value >= low, f"--{name.replace('_', '-')} must be at least {low} (got {value}).")


def config_from_dict(config_class: type[TrainConfig], values: dict) -> TrainConfig:
    """Rebuild a config saved in run.json; keys it does not know are an error, never ignored."""
    known = {spec.name for spec in fields(config_class)}
    unknown = sorted(set(values) - known - {"task"})
    require(
        not unknown, f"The config has unknown field(s) {', '.join(unknown)} for task {config_class.task}: remove them."
    )
    try:
        return config_class(**values_without(values, "task"))
    except TypeError as exc:  # a value of the wrong kind, e.g. a list where a number belongs
        raise ConfigError(f"The config for task {config_class.task} has a value of the wrong type ({exc}).") from exc


def values_without(values: dict, *names: str) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in names}


@dataclass
class PredictOptions:
    """Options of `pipelines.predict` shared by every task; each task extends them."""

    seed: int = option(0, "seed for sampling text or for generating fresh sequences")
