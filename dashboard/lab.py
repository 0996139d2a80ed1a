"""Lab page: launch a small experiment (the train command, in the background) and watch it live, its
gradient heatmap growing epoch by epoch; and the sweeps saved on disk as charts.
"""

from __future__ import annotations

import re
import time
from dataclasses import fields

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import background
from dashboard.experiments import runs_root, sweep_tables, sweeps
from dashboard.gradient_charts import heatmaps
from dashboard.look import figure_layout, line_style
from data import ConfigError, LabError
from models.cells import BACKPROP_CELLS, CELLS, INITS
from models.execution import JIT_COMPILE
from models.experiment_store import check_name, experiment_path, saved_gradient_log, training_progress
from models.gradient_log import logged_layers
from pipelines.memory import check_memory
from pipelines.tasks import TASKS

LAB_JOB = "lab"
LAB_TASKS = [name for name, task in TASKS.items() if "length" in {f.name for f in fields(task.config_class)}]
# The form's labels, by the train command's option: its errors name the option; the page names the field.
LABELS = {
    "task": "Task",
    "length": "Sequence length T",
    "cells": "Cells",
    "epochs": "Epochs",
    "samples": "Training sequences",
    "gain": "Recurrent gain",
    "clipnorm": "Clip gradients to norm",
    "learning_rate": "Learning rate",
    "init": "Recurrent weights",
    "jit_compile": "Compile steps with XLA",
}
DEFAULT_FORM = {
    "task": LAB_TASKS[0],
    "length": 50,
    "cells": list(BACKPROP_CELLS),
    "epochs": 3,
    "samples": 2000,
    "gain": 1.0,
    "clipnorm": 1.0,
    "learning_rate": 0.01,
    "init": INITS[0],
    "jit_compile": JIT_COMPILE[0],
}
LAST_FORM, MINE = "lab-last-form", "lab-started-here"  # session keys: this visitor's last form and job
SUMMARY_EXTRA = ("horizon_mean", "decay_mean", "max_grad_norm", "seeds")


def lab_options(values: dict) -> list[str]:
    """The train command's arguments for the form's values (the command validates them again)."""
    arguments = ["--task", values["task"], "--cells", *values["cells"], "--quiet", "--out", str(runs_root().resolve())]
    for name in ("length", "samples", "epochs", "gain", "init", "learning_rate", "jit_compile", "name"):
        arguments += [f"--{name.replace('_', '-')}", str(values[name])]
    arguments += ["--clipnorm", "none" if not values["clipnorm"] else str(values["clipnorm"])]
    return arguments


def check_form(values: dict) -> None:
    """Refuse a form the command would refuse, before starting a process (ConfigError, one sentence)."""
    if not values["cells"]:
        raise ConfigError(f"Choose at least one cell in “{LABELS['cells']}”.")
    task = TASKS[values["task"]]
    options = {k: v for k, v in values.items() if k != "task"}
    config = task.config_class(**{**options, "out": str(runs_root())})
    check_name(values["name"])
    check_memory(task, config)


def in_form_words(message: str) -> str:
    """A command's sentence with each --option named by the form's field ("add --cells simple_rnn" becomes
    "add simple_rnn to “Cells”")."""
    message = re.sub(r"add --cells (\w+)", lambda m: f"add {m.group(1)} to “{LABELS['cells']}”", message)
    return re.sub(
        r"--([a-z-]+)",
        lambda m: f"“{LABELS[m.group(1).replace('-', '_')]}”" if m.group(1).replace("-", "_") in LABELS else m.group(0),
        message,
    )


def render() -> None:
    st.title("Lab")
    st.caption("Train a small experiment of your own, watch its gradients arrive, then find it on every page.")
    running = background.job(LAB_JOB)
    if running is None or not running.running:
        launch_form()
    # the server runs one lab experiment for every visitor: each sees it train, only its starter sees how it ended
    if running is not None and (running.running or st.session_state.get(MINE) == running.started):
        watch()
    sweep_charts()


def launch_form() -> None:
    last = st.session_state.get(LAST_FORM, DEFAULT_FORM)  # the form keeps this visitor's last values
    with st.form("lab"):
        left, right = st.columns(2)
        with left:
            task = st.selectbox(
                LABELS["task"],
                LAB_TASKS,
                index=LAB_TASKS.index(last["task"]),
                format_func=lambda t: f"{t}: {TASKS[t].summary.split(':')[0]}",
            )
            length = st.number_input(LABELS["length"], value=last["length"], step=10)
            cells = st.multiselect(LABELS["cells"], list(CELLS), default=last["cells"])
            epochs = st.number_input(LABELS["epochs"], value=last["epochs"], step=1)
        with right:
            samples = st.number_input(LABELS["samples"], value=last["samples"], step=500)
            gain = st.number_input(f"{LABELS['gain']} (orthogonal init)", value=last["gain"], step=0.1)
            clipnorm = st.number_input(f"{LABELS['clipnorm']} (0: off)", value=last["clipnorm"] or 0.0, step=0.5)
            learning_rate = st.number_input(
                LABELS["learning_rate"], value=last["learning_rate"], format="%.4f", step=0.001
            )
            init = st.selectbox(
                LABELS["init"],
                INITS,
                index=INITS.index(last["init"]),
                help="irnn: identity with ReLU, for a SimpleRNN alone",
            )
            jit_compile = st.selectbox(
                LABELS["jit_compile"],
                JIT_COMPILE,
                index=JIT_COMPILE.index(last["jit_compile"]),
                help="auto: where it was measured faster for this cell, length and budget (compiling costs seconds)",
            )
        submitted = st.form_submit_button("Train")
    if not submitted:
        return
    values = {
        "task": task,
        "length": int(length),
        "cells": cells,
        "epochs": int(epochs),
        "samples": int(samples),
        "gain": float(gain),
        "clipnorm": float(clipnorm) or None,
        "learning_rate": float(learning_rate),
        "init": init,
        "jit_compile": jit_compile,
    }
    st.session_state[LAST_FORM] = values
    values = {**values, "name": f"lab-{task}-T{int(length)}-{time.strftime('%Y%m%d-%H%M%S')}"}
    try:
        check_form(values)
    except LabError as error:
        st.error(in_form_words(str(error)))
        return
    about = {"experiment": values["name"], "cells": cells, "epochs": values["epochs"]}
    started = background.start(LAB_JOB, "pipelines.train", lab_options(values), about)
    st.session_state[MINE] = started.started
    st.rerun()


@st.fragment(run_every=1)
def watch() -> None:
    running = background.job(LAB_JOB)
    if running is None:
        return
    name, cells, epochs = (running.about[k] for k in ("experiment", "cells", "epochs"))
    folder = experiment_path(runs_root(), name)
    progress = training_progress(folder, cells)
    done = sum(epochs if p.finished else p.epochs_done for p in progress.values())
    mine = st.session_state.get(MINE) == running.started
    st.progress(
        done / (epochs * len(cells)),
        text=f"{name}: {done} of {epochs * len(cells)} cell-epochs, {running.elapsed():.0f} s, {running.status}"
        + ("" if mine else " (started by another visitor)"),
    )
    if running.running and mine and st.button("Cancel", key="lab-cancel"):
        running.cancel()
    logs = {}
    for cell, state in progress.items():
        if state.finished:
            try:
                logs[cell] = saved_gradient_log(folder, cell)
            except LabError:
                continue
        elif state.log:
            logs[cell] = state.log
    if logs:  # a panel for every cell from the first epoch on: the chart keeps its layout as cells start
        st.plotly_chart(
            heatmaps(logs, lambda cell: layer_in(logs[cell]), waiting=[c for c in cells if c not in logs]),
            key="lab-heatmap",
        )
    if not running.running and st.session_state.get("lab-shown-end") != running.started:
        st.session_state["lab-shown-end"] = running.started
        st.rerun()  # the whole page once: the form returns and the new experiment is listed
    if running.status == "failed":
        st.error(f"The experiment stopped: {running.reason()}")
    elif running.status == "cancelled":
        st.warning("Cancelled: the epochs already finished are kept; rerun it from the command line with --resume.")
    elif running.status == "finished":
        st.success(f"{name} is saved: open it on Gradient flow, Training or Runs.")
        st.markdown(f"[Open it on Gradient flow](gradients?experiment={name})")


def layer_in(log: dict) -> str:
    """The first recurrent layer a log holds (the probe layer)."""
    return logged_layers(log)[0]


def sweep_charts() -> None:
    st.subheader("Sweeps")
    root = runs_root()
    names = sweeps(root)
    if not names:
        st.caption("No sweeps yet: `python -m pipelines.sweep --task adding --over length --values 25 50 100`.")
        return
    name = st.selectbox("Sweep", names, key="sweep", bind="query-params")
    try:
        _, summary = sweep_tables(root, name)
    except LabError as error:
        st.error(str(error))
        return
    over = summary.columns[0]
    metric = next(c for c in summary.columns if c.endswith("_mean") and c not in SUMMARY_EXTRA)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(sweep_chart(summary, over, metric, metric.removesuffix("_std").replace("_mean", "")))
    with right:
        st.plotly_chart(sweep_chart(summary, over, "horizon_mean", "gradient horizon (steps back)"))
    st.caption(f"Mean over seeds, with the spread as error bars, at each value of {over}.")


def sweep_chart(summary, over: str, column: str, title: str) -> go.Figure:
    figure = go.Figure()
    spread = column.replace("_mean", "_std")
    for index, (cell, rows) in enumerate(summary.groupby("cell", sort=False)):
        figure.add_trace(
            go.Scatter(
                # "none" (no clipping, saved as an empty cell) drawn as a category of its own, not dropped
                x=rows[over].map(lambda v: "none" if pd.isna(v) else str(v)) if rows[over].isna().any() else rows[over],
                y=rows[column],
                error_y=dict(array=rows[spread].fillna(0)) if spread in rows else None,
                name=cell,
                mode="lines+markers",
                line=line_style(cell, index),
            )
        )
    return figure_layout(figure, 340, xaxis_title=over, yaxis_title=title)
