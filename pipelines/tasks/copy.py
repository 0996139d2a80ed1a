"""The copy task: 10 symbols from an alphabet of 8, a gap of T steps, then the symbols must be
reproduced. A memoryless model scores 10 ln 8 / (T + 20) nats per step; the head reads every step.
The gradient probe's loss is the recall steps' alone, so its dL/dh_t is the signal of what must be remembered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from data import copy_baseline_nats, copy_task
from data.synthetic import COPY_ALPHABET, COPY_INPUT_IDS, COPY_OUTPUT_IDS, COPY_SYMBOLS
from pipelines.tasks.base import ModelShape
from pipelines.tasks.synthetic import SyntheticConfig, SyntheticTask

SOLVED_ACCURACY = 0.99  # solved: at least 99% of the recalled symbols right


@dataclass
class CopyConfig(SyntheticConfig):
    task: ClassVar[str] = "copy"


class CopyTask(SyntheticTask):
    name = "copy"
    summary = "the copy task: reproduce 10 symbols after a gap of T steps"
    horizon_meaning = (
        "The answer is the 10 symbols given before the gap: a cell learns to recall them only if its gradient "
        "reaches back across the whole gap, so a horizon shorter than the gap is forgetting."
    )
    config_class = CopyConfig
    headline = "test_xent"
    baseline_name = "memoryless"
    baseline_names = (baseline_name,)
    column_help = {"solved": f"Recall accuracy of at least {SOLVED_ACCURACY:.0%}."}
    remedy_length = 50

    def loss_level(self, comparison):
        rows = comparison.set_index("model")
        if self.baseline_name not in rows.index:
            return None
        # the training loss is the cross-entropy per step over the whole sequence, as test_xent
        return self.baseline_name, float(rows.loc[self.baseline_name, "test_xent"])

    def generate(self, config, samples, seed):
        return copy_task(samples, config.length, seed=seed)

    def sequence_shape(self, config):
        return config.length + 2 * COPY_SYMBOLS, COPY_INPUT_IDS  # the symbols, the gap, the recall; one-hot

    def model_shape(self, x) -> ModelShape:
        return ModelShape(input_shape=x.shape[1:], n_classes=COPY_OUTPUT_IDS, per_step=True)

    def probe_weights(self, probe_y) -> np.ndarray:
        weights = np.zeros(probe_y.shape, dtype="float32")
        weights[:, -COPY_SYMBOLS:] = 1.0  # the blanks before them need no memory
        return weights

    def metrics(self, config, y_true, predicted) -> dict:
        """Cross-entropy in nats per step over the whole sequence, and the share of recalled symbols right."""
        y_true = np.asarray(y_true, dtype=int)
        picked = np.take_along_axis(np.asarray(predicted, dtype=float), y_true[..., None], axis=-1)[..., 0]
        recalled = np.argmax(predicted[:, -COPY_SYMBOLS:], axis=-1) == y_true[:, -COPY_SYMBOLS:]
        accuracy = float(np.mean(recalled))
        return {
            "test_xent": float(-np.mean(np.log(np.maximum(picked, 1e-12)))),
            "recall_accuracy": accuracy,
            "solved": accuracy >= SOLVED_ACCURACY,
        }

    def baseline(self, config) -> dict:
        return {"test_xent": copy_baseline_nats(config.length), "recall_accuracy": 1 / COPY_ALPHABET, "solved": False}
