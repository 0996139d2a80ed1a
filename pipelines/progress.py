"""A rich progress bar for model.fit: one bar per cell, loss and validation loss as it goes.

Quiet mode (tests, the dashboard) swaps in a callback that reports to a function instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from models.pause import pause_for_tests


@contextmanager
def progress_unless(quiet: bool) -> Iterator[Progress | None]:
    """Progress bars on the terminal, or None (no bars) when asked to be quiet."""
    if quiet:
        yield None
        return
    with make_progress() as progress:
        yield progress


class LazyProgress(Progress):
    """A Progress whose display starts with its first bar, so a command that stops on bad input
    before training leaves no trace of a progress display on the terminal."""

    def __enter__(self) -> LazyProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.live.is_started:
            self.stop()

    def add_task(self, *args, **kwargs):
        if not self.live.is_started:
            self.start()
        return super().add_task(*args, **kwargs)


def make_progress() -> Progress:
    return LazyProgress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


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
        pause_for_tests(f"epoch {self._epoch} batch {batch}")  # for the fault tests: a point mid-epoch
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
