"""Training page: loss and validation loss per epoch for every cell, with the baseline's level, and
the global gradient norm over training (with the clip threshold when clipping was on).
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard import first_start
from dashboard.experiments import choose_experiment, histories_or_error, runs_root, task_of
from dashboard.gradient_charts import global_norms
from dashboard.look import figure_layout, line_style, reference_line
from pipelines.tasks import TASKS


def loss_chart(curves: dict, level: tuple[str, float] | None) -> go.Figure:
    """Training loss (solid) and validation loss (dashed) per epoch, one colour per cell."""
    figure = go.Figure()
    for index, (cell, history) in enumerate(curves.items()):
        epochs = history.index + 1
        style = line_style(cell, index)
        figure.add_trace(go.Scatter(x=epochs, y=history["loss"], name=f"{cell} training", line=style))
        if "val_loss" in history:
            figure.add_trace(
                go.Scatter(x=epochs, y=history["val_loss"], name=f"{cell} validation", line={**style, "dash": "dash"})
            )
    if level is not None:
        reference_line(figure, level[1], f"{level[0]} (baseline)")
    return figure_layout(figure, 380, xaxis_title="epoch", yaxis_title="loss", xaxis=dict(dtick=1))


def render() -> None:
    st.title("Training")
    first_start.notice(runs_root())
    found = choose_experiment(runs_root())
    if found is None:
        st.info("No experiments yet: train one with `python -m pipelines.train`, or start one on the Lab page.")
        return
    curves = histories_or_error(found)
    if curves is None:
        return
    task = TASKS.get(task_of(found) or "")
    level = task.loss_level(found.comparison) if task else None
    st.subheader("Loss per epoch")
    st.plotly_chart(loss_chart(curves, level))
    st.caption(
        "Solid: the loss on the training batches; dashed: on the validation split. A cell whose curve stays on "
        "the dotted baseline has learned nothing the baseline does not already know."
        if level
        else "Solid: the loss on the training batches; dashed: on the validation split"
        + (f" (in {task.loss_units})." if task and task.loss_units else ".")
    )
    if found.gradients:
        st.subheader("Gradient norm over training")
        clip = {cell: info["config"].get("clipnorm") for cell, info in found.runs.items()}
        st.plotly_chart(global_norms(found.gradients, clip))
        st.caption(
            "The norm of every weight gradient together, before clipping, at each record. Spikes are exploding "
            "gradients; a dashed line is the threshold they were clipped to."
        )
