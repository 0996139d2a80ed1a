"""Runs page: every experiment (sweeps with their trials), each run's config, metrics, library versions
and model summary; download an experiment as a zip, or delete it after a confirmation.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard import first_start
from dashboard.experiments import experiment, groups, runs_root
from dashboard.look import plain
from data import LabError
from models.experiment_store import delete_experiment, experiment_archive, run_path
from models.run_store import model_summary


def render() -> None:
    st.title("Runs")
    root = runs_root()
    first_start.notice(root)
    found = groups(root)
    if not found:
        st.info(f"No experiments in {root}/ yet: the Overview trains the default runs, the Lab trains your own.")
        return
    st.caption(f"{len(found)} experiments in {root.resolve()}, sweeps counted once.")
    names = [group.name for group in found]
    name = st.selectbox("Experiment", names, key="experiment", bind="query-params")  # by folder name: stable links
    group = found[names.index(name)]
    if group.is_sweep:
        st.caption(group.label())
    trial = group.trials[0]
    if group.is_sweep:
        trial = group.trial(st.selectbox("Trial", group.trial_labels(), key="experiment-trial", bind="query-params"))
    try:
        shown = experiment(root, trial)
    except LabError as error:
        st.error(str(error))
    else:
        runs_of(shown)
    manage(root, name)


def runs_of(shown) -> None:
    for cell, info in shown.runs.items():
        with st.expander(f"{cell}: {plain(info.get('created', ''))}", expanded=len(shown.runs) == 1):
            left, right = st.columns(2)
            with left:
                st.markdown("**Metrics** (held-back test split)")
                st.dataframe(metrics_table(info["metrics"]), hide_index=True)
                st.markdown("**Library versions**")
                st.dataframe(
                    pd.DataFrame(info.get("versions", {}).items(), columns=["library", "version"]), hide_index=True
                )
            with right:
                params = plain(info.get("model", {}).get("trainable_params", "?"))
                st.markdown(f"**Model** ({params} trainable parameters)")
                try:
                    st.dataframe(model_summary(run_path(shown.path, cell)), hide_index=True)
                except LabError as error:
                    st.error(str(error))
                st.markdown("**Config** (repeat it with `python -m pipelines.train --config run.json`)")
                st.code(json.dumps(info["config"], indent=2), language="json")


def metrics_table(metrics: dict) -> pd.DataFrame:
    return pd.DataFrame({"metric": list(metrics), "value": [str(v) for v in metrics.values()]})


def manage(root, name: str) -> None:
    st.subheader("Download or delete")
    try:
        archive = experiment_archive(root, name)
    except LabError as error:  # a sentence of its own (a hard link in the folder)
        st.error(str(error))
    except OSError as error:
        st.error(f"{name} cannot be packed ({error}).")
    else:
        st.download_button(
            f"Download {name} as a zip ({len(archive) / 2**20:.1f} MB)", archive, f"{name}.zip", "application/zip"
        )
    sure = st.checkbox(f"Yes, delete {name} and every run in it", key=f"confirm-delete-{name}")
    if st.button("Delete", disabled=not sure, type="primary"):
        try:
            delete_experiment(root, name)
        except LabError as error:
            st.error(str(error))
            return
        st.session_state.pop(f"confirm-delete-{name}", None)
        st.toast(f"Deleted {name}.")
        st.rerun()
