"""Gradient flow page: for one experiment, the comparison table and how ||dL/dh_t|| flows back
through time for each cell, side by side on one colour scale. Reads runs only; never trains.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from data import LabError
from models.experiment_store import Experiment, list_experiments, load_experiment
from models.gradient_log import STEP, gate_key, h_grad_key, horizon_key
from pipelines.tasks import TASKS

SHOWCASE = "adding-T50"  # the experiment shown first: the default adding-problem run


def runs_root() -> Path:
    return Path(os.environ.get("VGL_RUNS_DIR", "runs"))


@st.cache_data(show_spinner=False)
def cached_experiment(folder: str, version: float) -> Experiment:
    """The experiment with every cell's gradient log (`version` changes when the folder does)."""
    return load_experiment(folder, with_gradients=True)


def fingerprint(folder: Path) -> float:
    """Changes whenever any file of the experiment does, so an edited file is verified again."""
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0.0)


def heatmaps(logs: dict[str, dict], layer_of) -> go.Figure:
    """log10 ||dL/dh_t||, training record x steps back, one panel per cell, shared colour scale."""
    cells = list(logs)
    grids = {c: np.log10(np.maximum(logs[c][h_grad_key(layer_of(c))], 1e-30)) for c in cells}
    finite = np.concatenate([g[np.isfinite(g)].ravel() for g in grids.values()])
    low, high = np.percentile(finite, 1), np.percentile(finite, 99)
    figure = make_subplots(rows=1, cols=len(cells), subplot_titles=cells, shared_yaxes=True)
    for index, cell in enumerate(cells, start=1):
        grid = grids[cell][:, ::-1]  # column k = k steps back from the last step
        figure.add_trace(
            go.Heatmap(
                z=grid, x=np.arange(grid.shape[1]), y=logs[cell][STEP], zmin=low, zmax=high, coloraxis="coloraxis"
            ),
            row=1,
            col=index,
        )
        figure.update_xaxes(title_text="steps back from T", row=1, col=index)
    figure.update_yaxes(title_text="training batch", row=1, col=1)
    figure.update_layout(
        height=420,
        coloraxis=dict(colorscale="Viridis", colorbar=dict(title="log10 |dL/dh|")),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return figure


def final_profiles(logs: dict[str, dict], layer_of) -> go.Figure:
    """The last record's ||dL/dh_t|| / ||dL/dh_T|| against steps back, on a log axis."""
    figure = go.Figure()
    for cell, log in logs.items():
        norms = log[h_grad_key(layer_of(cell))][-1][::-1]
        figure.add_trace(go.Scatter(x=np.arange(len(norms)), y=norms / norms[0], name=cell, mode="lines"))
    figure.add_hline(y=1e-2, line_dash="dot", annotation_text="horizon threshold (1%)")
    figure.update_layout(
        height=360,
        yaxis_type="log",
        xaxis_title="steps back from T",
        yaxis_title="||dL/dh_t|| / ||dL/dh_T||",
        margin=dict(l=10, r=10, t=30, b=10),
    )
    return figure


def render() -> None:
    st.title("Gradient flow")
    root = runs_root()
    experiments = list_experiments(root)
    if not experiments:
        st.info(
            f"No runs in {root}/ yet. Train the defaults with `make train-defaults` (about 3 minutes; it resumes if interrupted), or any experiment with `python -m pipelines.train --task adding`."
        )
        return
    name = st.selectbox("Experiment", experiments, index=experiments.index(SHOWCASE) if SHOWCASE in experiments else 0)
    folder = root / name
    try:
        experiment = cached_experiment(str(folder), fingerprint(folder))
    except LabError as error:
        st.error(str(error))
        return
    st.subheader("Held-back test split")
    st.dataframe(experiment.comparison, hide_index=True)
    logs = experiment.gradients
    if not logs:
        st.warning("This experiment has no finished cell runs to show gradients for.")
        return
    tasks = {TASKS[info["config"]["task"]] for info in experiment.runs.values() if info["config"].get("task") in TASKS}
    for task in tasks:
        st.caption(f"{task.summary}; the headline metric is `{task.headline}` (lower is better).")
    layer_of = experiment.probe_layer  # the first recurrent layer: its gradient must reach the earliest inputs

    st.subheader("How far back the gradient reaches")
    st.caption(
        "Each panel: one cell. Rows are training records, columns steps back from the last time step; colour is log10 ||dL/dh_t|| on one scale for all cells."
    )
    st.plotly_chart(heatmaps(logs, layer_of))
    st.plotly_chart(final_profiles(logs, layer_of))
    # Each cell has its own record steps (a resumed or diverged run may have fewer): align on the step.
    horizons = pd.DataFrame(
        {cell: pd.Series(log[horizon_key(layer_of(cell))], index=log[STEP]) for cell, log in logs.items()}
    ).rename_axis("training batch")
    st.markdown(
        "**Gradient horizon over training** (steps back before the gradient falls below 1% of its last-step value)"
    )
    st.line_chart(horizons)
    forget = {
        cell: pd.Series(log[gate_key(layer_of(cell), "forget")].mean(axis=1), index=log[STEP])
        for cell, log in logs.items()
        if gate_key(layer_of(cell), "forget") in log
    }
    if forget:
        st.markdown("**LSTM forget gate over training** (mean over time steps and units)")
        st.line_chart(pd.DataFrame(forget).rename_axis("training batch"))
