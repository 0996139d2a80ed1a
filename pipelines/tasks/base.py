"""The Task interface: what every task provides (its options, prepared arrays, baselines, evaluation,
and a way to use a saved run on fresh data), and the typed values it passes to the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import numpy as np

from pipelines.tasks.config import PredictOptions, TrainConfig

if TYPE_CHECKING:
    import pandas as pd

    from models.run_store import Run


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class ModelShape:
    """What the builder needs to know of a task beyond the shared options."""

    input_shape: tuple[int, ...]
    n_classes: int | None = None  # a softmax head over this many classes; None: one regression output
    vocab_size: int | None = None  # integer inputs embedded over this vocabulary
    embedding_dim: int = 32
    per_step: bool = False  # one output per time step


ContextT = TypeVar("ContextT")


@dataclass
class Prepared(Generic[ContextT]):
    """Identical arrays for every cell, and what the run store and the evaluation need besides."""

    train: Split
    validation: Split
    test: Split
    shape: ModelShape
    preprocessing: dict  # saved in run.json: what using the run later needs (scalers, vocabulary)
    data_info: dict  # saved in run.json: where the data came from
    context: ContextT  # the task's own typed extras for baselines and evaluation; not saved


@dataclass
class Baselines:
    """The rows every cell is compared with, computed once per experiment."""

    rows: list[dict]  # one comparison-table row per baseline; "model" names it
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # test predictions shown beside each cell's


@dataclass
class Evaluation:
    """A trained cell on the held-back test split."""

    metrics: dict
    predictions: pd.DataFrame | None = None  # saved as the run's predictions.csv
    outputs: dict = field(default_factory=dict)  # saved in run.json, e.g. generated text


class Task:
    """One kind of experiment. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for --help
    config_class: ClassVar[type[TrainConfig]]
    predict_class: ClassVar[type[PredictOptions]] = PredictOptions
    headline: ClassVar[str]  # the metric a sweep summarises
    lower_is_better: ClassVar[bool] = True
    default_run: ClassVar[dict | None] = None  # options of the run `make train-defaults` trains, if any

    def prepare(self, config) -> Prepared:
        raise NotImplementedError

    def baselines(self, config, prepared: Prepared) -> Baselines:
        raise NotImplementedError

    def evaluate(self, config, prepared: Prepared, model, cell: str, baselines: Baselines) -> Evaluation:
        raise NotImplementedError

    def fold_scores(self, config, prepared: Prepared, build_cell) -> pd.DataFrame | None:
        """Extra comparison columns from refitting on folds (e.g. walk-forward); None if the task has none."""
        return None

    def use_saved(self, run: Run, options: PredictOptions) -> str:
        """What `pipelines.predict RUN_DIR` prints: the saved run applied to fresh data."""
        raise NotImplementedError
