"""The first start: with no runs, opening any page trains the default runs in the background, and every
page says what is training, how far it is, and about when its own runs land (from the pace so far).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import background
from models.experiment_store import experiment_path, list_experiments, split_trial, training_progress
from pipelines.defaults import PlannedExperiment, default_experiments, defaults_complete

DEFAULTS_JOB = "default runs"
MIN_PACE_SECONDS = 5.0  # no estimate before this much training: the first seconds are start-up, not pace


@dataclass
class DefaultsProgress:
    """Where each default experiment stands: cell-epochs done, and the work they stand for."""

    planned: list[PlannedExperiment]
    epochs_done: dict[str, dict[str, int]]  # experiment -> cell -> epochs done (finished: all)

    @property
    def total_work(self) -> float:
        return sum(p.work * p.epochs * len(p.cells) for p in self.planned)

    def work_done(self, through: str | None = None) -> float:
        """Work done by every experiment, or by those up to `through` in the training order."""
        return sum(p.work * sum(self.epochs_done[p.name].values()) for p in self._upto(through))

    def work_planned(self, through: str | None = None) -> float:
        return sum(p.work * p.epochs * len(p.cells) for p in self._upto(through))

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


def measure(root: Path) -> DefaultsProgress:
    """Each default experiment's progress, read from the store while the training writes it."""
    planned = default_experiments(str(root))
    done = {}
    for plan in planned:
        states = training_progress(experiment_path(root, plan.name), plan.cells)
        done[plan.name] = {cell: plan.epochs if s.finished else s.epochs_done for cell, s in states.items()}
    return DefaultsProgress(planned, done)


def job() -> background.Job | None:
    return background.job(DEFAULTS_JOB)


def training() -> bool:
    running = job()
    return running is not None and running.running


def start(root: Path) -> background.Job:
    """Train what is missing of the default runs (resuming what an earlier start left)."""
    about = {"work_at_start": measure(root).work_done()}
    return background.start(DEFAULTS_JOB, "pipelines.defaults", ["--resume", "--out", str(root.resolve())], about)


def only_defaults(root: Path) -> bool:
    """Whether every experiment under root is a default one: a first start, perhaps interrupted. A
    folder with runs of the user's own is never trained into without a click."""
    planned = {split_trial(p.name)[0] for p in default_experiments(str(root))}
    return all(split_trial(name)[0] in planned for name in list_experiments(root))


def ensure_started(root: Path) -> None:
    """On a first start (or one that was interrupted), start training the default runs: on whichever
    page is opened first, so nobody has to find the Overview for anything to happen."""
    if job() is None and only_defaults(root) and not defaults_complete(str(root)):
        start(root)


def about_time(seconds: float | None) -> str:
    if seconds is None:
        return "estimating the time left"
    if seconds < 90:
        return f"about {max(10, round(seconds, -1)):.0f} s left"
    return f"about {seconds / 60:.0f} min left"


def status_line(root: Path, waiting_for: str | None = None) -> str | None:
    """One sentence on the training in progress, and when `waiting_for` (an experiment or sweep) lands;
    None when the default runs are not training."""
    running = job()
    if running is None or not running.running:
        return None
    progress = measure(root)
    done, planned = progress.cell_epochs
    start_work = running.about.get("work_at_start", 0)
    line = (
        f"The default runs are training in the background: {done} of {planned} cell-epochs, "
        f"{about_time(progress.seconds_left(running.elapsed(), start_work))}."
    )
    if waiting_for is not None and any(split_trial(p.name)[0] == waiting_for for p in progress.planned):
        when = about_time(progress.seconds_left(running.elapsed(), start_work, waiting_for))
        line += f" This page fills in when `{waiting_for}` lands ({when.replace(' left', '')})."
    return line


def notice(root: Path, waiting_for: str | None = None) -> None:
    """While the default runs train, the status line on a page, kept current; the page reruns when they end."""
    if training():
        _live_notice(root, waiting_for)


@st.fragment(run_every=2)
def _live_notice(root: Path, waiting_for: str | None) -> None:
    line = status_line(root, waiting_for)
    if line is not None:
        st.info(line)
    else:
        st.rerun()  # the whole page, now with the runs that landed
