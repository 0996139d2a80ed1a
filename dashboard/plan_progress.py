"""How far a background training is through its plan (experiments x cells x epochs, read from the
store while it trains), and the time left at its pace so far: for the first start and the remedies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.experiment_store import experiment_path, split_trial, training_progress
from pipelines.defaults import CELL_START, PlannedExperiment

MIN_PACE_SECONDS = 5.0  # no estimate before this much training: the first seconds are start-up, not pace


@dataclass
class PlanProgress:
    """Where each planned experiment stands: cell-epochs done, and the work they stand for."""

    planned: list[PlannedExperiment]
    epochs_done: dict[str, dict[str, int]]  # experiment -> cell -> epochs done (finished: all)

    @property
    def total_work(self) -> float:
        return self.work_planned()

    def work_done(self, through: str | None = None) -> float:
        """Work done by every experiment, or by those up to `through` in the training order: each
        epoch done, and each cell's start once its first epoch is."""
        return sum(
            (p.work * epochs + CELL_START * (epochs > 0))
            for p in self._upto(through)
            for epochs in self.epochs_done[p.name].values()
        )

    def work_planned(self, through: str | None = None) -> float:
        return sum((p.work * p.epochs + CELL_START) * len(p.cells) for p in self._upto(through))

    def _upto(self, through: str | None) -> list[PlannedExperiment]:
        names = [p.name for p in self.planned]
        last = max(i for i, name in enumerate(names) if split_trial(name)[0] == through) if through else len(names) - 1
        return self.planned[: last + 1]

    @property
    def cell_epochs(self) -> tuple[int, int]:
        """(done, planned) cell-epochs: what the progress bar counts."""
        done = sum(sum(cells.values()) for cells in self.epochs_done.values())
        return done, sum(p.epochs * len(p.cells) for p in self.planned)

    def seconds_left(self, elapsed: float, work_at_start: float, through: str | None = None) -> float | None:
        """Seconds until everything (or `through`) is trained, at this run's pace so far; None before
        there is a pace to go by."""
        done_now = self.work_done() - work_at_start
        if elapsed < MIN_PACE_SECONDS or done_now <= 0:
            return None
        return (self.work_planned(through) - self.work_done(through)) / (done_now / elapsed)


def measure(root: Path, planned: list[PlannedExperiment]) -> PlanProgress:
    """Each planned experiment's progress, read from the store while a training writes it."""
    done = {}
    for plan in planned:
        states = training_progress(experiment_path(root, plan.name), plan.cells)
        done[plan.name] = {cell: plan.epochs if s.finished else s.epochs_done for cell, s in states.items()}
    return PlanProgress(planned, done)


def about_time(seconds: float | None) -> str:
    if seconds is None:
        return "estimating the time left"
    if seconds < 90:
        return f"about {max(10, round(seconds, -1)):.0f} s left"
    return f"about {seconds / 60:.0f} min left"
