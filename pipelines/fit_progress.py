"""A rich progress bar for model.fit: one bar per cell, loss and validation loss as it goes.

Quiet mode (tests, the dashboard) swaps in a callback that reports to a function instead.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from rich.progress import Progress


class FitProgress(keras.callbacks.Callback):
    """Advances a rich task per batch; or calls `report(fraction, message)` when given one."""

    def __init__(
        self,
        label: str,
        epochs: int,
        steps_per_epoch: int,
        progress: Progress | None = None,
        report: Callable[[float, str], None] | None = None,
    ):
        super().__init__()
        self.label, self.epochs, self.steps = label, epochs, steps_per_epoch
        self.progress, self.report = progress, report
        self.task = progress.add_task(label, total=epochs * steps_per_epoch, status="") if progress else None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.progress is not None:
            self.progress.update(self.task, completed=epoch * self.steps)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if self.progress is not None:
            status = f"epoch {self._epoch + 1}/{self.epochs} loss {logs.get('loss', float('nan')):.4f}"
            self.progress.update(self.task, completed=self._epoch * self.steps + batch + 1, status=status)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        message = f"{self.label}: epoch {epoch + 1}/{self.epochs} loss {logs.get('loss', float('nan')):.4f} val_loss {logs.get('val_loss', float('nan')):.4f}"
        if self.progress is not None:
            self.progress.update(self.task, completed=(epoch + 1) * self.steps, status=message.split(": ", 1)[1])
        if self.report is not None:
            self.report((epoch + 1) / self.epochs, message)
