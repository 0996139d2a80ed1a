"""The rich progress display every command shares: bars appear with the first one, none when quiet.

Imports no Keras (a sweep on Ray shows its trials without loading TensorFlow); the per-batch bar of
model.fit is pipelines.fit_progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


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
