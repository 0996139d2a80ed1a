"""Gradient flow page: for one experiment, the comparison table and how ||dL/dh_t|| flows back
through time for each cell, side by side on one colour scale. Reads runs only; never trains.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from models import RunError, load_gradient_log, read_run_info


def runs_root() -> Path:
    return Path(os.environ.get("VGL_RUNS_DIR", "runs"))


def list_experiments(root: Path) -> list[str]:
    """Experiments (folders holding comparison.csv), nested sweep trials included."""
    if not root.is_dir():
        return []
    return sorted(
        str(p.parent.relative_to(root)) for p in root.rglob("comparison.csv") if not p.parent.name.startswith(".")
    )


@st.cache_data(show_spinner=False)
def load_experiment(folder: str, stamp: float) -> tuple[pd.DataFrame, dict[str, dict], dict[str, dict]]:
    """Comparison table, run.json and gradient log of every cell (`stamp` invalidates the cache)."""
    path = Path(folder)
    table = pd.read_csv(path / "comparison.csv")
    infos, logs = {}, {}
    for cell in table["model"]:
        run_dir = path / str(cell)
        if (run_dir / "run.json").is_file():
            infos[cell] = read_run_info(run_dir)
            logs[cell] = load_gradient_log(run_dir / "gradients.npz")
    return table, infos, logs


def heatmaps(logs: dict[str, dict], layer_of) -> go.Figure:
    """log10 ||dL/dh_t||, training record x steps back, one panel per cell, shared colour scale."""
    cells = list(logs)
    grids = {c: np.log10(np.maximum(logs[c][f"h_grad_norm/{layer_of(c)}"], 1e-30)) for c in cells}
    finite = np.concatenate([g[np.isfinite(g)].ravel() for g in grids.values()])
    low, high = np.percentile(finite, 1), np.percentile(finite, 99)
    figure = make_subplots(rows=1, cols=len(cells), subplot_titles=cells, shared_yaxes=True)
    for index, cell in enumerate(cells, start=1):
        grid = grids[cell][:, ::-1]  # column k = k steps back from the last step
        figure.add_trace(
            go.Heatmap(
                z=grid, x=np.arange(grid.shape[1]), y=logs[cell]["step"], zmin=low, zmax=high, coloraxis="coloraxis"
            ),  # fmt: skip
            row=1,
            col=index,
        )
        figure.update_xaxes(title_text="steps back from T", row=1, col=index)
    figure.update_yaxes(title_text="training batch", row=1, col=1)
    figure.update_layout(height=420, coloraxis=dict(colorscale="Viridis", colorbar=dict(title="log10 |dL/dh|")),
                         margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return figure


def final_profiles(logs: dict[str, dict], layer_of) -> go.Figure:
    """The last record's ||dL/dh_t|| / ||dL/dh_T|| against steps back, on a log axis."""
    figure = go.Figure()
    for cell, log in logs.items():
        norms = log[f"h_grad_norm/{layer_of(cell)}"][-1][::-1]
        figure.add_trace(go.Scatter(x=np.arange(len(norms)), y=norms / norms[0], name=cell, mode="lines"))
    figure.add_hline(y=1e-2, line_dash="dot", annotation_text="horizon threshold (1%)")
    figure.update_layout(height=360, yaxis_type="log", xaxis_title="steps back from T",
                         yaxis_title="||dL/dh_t|| / ||dL/dh_T||", margin=dict(l=10, r=10, t=30, b=10))  # fmt: skip
    return figure


def render() -> None:
    st.title("Gradient flow")
    root = runs_root()
    experiments = list_experiments(root)
    if not experiments:
        st.info(
            f"No runs in {root}/ yet. Train the defaults with `make train-defaults` (about 3 minutes), or any experiment with `python -m pipelines.train --task adding`."
        )
        return
    default = experiments.index("adding-T50") if "adding-T50" in experiments else 0
    name = st.selectbox("Experiment", experiments, index=default)
    folder = root / name
    try:
        table, infos, logs = load_experiment(str(folder), (folder / "comparison.csv").stat().st_mtime)
    except (RunError, OSError, ValueError, KeyError, zipfile.BadZipFile) as error:  # damaged files: say so
        st.error(f"Cannot read {folder}: {error}")
        return
    st.subheader("Held-back test split")
    st.dataframe(table, hide_index=True)
    if not logs:
        st.warning("This experiment has no finished cell runs to show gradients for.")
        return

    def layer_of(cell: str) -> str:
        return f"{cell}_1"  # the first recurrent layer: its gradient must reach the earliest inputs

    st.subheader("How far back the gradient reaches")
    st.caption(
        "Each panel: one cell. Rows are training records, columns steps back from the last time step; colour is log10 ||dL/dh_t|| on one scale for all cells."
    )
    st.plotly_chart(heatmaps(logs, layer_of))
    st.plotly_chart(final_profiles(logs, layer_of))
    # Cells share data, batch size and cadence, so their records fall on the same training batches.
    steps = pd.Index(next(iter(logs.values()))["step"], name="training batch")
    horizons = pd.DataFrame({cell: log[f"horizon/{layer_of(cell)}"] for cell, log in logs.items()}, index=steps)
    st.markdown(
        "**Gradient horizon over training** (steps back before the gradient falls below 1% of its last-step value)"
    )
    st.line_chart(horizons)
    forget = {
        cell: log[f"gate_mean/{layer_of(cell)}/forget"].mean(axis=1)
        for cell, log in logs.items()
        if f"gate_mean/{layer_of(cell)}/forget" in log
    }
    if forget:
        st.markdown("**LSTM forget gate over training** (mean over time steps and units)")
        st.line_chart(pd.DataFrame(forget, index=steps))
