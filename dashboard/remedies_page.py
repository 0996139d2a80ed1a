"""Remedies page: every answer to vanishing gradients, trained on one task at one budget and three
seeds (`python -m pipelines.remedies`), as a chart of the task metric and of how far the gradient reaches.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from dashboard import background
from dashboard.experiments import runs_root, sweep_tables, sweeps
from dashboard.look import colour, figure_layout, reference_line, show_table
from dashboard.plan_progress import about_time, measure
from data import LabError
from pipelines.defaults import DEFAULT_WORKERS, PlannedExperiment, epoch_work
from pipelines.remedies import DEFAULT_SEEDS, FOLDER, LENGTHS, REMEDIES, trial_configs
from pipelines.tasks import get_task

ABOUT = {remedy.name: remedy.about for remedy in REMEDIES}
REMEDIES_JOB = "remedies"


def remedies_plan(root: Path) -> list[PlannedExperiment]:
    """Every trial `python -m pipelines.remedies` trains by default, in its order."""
    return [
        PlannedExperiment(config.experiment_name(), config.cells, config.epochs, epoch_work(config))
        for task in LENGTHS
        for _, _, config in trial_configs(task, DEFAULT_SEEDS, out=str(root))
    ]


def offer_remedies(root: Path, ended: background.Job | None) -> None:
    """A button that runs the remedies command in the background (resuming what is saved), and how
    the last such run ended."""
    if ended is not None and ended.status == "failed":
        st.error(f"The remedies stopped: {ended.reason()}")
    elif ended is not None and ended.status == "cancelled":
        st.warning("Cancelled: the trials already finished are kept; the button trains the rest.")
    st.info(
        f"The remedies train {len(remedies_plan(root))} trials: every remedy on the adding problem and the copy "
        "task, five seeds each (about 40 minutes on 2 cores; `python -m pipelines.remedies` does the same)."
    )
    if st.button("Train the remedies in the background"):
        arguments = ["--resume", "--quiet", "--workers", str(DEFAULT_WORKERS), "--out", str(root.resolve())]
        about = {"work_at_start": measure(root, remedies_plan(root)).work_done()}
        background.start(REMEDIES_JOB, "pipelines.remedies", arguments, about)
        st.rerun()


@st.fragment(run_every=2)
def remedies_progress(root: Path) -> None:
    running = background.job(REMEDIES_JOB)
    if running is None or not running.running:
        st.rerun()  # the whole page: the tables that landed
    progress = measure(root, remedies_plan(root))
    done, planned = progress.cell_epochs
    left = about_time(
        progress.seconds_left(running.elapsed(), running.about.get("work_at_start", 0), workers=DEFAULT_WORKERS)
    )
    st.progress(done / planned if planned else 0.0, text=f"Remedies: {done} of {planned} cell-epochs, {left}")
    st.caption("Each task's chart appears when all of its trials are saved.")
    if st.button("Cancel (the finished trials are kept)", key="remedies-cancel"):
        running.cancel()


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
    running = background.job(REMEDIES_JOB)
    if running is not None and running.running:
        remedies_progress(root)
    elif not names or running is not None:
        offer_remedies(root, running)
    if not names:
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
