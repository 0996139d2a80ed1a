"""What the generated long-range tasks share: sequences drawn from a seed and split 80/10/10, one
memoryless baseline row, and scoring a saved run on fresh sequences it has never seen.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import ConfigError, LabError, RunError
from models.inference import PREDICT_BATCH
from pipelines.memory import array_bytes, available_memory
from pipelines.tasks.base import Baselines, Evaluation, ModelShape, Prepared, Split, Task
from pipelines.tasks.config import MAX_STEPS, PredictOptions, TrainConfig, at_least, at_most, config_from_dict, option

FRESH_SEED_OFFSET = 10_000  # fresh sequences use seeds no default training run uses
MAX_SAMPLES = 10_000_000  # generated sequences of one training (the memory estimate may refuse fewer)
MAX_FRESH_SAMPLES = 1_000_000  # sequences predict scores a run on


@dataclass
class SyntheticConfig(TrainConfig):
    length: int = option(50, "T: how many steps the task must remember across", sweep=True)
    samples: int = option(10_000, "generated sequences (80% train, 10% validation, 10% test)")

    def __post_init__(self):
        super().__post_init__()
        at_least(self, "length", 1)
        at_least(self, "samples", 30)  # enough to leave test sequences
        at_most(self, "length", MAX_STEPS, "longer sequences need more memory and time than one training can give")
        at_most(self, "samples", MAX_SAMPLES)

    def default_name(self) -> str:
        return f"{self.task}-T{self.length}"


@dataclass
class FreshSequences(PredictOptions):
    samples: int = option(1000, "fresh sequences to score the run on")

    def __post_init__(self):
        super().__post_init__()
        at_least(self, "samples", 1)
        at_most(self, "samples", MAX_FRESH_SAMPLES)


class SyntheticTask(Task):
    """Subclasses provide `generate`, `metrics`, `baseline` and, if needed, `model_shape`."""

    predict_class = FreshSequences
    baseline_name: str

    @abstractmethod
    def generate(self, config: SyntheticConfig, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """`samples` sequences of the task as `config` sets it (length T and any option of its own),
        from `seed`: (inputs, targets)."""

    @abstractmethod
    def sequence_shape(self, config: SyntheticConfig) -> tuple[int, int]:
        """(steps, input features) of one sequence, known before generating any."""

    @abstractmethod
    def metrics(self, config: SyntheticConfig, y_true: np.ndarray, predicted: np.ndarray) -> dict:
        """The task's scores of `predicted` (the headline among them)."""

    @abstractmethod
    def baseline(self, config: SyntheticConfig) -> dict:
        """The memoryless baseline's scores, known in closed form."""

    def estimated_bytes(self, config: SyntheticConfig) -> int:
        steps, features = self.sequence_shape(config)
        return array_bytes(config.samples, steps, features + 1)  # inputs, and a target per step at most

    def model_shape(self, x: np.ndarray) -> ModelShape:
        return ModelShape(input_shape=x.shape[1:])

    def prepare(self, config: SyntheticConfig) -> Prepared[None]:
        x, y = self.generate(config, config.samples, config.seed)
        n_train, n_val = int(0.8 * config.samples), int(0.1 * config.samples)
        val_end = n_train + n_val
        return Prepared(
            Split(x[:n_train], y[:n_train]),
            Split(x[n_train:val_end], y[n_train:val_end]),
            Split(x[val_end:], y[val_end:]),
            shape=self.model_shape(x),
            preprocessing={"length": config.length},
            data_info={"generator": type(self).__name__, "seed": config.seed, "samples": config.samples},
            context=None,
        )

    def baselines(self, config: SyntheticConfig, prepared) -> Baselines:
        return Baselines([{"model": self.baseline_name, **self.baseline(config)}])

    def evaluate(self, config: SyntheticConfig, prepared, model, cell, baselines) -> Evaluation:
        predicted = model.predict(prepared.test.x, verbose=0, batch_size=PREDICT_BATCH)
        return Evaluation(
            self.metrics(config, prepared.test.y, predicted), outputs=self.evidence(model, prepared.test.x)
        )

    def saved_config(self, run) -> SyntheticConfig | None:
        """The config a saved run was trained with, or None if run.json's is not one (a forged run)."""
        values = {key: value for key, value in run.config.items() if key != "cell"}
        try:
            return config_from_dict(self.config_class, values)
        except (LabError, TypeError, ValueError):
            return None

    def evidence(self, model, x: np.ndarray) -> dict:
        """What a trained model shows of how it remembers, saved in run.json's outputs (none by default)."""
        return {}

    def use_saved(self, run, options: FreshSequences) -> str:
        length = run.config.get("length")
        model_steps = tuple(run.model.inputs[0].shape[1:])
        config = self.saved_config(run) if isinstance(length, int) and length >= 1 else None
        if config is None or self.sequence_shape(config) != model_steps:
            raise RunError(
                f"run.json in {run.path} says T = {length!r}, which does not fit its model's input "
                f"{model_steps}: the run is damaged; retrain it."
            )
        need, have = array_bytes(options.samples, *model_steps), available_memory()
        if have is not None and need > have / 2:
            raise ConfigError(
                f"--samples {options.samples} needs about {need / 2**30:.1f} GiB of memory "
                f"({have / 2**30:.1f} GiB free): ask for fewer sequences."
            )
        x, y = self.generate(config, options.samples, FRESH_SEED_OFFSET + options.seed)
        scores = self.metrics(config, y, run.model.predict(x, verbose=0, batch_size=PREDICT_BATCH))
        table = pd.DataFrame({run.config["cell"]: scores, self.baseline_name: self.baseline(config)})
        heading = (
            f"{run.path}: {options.samples} fresh sequences, T = {length} (seed {FRESH_SEED_OFFSET + options.seed})"
        )
        return heading + "\n" + table.to_string(float_format=lambda v: f"{v:.5g}")
