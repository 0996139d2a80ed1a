"""Overview, the landing page: the adding problem at growing lengths, the gradient behind it, and three
sentences generated from the runs. With no runs yet, it trains the defaults and shows their progress.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import first_start
from dashboard.experiments import SHOWCASE, experiment, fingerprint, has_sweep, runs_root, sweep_tables
from dashboard.gradient_charts import heatmaps, reach_marks
from dashboard.look import figure_layout, line_style, reference_line
from dashboard.plan_progress import PlanProgress
from data import ADDING_BASELINE_MSE, LabError
from models.cells import title
from models.experiment_store import experiment_path, list_experiments, value_trial_name
from pipelines.defaults import default_sweeps, defaults_complete
from pipelines.tasks import TASKS
from pipelines.tasks.adding import SOLVED_MSE


def length_chart(summary: pd.DataFrame) -> go.Figure:
    """Test MSE against T per cell (mean ± spread over seeds), with the 'learned nothing' and 'solved' lines."""
    figure = go.Figure()
    for index, (cell, rows) in enumerate(summary.groupby("cell", sort=False)):
        figure.add_trace(
            go.Scatter(
                x=rows["length"],
                y=rows["test_mse_mean"],
                error_y=dict(array=rows["test_mse_std"].fillna(0)),
                name=title(cell),
                mode="lines+markers",
                line=line_style(cell, index),
                marker_size=10,
            )
        )
    reference_line(figure, ADDING_BASELINE_MSE, "learned nothing (predict the mean)", log=True)
    reference_line(figure, SOLVED_MSE, "solved", dash="dash", log=True, below=True)
    return figure_layout(
        figure,
        400,
        xaxis=dict(title="sequence length T", tickvals=sorted(summary["length"].unique())),
        yaxis=dict(title="test MSE (log scale)", type="log", dtick=1),
        legend=dict(orientation="h", y=1.12),
    )


def story(summary: pd.DataFrame, length: int) -> list[str]:
    """Three sentences that state what the figures show, from the sweep's summary (means over seeds) at
    its longest length and its shortest; every number comes from the runs."""
    at = summary[summary["length"] == length].set_index("cell")
    seeds = lambda cell: f"{int(at.loc[cell, 'solved'])} of {int(at.loc[cell, 'seeds'])} seeds"  # noqa: E731
    mse = lambda cell: f"{at.loc[cell, 'test_mse_mean']:.4f}"  # noqa: E731
    solved = [c for c in at.index if at.loc[c, "test_mse_mean"] < SOLVED_MSE]
    unsolved = [c for c in at.index if c not in solved]
    first = f"At T = {length}, "
    if solved:
        first += "the " + " and the ".join(
            f"{title(c)} solved the adding problem on {seeds(c)} (mean test MSE {mse(c)})" for c in solved
        )
    if unsolved:
        first += (
            (", while " if solved else "")
            + "the "
            + " and the ".join(f"{title(c)} ended at {mse(c)}" for c in unsolved)
        )
    first += f", against {ADDING_BASELINE_MSE:.3f} for predicting the mean."
    reached = [
        f"when the {title(c)}'s loss fell its gradient reached {at.loc[c, 'solved_reach_mean']:.0f} of {length - 1} steps back"
        for c in solved
        if "solved_reach_mean" in at and pd.notna(at.loc[c, "solved_reach_mean"])
    ]
    never = [
        f"the {title(c)}'s never reached more than {at.loc[c, 'peak_reach_mean']:.0f} steps back"
        for c in unsolved
        if "peak_reach_mean" in at
    ]
    if reached or never:
        second = "; ".join(reached + never)
        second = (
            second[0].upper()
            + second[1:]
            + (" (steps back where the gradient is still at least 1% of its value at the answer; mean over seeds).")
        )
    else:
        second = (
            "Retrain the sweep (`python -m pipelines.defaults --overwrite`) to see how far back its gradient reached."
        )
    shortest = int(summary["length"].min())
    short = summary[summary["length"] == shortest].set_index("cell")["test_mse_mean"]
    scores = " and ".join(f"the {title(c)} {short[c]:.4f}" for c in short.index)
    third = (
        f"At T = {shortest} {scores}: the gap opens as the marked values move further back, where a gradient "
        "that shrinks at every step no longer carries their error signal and a gated cell's forget gate keeps it alive."
    )
    return [first, second, third]


def render() -> None:
    st.title("Why a SimpleRNN forgets and an LSTM remembers")
    root = runs_root()
    if not defaults_complete(str(root)):
        first_start.ensure_started(root)
        if first_start.training():
            live_story(root)
            return
        if offer_training(root):
            return
    if not has_sweep(root, SHOWCASE):
        st.info(
            f"The showcase sweep `{SHOWCASE}` is not in {root}/: train it with `python -m pipelines.defaults`, or "
            "open **Gradient flow** to look at the experiments there."
        )
        return
    try:
        trials, summary = sweep_tables(root, SHOWCASE)
        draw_story(root, trials, summary)
    except (LabError, IndexError, KeyError) as error:
        st.error(
            f"The showcase sweep cannot be shown ({error}): retrain it with `python -m pipelines.defaults --overwrite`."
        )


def draw_story(root: Path, trials: pd.DataFrame, summary: pd.DataFrame) -> None:
    """The sentences, the error against length and, at the longest length, how far back the gradient
    reaches, each cell's reach marked where the sentences measure it (for one seed)."""
    longest = int(summary["length"].max())
    seed = int(trials.loc[trials["length"] == longest, "seed"].min())
    found = experiment(root, value_trial_name(SHOWCASE, "length", longest, seed))
    for sentence in story(summary, longest):
        st.markdown(f"- {sentence}")
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**The adding problem: error against sequence length**")
        st.plotly_chart(length_chart(summary))
        st.caption(
            "Each point: test MSE after the same budget. Below the dashed line the cell solved the task; on the "
            "dotted line it learned nothing."
        )
    with right:
        st.markdown(f"**How far back the gradient reaches at T = {longest}** (seed {seed})")
        marks = reach_marks(found.gradients, found.probe_layer, TASKS["adding"].solved_loss)
        st.plotly_chart(heatmaps(found.gradients, found.probe_layer, height=400, relative=True, marks=marks))
        st.caption(
            "Rows: training batches; columns: steps back from the answer; colour: the gradient there as a share "
            "of the answer's (log10: -2 is 1%). Dark means the error signal has vanished: those inputs can no "
            "longer teach the cell anything. The circle marks how far back this seed's gradient still carried "
            "1% of it, where the sentences above measure it (their figure is the mean over seeds)."
        )


@st.fragment(run_every=2)
def live_story(root: Path) -> None:
    """While the default runs train: their progress and, as soon as the first adding trial lands, the
    story of the lengths landed so far, redrawn as each lands (the page reruns when they are done)."""
    if not first_start.training():
        st.rerun()
    progress = first_start.progress(root)  # read once for the line, the bar and the table
    st.info(first_start.status_line(root, SHOWCASE, progress) or "The default runs are finishing.")
    done, planned = progress.cell_epochs
    st.progress(done / planned if planned else 0.0, text=f"{done} of {planned} cell-epochs")
    trials, summary = landed(root)
    if len(summary):
        lengths = ", ".join(str(v) for v in sorted(summary["length"].unique()))
        st.caption(
            f"Landed so far: T = {lengths} ({trials[['length', 'seed']].drop_duplicates().shape[0]} of "
            f"{len(showcase_sweep(root).trial_names())} trials); each new trial joins the chart as it lands."
        )
        draw_story(root, trials, summary)
    else:
        st.caption(
            "The adding problem trains first, shortest sequences first: its chart and the gradient heatmaps "
            "appear here as soon as its first trial lands, and grow as the others do."
        )
    with st.expander("Every default run's progress"):
        st.dataframe(progress_rows(progress), hide_index=True)


def showcase_sweep(root: Path):
    return next(s for s in default_sweeps(str(root)) if s.config.experiment_name() == SHOWCASE)


def landed(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The showcase trials saved so far (cached until a file of the sweep's folder changes)."""
    folder = experiment_path(root, SHOWCASE)
    return _landed(str(root), fingerprint(folder) if folder.is_dir() else 0.0)


@st.cache_data(show_spinner=False, max_entries=4)
def _landed(root: str, version: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return showcase_sweep(Path(root)).landed()


def progress_rows(progress: PlanProgress) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"experiment": plan.name, "cell": cell, "epochs done": f"{epochs} of {plan.epochs}"}
            for plan in progress.planned
            for cell, epochs in progress.epochs_done[plan.name].items()
        ]
    )


def offer_training(root: Path) -> bool:
    """A button that trains the missing default runs (after a failure, or in a folder with other runs).
    True when there is nothing else to show yet."""
    running = first_start.job()
    if running is not None and running.status == "failed":
        st.error(f"Training the default runs stopped: {running.reason()}")
    if st.button("Train the missing default runs (a few minutes, in the background)"):
        first_start.start(root)
        st.rerun()
    return not list_experiments(root)
