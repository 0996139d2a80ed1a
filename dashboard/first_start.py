"""The first start: with no runs, opening any page trains the default runs in the background, and every
page says what is training, how far it is, and about when its own runs land (from the pace so far).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import background
from dashboard.plan_progress import PlanProgress, about_time, measure
from models.experiment_store import list_experiments, split_trial
from pipelines.defaults import DEFAULT_WORKERS, default_experiments, defaults_complete

DEFAULTS_JOB = "default runs"


def progress(root: Path) -> PlanProgress:
    """How far the default runs are, read from the store."""
    return measure(root, default_experiments(str(root)))


def job() -> background.Job | None:
    return background.job(DEFAULTS_JOB)


def training() -> bool:
    running = job()
    return running is not None and running.running


def start(root: Path) -> background.Job:
    """Train what is missing of the default runs (resuming what an earlier start left)."""
    about = {"work_at_start": progress(root).work_done(), "workers": DEFAULT_WORKERS}
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


def status_line(root: Path, waiting_for: str | None = None, measured: PlanProgress | None = None) -> str | None:
    """One sentence on the training in progress, and when `waiting_for` (an experiment or sweep) lands;
    None when the default runs are not training. `measured`: the progress, if the caller read it already."""
    running = job()
    if running is None or not running.running:
        return None
    measured = measured or progress(root)
    done, planned = measured.cell_epochs
    start_work, workers = running.about.get("work_at_start", 0), running.about.get("workers", 1)
    line = (
        f"The default runs are training in the background: {done} of {planned} cell-epochs, "
        f"{about_time(measured.seconds_left(running.elapsed(), start_work, workers=workers))}."
    )
    if waiting_for is not None and not measured.landed(waiting_for):
        when = about_time(measured.seconds_left(running.elapsed(), start_work, waiting_for, workers))
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
