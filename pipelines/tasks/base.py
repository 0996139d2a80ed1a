"""The Task interface: what every task provides (its options, prepared arrays, baselines, evaluation,
and a way to use a saved run on fresh data), and the typed values it passes to the pipeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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
    validation: Split | None  # None only inside a walk-forward fold's training
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


class Task(ABC):
    """One kind of experiment. Subclasses set the class attributes and implement the abstract
    methods; a subclass that forgets one cannot be instantiated, so it cannot be registered."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for --help
    config_class: ClassVar[type[TrainConfig]]
    predict_class: ClassVar[type[PredictOptions]] = PredictOptions
    headline: ClassVar[str]  # the metric a sweep summarises
    default_run: ClassVar[dict | None] = None  # options of the run `make train-defaults` trains, if any
    default_sweep: ClassVar[dict | None] = None  # or the sweep it trains: over, values, seeds and options
    solved_loss: ClassVar[float | None] = None  # a probe loss below this means solved (for the horizon then)
    baseline_names: ClassVar[tuple[str, ...]] = ()  # the comparison rows that are baselines, not cells
    column_help: ClassVar[dict[str, str]] = {}  # this task's own tooltips for comparison columns
    remedy_length: ClassVar[int | None] = None  # T at which the remedies compare (a task with a length)
    loss_units: ClassVar[str] = ""  # what the training loss is measured in, where a page must say it
    # what a gradient horizon means for this task's answer: how far back it must reach to be learnable
    horizon_meaning: ClassVar[str] = ""

    @abstractmethod
    def prepare(self, config) -> Prepared:
        """Identical train/validation/test arrays for every cell; all data validation happens here."""

    @abstractmethod
    def baselines(self, config, prepared: Prepared) -> Baselines:
        """The rows every cell is compared with."""

    @abstractmethod
    def evaluate(self, config, prepared: Prepared, model, cell: str, baselines: Baselines) -> Evaluation:
        """A trained model on the test split: metrics, and what to save besides."""

    def estimated_bytes(self, config) -> int:
        """Memory the prepared arrays will take, estimated from the options alone (0 if small)."""
        return 0

    def replay(self, config: dict, data: dict) -> dict:
        """A saved config made to read the same data again (run.json's "data" says what was used)."""
        return config

    def epoch_callbacks(self, config, prepared: Prepared, cell: str) -> list:
        """Keras callbacks of this task's own, run after the gradient logger in each cell's training
        (the text task writes a sample after each epoch); none by default."""
        return []

    def probe_weights(self, probe_y: np.ndarray) -> np.ndarray | None:
        """Weights of the gradient probe's loss (see GradientLogger); None: every output counts."""
        return None

    def fold_scores(self, config, prepared: Prepared, fit_cell) -> pd.DataFrame | None:
        """Extra comparison columns from refitting on folds (e.g. walk-forward), each cell trained by
        `fit_cell(cell, x, y)`, the pipeline's own training; None if the task has none."""
        return None

    def loss_level(self, comparison: pd.DataFrame) -> tuple[str, float] | None:
        """The best baseline's score in the units of the training loss, to draw beside the loss
        curves, as (baseline, value); None when the loss has no such counterpart."""
        return None

    @abstractmethod
    def use_saved(self, run: Run, options: PredictOptions) -> str:
        """What `pipelines.predict RUN_DIR` prints: the saved run applied to fresh data."""
