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
        return sum(self._done(plan) for plan in self._upto(through))

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

    def seconds_left(
        self, elapsed: float, work_at_start: float, through: str | None = None, workers: int = 1
    ) -> float | None:
        """Seconds until everything (or `through`) is trained at this run's pace so far, with `workers`
        experiments training at once, each taken in order by the first worker free (as Ray's queue does):
        a long last experiment trains alone, at one worker's pace. None before there is a pace."""
        done_now = self.work_done() - work_at_start
        if elapsed < MIN_PACE_SECONDS or done_now <= 0:
            return None
        per_worker = done_now / elapsed / workers
        free, finish = [0.0] * workers, {}
        for plan in self.planned:
            left = (plan.work * plan.epochs + CELL_START) * len(plan.cells) - self._done(plan)
            if left > 0:
                worker = free.index(min(free))
                free[worker] += left / per_worker
                finish[plan.name] = free[worker]
        return max([finish.get(plan.name, 0.0) for plan in self._upto(through)], default=0.0)

    def landed(self, name: str) -> bool:
        """Whether every cell of experiment (or sweep) `name` is trained; True for one not in the plan."""
        return all(
            all(epochs == plan.epochs for epochs in self.epochs_done[plan.name].values())
            for plan in self.planned
            if split_trial(plan.name)[0] == name
        )

    def _done(self, plan: PlannedExperiment) -> float:
        return sum(plan.work * epochs + CELL_START * (epochs > 0) for epochs in self.epochs_done[plan.name].values())


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
