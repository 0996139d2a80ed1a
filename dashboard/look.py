"""One look for every page: a fixed colour per cell and baseline, human column names with a tooltip
each, and the table settings that use them. A cell is the same colour on every chart.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from models.cells import CELL_TABLE
from pipelines.tasks import TASKS, get_task

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), fixed per name: each
# cell's from models/cells.py; each task's baselines grey, a second one (stock's Ridge) reddish purple.
BASELINE_COLOURS = ("#999999", "#CC79A7")
BASELINES = {name: BASELINE_COLOURS[i % 2] for task in TASKS.values() for i, name in enumerate(task.baseline_names)}
COLOURS = {**{name: cell.colour for name, cell in CELL_TABLE.items()}, "actual": "#555555", **BASELINES}
FALLBACK_COLOURS = ("#56B4E9", "#F0E442", "#000000")
BASELINE_DASH = "dot"  # baselines are drawn dotted, cells solid

# column -> (label, tooltip). Units in the label; the tooltip says which way is good.
COLUMNS = {
    "model": ("Model", "A recurrent cell, or a baseline every cell must beat."),
    "test_mse": ("Test MSE", "Mean squared error on held-back data; lower is better."),
    "solved": ("Solved", "Whether the cell met the task's solved threshold."),
    "test_xent": ("Test loss (nats)", "Cross-entropy on the recalled symbols; lower is better."),
    "recall_accuracy": ("Recall accuracy", "Share of symbols recalled exactly after the gap; higher is better."),
    "params": ("Parameters", "Trainable weights of the model."),
    "gradient_horizon": (
        "Gradient horizon (steps)",
        "How many steps back ||dL/dh_t|| stays above 1% of its value at the last step, at the end of training. Longer means the cell can still learn from early inputs.",
    ),
    "gradient_decay": (
        "Per-step decay",
        "Factor a fitted to ||dL/dh_(T-k)|| ≈ c·a^k. Below 1 the gradient shrinks every step back; near 1 it survives.",
    ),
    "max_global_grad_norm": (
        "Largest gradient norm",
        "The largest norm of all weight gradients together seen during training (before clipping). Spikes mean explosion.",
    ),
    "mae": ("MAE ($)", "Mean absolute error of the forecast close, in dollars; lower is better."),
    "rmse": ("RMSE ($)", "Root mean squared error in dollars; punishes large misses."),
    "mape": ("MAPE (%)", "Mean absolute percentage error; lower is better."),
    "mase": (
        "MASE",
        "MAE divided by the naive forecast's MAE ('tomorrow = today'). Below 1 beats naive; above 1 loses to it.",
    ),
    "directional_accuracy": ("Direction right", "Share of days where the forecast moved the same way as the price."),
    "beats_naive": (
        "Beats naive",
        "MASE below 1 and the Diebold-Mariano test against naive significant at 5%: smaller errors, not a tie.",
    ),
    "dm_p": (
        "p vs naive",
        "Diebold-Mariano p-value (Harvey-Leybourne-Newbold correction) for equal absolute errors against naive on the test days. Below 0.05: the difference is unlikely to be chance.",
    ),
    "coverage_80": (
        "Coverage 80%",
        "Share of test days whose close fell inside the forecast's 80% interval (± the error, relative to the previous close, it stayed within on 80% of the validation days). Near 80% is honest; far below means the test days were harder than the validation days.",
    ),
    "coverage_95": (
        "Coverage 95%",
        "Share of test days whose close fell inside the forecast's 95% interval. Near 95% is honest; far below means the intervals are too narrow for the test period.",
    ),
    "fold_mase_mean": ("Walk-forward MASE", "Mean MASE over the walk-forward folds."),
    "fold_mase_std": ("± over folds", "Spread of MASE over the folds."),
    "val_bpc": ("Validation bits/char", "Cross-entropy on validation text in bits per character; lower is better."),
    "test_bpc": ("Test bits/char", "Cross-entropy on held-back text in bits per character; lower is better."),
    "gradient_reach": (
        "Gradient reach (steps)",
        "The farthest step back whose ||dL/dh_t|| is still at least 1% of its last-step value, at the end of training. Unlike the horizon it does not stop where the gradient dips: a solved LSTM's dips mid-sequence and returns at the inputs it remembers.",
    ),
    "peak_gradient_reach": (
        "Peak reach (steps)",
        "The longest gradient reach of any record during training: how far back the error signal ever arrived.",
    ),
    "solved_gradient_reach": (
        "Reach when solved (steps)",
        "The gradient reach at the record where the probe's loss first fell below the task's solved threshold: how far back the error signal arrived as the cell learned. Empty if never solved.",
    ),
    "peak_reach_mean": ("Peak reach (mean)", "The peak gradient reach over training, averaged over seeds."),
    "solved_reach_mean": (
        "Reach when solved (mean)",
        "The gradient reach when the loss first fell below the solved threshold, averaged over the seeds that solved it.",
    ),
    "first_gradient_horizon": (
        "First horizon (steps)",
        "The gradient horizon at the first record of training (after the first logged batches): where each cell starts.",
    ),
    "seconds_per_epoch": (
        "Seconds per epoch",
        "Wall time of one training epoch, validation included (an esn: its one fit).",
    ),
    "memory_capacity": (
        "Memory capacity",
        "esn only: how well a linear readout of the reservoir recalls each earlier input, summed over delays 1, 2, ... as Jaeger (2002) and reservoirpy count it (a linear reservoir of N units reads about N - 1).",
    ),
    "diverged_epoch": (
        "Diverged in epoch",
        "The epoch in which the loss became NaN or infinite; metrics are then NaN.",
    ),
}
PERCENT_COLUMNS = ("directional_accuracy", "recall_accuracy", "coverage_80", "coverage_95")


def colour(name: str, index: int = 0) -> str:
    """The colour of a cell or baseline (names not listed get a fixed fallback by position)."""
    return COLOURS.get(name, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def is_baseline(name: str) -> bool:
    return name in BASELINES


def line_style(name: str, index: int = 0) -> dict:
    """Plotly `line=` settings for a series: its fixed colour; baselines dotted."""
    style = {"color": colour(name, index)}
    if is_baseline(name):
        style["dash"] = BASELINE_DASH
    return style


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain(text) -> str:
    """Text from a run (which anyone may have written) made inert in Markdown: every character that
    Markdown, Streamlit's shortcodes or LaTeX would read is escaped, so it shows as written."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))


def label(column: str) -> str:
    return COLUMNS.get(column, (column.replace("_", " "), ""))[0]


def column_config(table: pd.DataFrame, task: str | None = None) -> dict:
    """st.dataframe settings: a human label and tooltip per column (the task's own where it has one);
    booleans as yes/no text."""
    own = get_task(task).column_help if task in TASKS else {}
    config = {}
    for column in table.columns:
        name, tooltip = COLUMNS.get(column, (column.replace("_", " "), None))
        tooltip = own.get(column, tooltip)
        if column in PERCENT_COLUMNS:
            config[column] = st.column_config.NumberColumn(name, help=tooltip, format="percent")
        elif pd.api.types.is_float_dtype(table[column]):
            spec = "%d" if is_whole(table[column]) else "%.4g"
            config[column] = st.column_config.NumberColumn(name, help=tooltip, format=spec)
        else:
            config[column] = st.column_config.TextColumn(name, help=tooltip)
    return config


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """Booleans as "yes"/"no" (not checkboxes) and empty cells of text columns as "—" (never "None"),
    so a table reads as text."""
    table = table.copy()
    for column in table.columns:
        values = table[column]
        if values.dropna().isin([True, False]).all() and values.notna().any() and values.dtype != float:
            table[column] = values.map({True: "yes", False: "no", "True": "yes", "False": "no"}).fillna("—")
        elif values.dtype == object:
            table[column] = values.where(values.notna(), "—")
        elif pd.api.types.is_float_dtype(values) and values.isna().any() and values.notna().any():
            # st.dataframe shows a missing number as "None": as text, with the number formats below
            table[column] = number_texts(column, values)
    return table


def is_whole(values: pd.Series) -> bool:
    """Whole numbers only (counts such as parameters, stored as floats beside NaN): shown exactly."""
    known = values.dropna()
    return bool(len(known)) and bool((known == known.round()).all())


def number_texts(column: str, values: pd.Series) -> pd.Series:
    """Numbers as column_config would format them (a percentage, a whole count, or 4 significant
    digits), and "—" where one is missing."""
    spec = ".2%" if column in PERCENT_COLUMNS else ".0f" if is_whole(values) else ".4g"
    return values.map(lambda value: "—" if pd.isna(value) else format(value, spec))


def show_table(table: pd.DataFrame, task: str | None = None, **kwargs) -> None:
    """A comparison table with human column names, tooltips (the task's own where it has one) and
    yes/no instead of checkboxes."""
    table = readable(table)
    st.dataframe(table, hide_index=True, column_config=column_config(table, task), **kwargs)


REFERENCE_COLOUR = "#888888"  # mid grey: a reference line reads on Streamlit's light and dark backgrounds alike


def reference_line(
    figure, value: float, text: str, *, axis: str = "y", dash: str = "dot", log: bool = False, below: bool = False
):
    """A horizontal (axis "y") or vertical ("x") reference line in mid grey, its label placed in data
    coordinates: on a log axis Plotly reads an annotation's position as log10, so the label sits by its
    line (Plotly's own line label lands at the raw value there, far from the line)."""
    at = math.log10(value) if log else value
    label = dict(text=text, showarrow=False, font_color=REFERENCE_COLOUR)
    if axis == "y":
        figure.add_hline(y=value, line_dash=dash, line_color=REFERENCE_COLOUR)
        figure.add_annotation(
            xref="paper", x=1, xanchor="right", yref="y", y=at, yanchor="top" if below else "bottom", **label
        )
    else:
        figure.add_vline(x=value, line_dash=dash, line_color=REFERENCE_COLOUR)
        figure.add_annotation(
            yref="paper",
            y=1 if not below else 0,
            yanchor="bottom" if not below else "top",
            xref="x",
            x=at,
            xanchor="left",
            **label,
        )
    return figure


def figure_layout(figure, height: int = 380, **kwargs):
    """Shared chart margins; the theme (light or dark) is the user's, so no colours are forced."""
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), **kwargs)
    # log ticks as 10^-4, not SI prefixes ("100µ", "10n") that read as units
    figure.update_yaxes(exponentformat="power", selector=dict(type="log"))
    figure.update_xaxes(exponentformat="power", selector=dict(type="log"))
    return figure
