"""What every page reads: the runs folder, its experiments and sweeps (cached until a file changes),
and the selection of one, kept in the URL so a view can be shared and reloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from data import LabError
from models.experiment_store import (
    Experiment,
    Group,
    experiment_groups,
    experiment_path,
    is_sweep,
    load_experiment,
    load_sweep,
    run_path,
)

SHOWCASE = "adding-by-length"  # the default length sweep of the adding problem: the Overview's story
CHOSEN, CHOSEN_TRIAL = "chosen-experiment", "chosen-trial"  # the last choice, kept across pages


def runs_root() -> Path:
    return Path(os.environ.get("VGL_RUNS_DIR", "runs"))


def fingerprint(folder: Path) -> float:
    """Changes whenever any file of the folder does, so an edited file is verified again."""
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0.0)


@st.cache_resource(show_spinner=False, max_entries=64)
def _experiment(folder: str, version: float) -> Experiment:
    # cache_resource, not cache_data: gradient logs are large and only read, so they are not copied per page.
    return load_experiment(folder, with_gradients=True)


def experiment(root: Path, name: str) -> Experiment:
    """Experiment `name` with every cell's gradient log, verified (a RunError if damaged)."""
    folder = experiment_path(root, name)
    return _experiment(str(folder), fingerprint(folder))


@st.cache_data(show_spinner=False, max_entries=64)
def _sweep(folder: str, version: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_sweep(folder)


def sweep_tables(root: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sweep `name`'s (trials, summary) tables."""
    folder = experiment_path(root, name)
    return _sweep(str(folder), fingerprint(folder))


def has_sweep(root: Path, name: str) -> bool:
    """Whether `name` under root is a sweep with its summary table."""
    return is_sweep(experiment_path(root, name))


def task_of(found: Experiment) -> str | None:
    tasks = {info["config"].get("task") for info in found.runs.values()}
    return tasks.pop() if len(tasks) == 1 else None


def groups(root: Path) -> list[Group]:
    """Experiments with each sweep's trials grouped under the sweep."""
    return experiment_groups(root)


def sweeps(root: Path) -> list[str]:
    """Names of the sweeps under root that have a summary table."""
    return [group.name for group in groups(root) if group.is_sweep and has_sweep(root, group.name)]


def choose_experiment(root: Path, *, task: str | None = None, key: str = "experiment") -> Experiment | None:
    """An experiment picked by the user (sweeps by sweep, then trial), bound to the URL; None and a
    message when there is none to show. `task` keeps only that task's experiments."""
    found = groups(root)
    if task is not None:
        found = [group for group in found if _group_task(root, group) == task]
    if not found:
        return None
    names = [group.name for group in found]
    # the options are folder names, not labels: the address keeps a name that adding a trial never changes;
    # the last choice on any page is the default on the next, so moving between pages keeps it
    default = names.index(SHOWCASE) if SHOWCASE in names else 0
    kept = st.session_state.get(CHOSEN)
    if kept in names and key not in st.session_state and key not in st.query_params:
        st.session_state[key] = kept  # not the default, so the address of this page names it too
    name = st.selectbox("Experiment", names, index=default, key=key, bind="query-params")
    group = found[names.index(name)]
    trial = group.trials[0]
    if group.is_sweep:
        st.caption(group.label())
        labels = group.trial_labels()
        kept_trial = st.session_state.get(CHOSEN_TRIAL, {}).get(name)
        trial_key = f"{key}-trial"
        if kept_trial in labels and trial_key not in st.session_state and trial_key not in st.query_params:
            st.session_state[trial_key] = kept_trial
        picked = st.selectbox("Trial", labels, index=len(labels) - 1, key=trial_key, bind="query-params")
        trial = group.trial(picked)
        st.session_state[CHOSEN_TRIAL] = {**st.session_state.get(CHOSEN_TRIAL, {}), name: picked}
    st.session_state[CHOSEN] = name
    try:
        return experiment(root, trial)
    except LabError as error:
        st.error(str(error))
        return None


def _group_task(root: Path, group: Group) -> str | None:
    try:
        return task_of(experiment(root, group.trials[0]))
    except LabError:
        return None  # listed on the pages that show any task, where its error is shown


@st.cache_data(show_spinner=False, max_entries=64)
def _histories(folder: str, version: float, cells: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    from models.run_store import read_history

    return {cell: read_history(run_path(Path(folder), cell)) for cell in cells}


def histories(found: Experiment) -> dict[str, pd.DataFrame]:
    """Each finished cell's per-epoch losses (history.csv)."""
    return _histories(str(found.path), fingerprint(found.path), tuple(found.runs))


def histories_or_error(found: Experiment) -> dict[str, pd.DataFrame] | None:
    """`histories`, or None after showing the store's one-sentence error."""
    try:
        return histories(found)
    except LabError as error:
        st.error(str(error))
        return None
