"""Overview, the landing page: the adding problem at growing lengths, the gradient behind it, and three
sentences generated from the runs. With no runs yet, it trains the defaults and shows their progress.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import background
from dashboard.experiments import SHOWCASE, experiment, has_sweep, runs_root, sweep_tables
from dashboard.gradient_charts import heatmaps
from dashboard.look import figure_layout, line_style, reference_line
from data import ADDING_BASELINE_MSE, LabError
from models.cells import title
from models.experiment_store import experiment_path, list_experiments, training_progress, value_trial_name
from pipelines.defaults import default_experiments, defaults_complete
from pipelines.tasks.adding import SOLVED_MSE

DEFAULTS_JOB = "default runs"


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
        if show_training(root):
            return
    if not has_sweep(root, SHOWCASE):
        st.info(
            f"The showcase sweep `{SHOWCASE}` is not in {root}/: train it with `python -m pipelines.defaults`, or "
            "open **Gradient flow** to look at the experiments there."
        )
        return
    try:
        trials, summary = sweep_tables(root, SHOWCASE)
        longest = int(summary["length"].max())
        seed = int(trials.loc[trials["length"] == longest, "seed"].min())
        found = experiment(root, value_trial_name(SHOWCASE, "length", longest, seed))
    except (LabError, IndexError, KeyError) as error:
        st.error(
            f"The showcase sweep cannot be shown ({error}): retrain it with `python -m pipelines.defaults --overwrite`."
        )
        return
    layer_of = found.probe_layer
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
        st.markdown(f"**How far back the gradient reaches at T = {longest}** (log10 ||dL/dh_t||)")
        st.plotly_chart(heatmaps(found.gradients, layer_of, height=400))
        st.caption(
            "Rows: training batches; columns: steps back from the answer. Dark means the error signal has "
            "vanished: those inputs can no longer teach the cell anything."
        )


def show_training(root) -> bool:
    """Start the default runs when the runs folder is empty (or offer to), and show their progress.
    True while there is nothing else to show yet."""
    running = background.job(DEFAULTS_JOB)
    if running is None and not list_experiments(root):  # the first start: nothing to show until they land
        running = background.start(DEFAULTS_JOB, "pipelines.defaults", ["--resume", "--out", str(root.resolve())])
    if running is not None and running.running:
        default_progress(root)
        return True
    if running is not None and running.status == "failed":
        st.error(f"Training the default runs stopped: {running.reason()}")
    if st.button("Train the missing default runs (a few minutes, in the background)"):
        background.start(DEFAULTS_JOB, "pipelines.defaults", ["--resume", "--out", str(root.resolve())])
        st.rerun()
    return not list_experiments(root)


@st.fragment(run_every=2)
def default_progress(root) -> None:
    running = background.job(DEFAULTS_JOB)
    planned = default_experiments(str(root))
    total = sum(epochs * len(cells) for _, cells, epochs in planned)
    done, rows = 0, []
    for name, cells, epochs in planned:
        for cell, state in training_progress(experiment_path(root, name), cells).items():
            epochs_done = epochs if state.finished else state.epochs_done
            done += epochs_done
            rows.append({"experiment": name, "cell": cell, "epochs done": f"{epochs_done} of {epochs}"})
    st.info(
        "Training the default runs in the background (first start only; a few minutes on 2 cores). "
        "The pages fill in as they land; this page shows the story once the adding sweep is done."
    )
    st.progress(done / total if total else 0.0, text=f"{done} of {total} cell-epochs, {running.elapsed():.0f} s")
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if running is not None and not running.running:
        st.rerun()  # the whole page: the story replaces the progress
