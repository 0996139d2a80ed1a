"""Remedies page: every answer to vanishing gradients, trained on one task at one budget and three
seeds (`python -m pipelines.remedies`), as a chart of the task metric and of how far the gradient reaches.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard.experiments import runs_root, sweep_tables, sweeps
from dashboard.look import colour, figure_layout, reference_line, show_table
from data import LabError
from pipelines.remedies import FOLDER, REMEDIES
from pipelines.tasks import get_task

ABOUT = {remedy.name: remedy.about for remedy in REMEDIES}


def remedies_folders(root) -> list[str]:
    prefix = FOLDER.split("{")[0]
    return [name for name in sweeps(root) if name.startswith(prefix)]


def metric_chart(summary, headline: str, baseline: float, baseline_name: str) -> go.Figure:
    """The task metric per remedy, mean over seeds with the spread, coloured by cell, with the solved count."""
    figure = go.Figure(
        go.Bar(
            x=summary["remedy"].tolist(),
            y=summary[f"{headline}_mean"].tolist(),  # lists, so the chart's figures read as numbers
            error_y=dict(array=summary[f"{headline}_std"].fillna(0).tolist()),
            marker_color=[colour(cell) for cell in summary["cell"]],
            text=[
                f"solved {solved}/{seeds}" for solved, seeds in zip(summary["solved"], summary["seeds"], strict=True)
            ],
            textposition="outside",
            hovertext=[ABOUT.get(name, "") for name in summary["remedy"]],
            name=headline,
        )
    )
    reference_line(figure, baseline, f"baseline: {baseline_name}", log=True)
    return figure_layout(figure, 380, yaxis_title=headline.replace("_", " "), yaxis_type="log", showlegend=False)


def horizon_chart(summary, steps: int) -> go.Figure:
    """How far back the gradient reaches at the first and at the last record, per remedy."""
    figure = go.Figure()
    for column, name, opacity in (("first_horizon_mean", "first record", 0.45), ("horizon_mean", "end of training", 1)):
        figure.add_trace(
            go.Bar(
                x=summary["remedy"].tolist(),
                y=summary[column].tolist(),
                name=name,
                marker_color=[colour(cell) for cell in summary["cell"]],
                marker_opacity=opacity,
            )
        )
    reference_line(figure, steps - 1, f"the whole sequence ({steps - 1} steps back)")
    # no legend: its swatch would show one cell's colour; the caption says pale is first, solid is last
    return figure_layout(figure, 380, barmode="group", yaxis_title="gradient horizon (steps back)", showlegend=False)


def render() -> None:
    st.title("Remedies")
    st.caption(
        "Every remedy the literature names for vanishing and exploding gradients, on the same task, "
        "sequences, epochs and seeds. Hover a bar for what the remedy is."
    )
    root = runs_root()
    names = remedies_folders(root)
    if not names:
        st.info("No remedies experiment yet: run `python -m pipelines.remedies` (about 40 minutes on 2 cores).")
        return
    name = st.selectbox("Experiment", names, key="remedies", bind="query-params")
    try:
        trials, summary = sweep_tables(root, name)
        task, length = get_task(str(trials["task"].iloc[0])), int(trials["length"].iloc[0])
        if task.remedy_length is None:
            raise ValueError(f"the {task.name} task has no remedies")
        config = task.config_class(length=length)
        steps, baseline = task.sequence_shape(config)[0], task.baseline(config)[task.headline]
    except (LabError, KeyError, IndexError, ValueError) as error:
        st.error(f"The remedies tables in {name} cannot be read ({error}): run `python -m pipelines.remedies` again.")
        return
    left, right = st.columns(2)
    with left:
        st.plotly_chart(metric_chart(summary, task.headline, baseline, task.baseline_name))
        st.caption("Lower is better; the bar is the mean over seeds, the whisker its spread.")
    with right:
        st.plotly_chart(horizon_chart(summary, steps))
        st.caption(
            "Pale: how far back ||dL/dh_t|| reached at the first record; solid: at the end of training. "
            "Truncation caps it at K - 1; a cell that learned the task keeps it long."
        )
    shown = summary.drop(columns=[c for c in ("decay_mean",) if c in summary])
    show_table(shown, task.name)
    if "memory_capacity" in summary and summary["memory_capacity"].notna().any():
        capacity = float(summary["memory_capacity"].dropna().iloc[0])
        st.caption(
            f"The esn's reservoir recalls about {capacity:.1f} past inputs (its memory capacity, of at most its "
            "units): its gradient horizon is that of a fixed reservoir, which no training lengthens."
        )
