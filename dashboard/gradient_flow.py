"""Gradient flow page: for one experiment, the comparison table and how ||dL/dh_t|| flows back through
time for each cell: heatmaps on one scale, horizons, gradient norms, decay measured against what the
recurrent weights predict, and the LSTM's forget gate. Reads runs only; never trains.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import first_start, memory_charts
from dashboard import gradient_charts as charts
from dashboard.experiments import choose_experiment, runs_root, task_of
from dashboard.look import show_table
from models.cells import title
from models.gradient_log import h_grad_key, horizon_key
from pipelines.tasks import TASKS


def render() -> None:
    st.title("Gradient flow")
    root = runs_root()
    first_start.notice(root)
    found = choose_experiment(root)
    if found is None:
        st.info(
            f"No runs in {root}/ yet. Open the Overview (it trains the default runs on first start), or train any "
            "experiment with `python -m pipelines.train --task adding`."
        )
        return
    st.subheader("Held-back test split")
    show_table(found.comparison, task_of(found))
    task = TASKS.get(task_of(found) or "")
    if task is not None:
        st.caption(f"{task.summary[0].upper()}{task.summary[1:]}. Hover a column name for what it measures.")
    logs = found.gradients
    if not logs:
        st.warning("This experiment has no finished cell runs to show gradients for.")
        return
    layer_of = found.probe_layer  # the first recurrent layer: its gradient must reach the earliest inputs

    st.subheader("How far back the gradient reaches")
    st.plotly_chart(charts.heatmaps(logs, layer_of))
    st.caption(
        "Each panel is one cell: rows are training records, columns steps back from the last time step, colour "
        "log10 ||dL/dh_t|| on one scale for all cells. Where it turns dark, early inputs no longer receive an "
        "error signal, so the cell cannot learn to remember them."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**The last record's gradient profile**")
        st.plotly_chart(charts.final_profiles(logs, layer_of))
        st.caption(
            "||dL/dh_t|| relative to the last step, on a log axis. A straight falling line is geometric decay, "
            "the signature of a vanishing gradient; a flat line means the signal survives."
        )
    with right:
        st.markdown("**Gradient horizon: first and last record**")
        st.plotly_chart(charts.first_and_last_horizon(logs, layer_of))
        st.caption(
            "Steps back before the gradient falls below 1% of its last-step value: pale bars at the first record, "
            "solid at the last. " + horizon_sentence(found, layer_of)
        )
    if task is not None and task.horizon_meaning:
        st.info(f"**What a horizon means here.** {task.horizon_meaning}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Gradient horizon over training**")
        st.plotly_chart(charts.horizons_over_training(logs, layer_of))
        st.caption("Steps back before the gradient first falls below 1% of its last-step value, at every record.")
    with right:
        st.markdown("**Gradient reach over training**")
        st.plotly_chart(charts.reaches_over_training(logs, layer_of))
        st.caption(
            "The farthest step back still at 1% or more. A cell that learned to remember has a gradient that dips "
            "mid-sequence (inputs it ignores) and returns at the inputs it keeps: its horizon stays short, its reach "
            "does not."
        )
    left, right = st.columns(2)
    with left:
        st.markdown("**Global gradient norm**")
        clip = {cell: info["config"].get("clipnorm") for cell, info in found.runs.items()}
        st.plotly_chart(charts.global_norms(logs, clip))
        st.caption(
            "All weight gradients together, before clipping. Spikes are exploding gradients; the dashed line is "
            "the clip threshold, when clipping was on."
        )
    with right:
        st.markdown("**Recurrent against input kernel**")
        st.plotly_chart(charts.weight_gradients(logs))
        st.caption(
            "Gradient norm of the recurrent weights (solid) and the input weights (dashed). The recurrent kernel "
            "is where back-propagation through time multiplies: its gradient collects every step's signal."
        )
    decay_and_gates(logs, layer_of)
    memory_units_section(found)


def horizon_sentence(found, layer_of) -> str:
    """Each cell's horizon at the last record, out of the steps its log has: the bars' figures in words."""
    parts = []
    for cell, log in found.gradients.items():
        steps = np.shape(log[h_grad_key(layer_of(cell))])[-1] - 1
        parts.append(f"{title(cell)} {int(log[horizon_key(layer_of(cell))][-1])}")
    return f"At the end of training: {', '.join(parts)} of {steps} steps back." if parts else ""


def memory_units_section(found) -> None:
    """Which LSTM units hold the remembered value, from the run's saved evidence (adding task)."""
    units = {cell: info.get("outputs", {}).get("memory_units") for cell, info in found.runs.items()}
    units = {cell: found_units for cell, found_units in units.items() if found_units}
    if not units:
        return
    st.subheader("Which units remember, and what their forget gates do")
    for cell, evidence in units.items():
        solved = found.runs[cell]["metrics"].get("solved")
        st.markdown(
            f"**{cell}**" + ("" if solved else " (it did not solve the task: read the units with that in mind)")
        )
        left, right = st.columns(2)
        with left:
            st.plotly_chart(memory_charts.units_scatter(evidence))
        with right:
            st.plotly_chart(memory_charts.holder_forget_gates(evidence))
        st.caption(memory_charts.caption(evidence))


def decay_and_gates(logs, layer_of) -> None:
    """The seeds' argument on real weights, and the forget gate over units (when the log has them)."""
    predicted = charts.decay_prediction(logs, layer_of)
    if predicted is not None:
        st.markdown("**Per-step decay: measured against predicted from the weights**")
        st.plotly_chart(predicted)
        st.caption(
            "Measured: the factor fitted to ||dL/dh_t|| step by step. Predicted: the recurrent kernel's largest "
            "singular value times the mean tanh' along the probe (SimpleRNN), a first-order estimate that can miss "
            "by a factor of two either way; read its trend: as units saturate, tanh' and with it the signal collapse."
        )
    gates = charts.forget_gate_distribution(logs, layer_of)
    if gates is not None:
        st.markdown("**LSTM forget gate over units**")
        st.plotly_chart(gates)
        st.caption(
            "Each unit's mean forget gate at the first and last record. Along the cell state the step-back factor "
            "is the forget gate itself: units near 1 keep the gradient, and training moves units there."
        )
