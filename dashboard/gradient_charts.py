"""The gradient-log charts shared by the Overview, Gradient flow, Lab and "Your own model" pages: each
takes logs (cell -> arrays, as GradientLogger writes them) and draws every cell in its own colour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.look import colour, figure_layout, line_style, reference_line
from models.cells import title
from models.gradient_log import (
    GLOBAL_GRAD,
    STEP,
    decay_key,
    gate_unit_key,
    gradient_reaches,
    h_grad_key,
    horizon_key,
    predicted_decay,
    solved_record,
)

Logs = dict[str, dict[str, np.ndarray]]
VISIBLE_DECADES = 10
RELATIVE_DECADES = 4
LayerOf = Callable[[str], str]
# What a chart sends to the browser, whatever the log holds: a screen shows no more, and a log from
# elsewhere of 2,000 records x 25,000 steps made 255 MiB of chart JSON and 2 GB of server memory.
MAX_ROWS, MAX_COLUMNS = 500, 1000  # records x steps back per heatmap panel
MAX_POINTS = 2000  # points per line (records, or the steps of a profile)
MAX_VALUES = 10_000  # values per histogram


def spread(n: int, most: int) -> np.ndarray:
    """At most `most` indices spread evenly over range(n), the first and the last among them: the
    records or steps a chart shows (each a value of the log, none averaged away)."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(int))


def thinned(logs: Logs, layer_of: LayerOf) -> bool:
    """Whether the charts show only some of the records or steps of these logs."""
    return any(
        np.shape(log[h_grad_key(layer_of(cell))])[0] > MAX_ROWS
        or np.shape(log[h_grad_key(layer_of(cell))])[-1] > MAX_COLUMNS
        for cell, log in logs.items()
    )


def heatmaps(
    logs: Logs, layer_of: LayerOf, height: int = 400, *, relative: bool = False, marks=None, waiting=()
) -> go.Figure:
    """log10 ||dL/dh_t||: training record (rows) x steps back (columns), one panel per cell, one scale.
    `relative` divides each record by its last step's norm (the answer's), so the colour tells what the
    horizon and the reach measure; `marks` (cell -> ReachMark) circles a point on each cell's panel;
    `waiting` cells (not started) get an empty panel, so the layout does not change as they start."""
    cells = list(logs)
    rows, grids = {}, {}
    for c in cells:  # column k = k steps back from the last step; at most MAX_ROWS x MAX_COLUMNS of them
        norms = logs[c][h_grad_key(layer_of(c))]
        rows[c], back = spread(norms.shape[0], MAX_ROWS), spread(norms.shape[1], MAX_COLUMNS)
        shown = norms[np.ix_(rows[c], norms.shape[1] - 1 - back)]
        if relative:
            with np.errstate(divide="ignore", invalid="ignore"):
                shown = shown / norms[rows[c], -1:]
        grids[c] = (back, np.log10(np.maximum(shown, 1e-30)))
    finite = np.concatenate([g[np.isfinite(g)].ravel() for _, g in grids.values()] + [np.zeros(1)])
    high = max(np.percentile(finite, 99), 0.0) if relative else np.percentile(finite, 99)
    # Ten decades below the top is already nothing; a lower floor would spend the colours on noise. Relative
    # to the answer, four: 1% (the horizon's threshold) sits mid-scale.
    low = -RELATIVE_DECADES if relative else max(np.percentile(finite, 1), high - VISIBLE_DECADES)
    titles = [title(c) for c in cells] + [f"{title(c)} (not started)" for c in waiting]
    figure = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.06)
    quantity = "log10 (||dL/dh|| / ||dL/dh_T||)" if relative else "log10 ||dL/dh||"
    for index, cell in enumerate(cells, start=1):
        back, grid = grids[cell]
        figure.add_trace(
            go.Heatmap(
                z=grid,
                x=back,
                y=logs[cell][STEP][rows[cell]],
                zmin=low,
                zmax=high,
                coloraxis="coloraxis",
                name=cell,
                hovertemplate=f"<b>{cell}</b><br>training batch %{{y}}<br>%{{x}} steps back<br>"
                f"{quantity} = %{{z:.2f}}<extra></extra>",
            ),
            row=1,
            col=index,
        )
        if marks and cell in marks:
            mark_reach(figure, marks[cell], index, right_half=marks[cell].back > back[-1] / 2)
        figure.update_xaxes(nticks=4, row=1, col=index)  # few ticks: narrow panels must not run them together
    figure.update_xaxes(title_text="steps back", row=1, col=1)  # once: one per panel overlapped on narrow windows
    figure.update_yaxes(title_text="training batch", row=1, col=1)
    colorbar = dict(
        title=dict(text=quantity if not relative else "log10 of<br>the answer's", side="right"), thickness=12
    )
    return figure_layout(figure, height, coloraxis=dict(colorscale="Viridis", cmin=low, cmax=high, colorbar=colorbar))


def mark_reach(figure: go.Figure, mark: ReachMark, column: int, right_half: bool) -> None:
    """A white ring at the mark and its label on a dark box (readable on every colour of the scale)."""
    figure.add_trace(
        go.Scatter(
            x=[mark.back],
            y=[mark.step],
            mode="markers",
            marker=dict(symbol="circle-open", size=16, line_width=3, color="white"),
            showlegend=False,
            hovertemplate=f"{mark.text}<extra></extra>",
            cliponaxis=False,
        ),
        row=1,
        col=column,
    )
    figure.add_annotation(
        x=mark.back,
        y=mark.step,
        text=mark.text,
        showarrow=False,
        xanchor="right" if right_half else "left",
        xshift=-12 if right_half else 12,
        font=dict(color="white", size=11),
        bgcolor="rgba(0, 0, 0, 0.65)",
        row=1,
        col=column,
    )


@dataclass
class ReachMark:
    """A point on a cell's heatmap: how far back its gradient reached at one record, and what that is."""

    step: int  # the training batch of the record
    back: int  # steps back
    text: str


def reach_marks(logs: Logs, layer_of: LayerOf, solved_loss: float | None) -> dict[str, ReachMark]:
    """Per cell, its gradient's reach where the comparison table measures it: at the record where the
    loss first fell below `solved_loss` if it did, else at its farthest over training."""
    marks = {}
    for cell, log in logs.items():
        reaches = gradient_reaches(log[h_grad_key(layer_of(cell))])
        record = solved_record(log, solved_loss)
        what = "as the loss fell"
        if record is None:
            record, what = int(np.argmax(reaches)), "at its farthest"
        marks[cell] = ReachMark(int(log[STEP][record]), int(reaches[record]), f"reach {reaches[record]}<br>{what}")
    return marks


def final_profiles(logs: Logs, layer_of: LayerOf, record: int = -1) -> go.Figure:
    """One record's ||dL/dh_t|| / ||dL/dh_T|| against steps back, on a log axis, with the 1% line."""
    figure = go.Figure()
    for index, (cell, log) in enumerate(logs.items()):
        norms = log[h_grad_key(layer_of(cell))][record][::-1]
        back = spread(len(norms), MAX_POINTS)
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = norms[back] / norms[0]
        figure.add_trace(go.Scatter(x=back, y=relative, name=cell, mode="lines", line=line_style(cell, index)))
    reference_line(
        figure, 1e-2, "horizon threshold (1%)", log=True, below=True
    )  # above, a gated profile runs through it
    return figure_layout(
        figure, 340, yaxis_type="log", xaxis_title="steps back from the last step", yaxis_title="relative ||dL/dh_t||"
    )


def per_record_lines(series: dict[str, pd.Series], y_title: str, height: int = 320, log_y: bool = False) -> go.Figure:
    """One line per cell against the training batch (each cell on its own record steps)."""
    figure = go.Figure()
    for index, (cell, values) in enumerate(series.items()):
        values = values.iloc[spread(len(values), MAX_POINTS)]
        figure.add_trace(
            go.Scatter(x=values.index, y=values.values, name=cell, mode="lines+markers", line=line_style(cell, index))
        )
    return figure_layout(
        figure, height, xaxis_title="training batch", yaxis_title=y_title, yaxis_type="log" if log_y else None
    )


def horizons_over_training(logs: Logs, layer_of: LayerOf) -> go.Figure:
    series = {c: pd.Series(log[horizon_key(layer_of(c))], index=log[STEP]) for c, log in logs.items()}
    return per_record_lines(series, "gradient horizon (steps back)")


def reaches_over_training(logs: Logs, layer_of: LayerOf) -> go.Figure:
    """The farthest step back still at 1% of the last step's gradient, at every record."""
    series = {}
    for cell, log in logs.items():  # computed for the records drawn only
        shown = spread(len(log[STEP]), MAX_POINTS)
        series[cell] = pd.Series(gradient_reaches(log[h_grad_key(layer_of(cell))][shown]), index=log[STEP][shown])
    return per_record_lines(series, "gradient reach (steps back)")


def first_and_last_horizon(logs: Logs, layer_of: LayerOf) -> go.Figure:
    """The horizon at the first and the last record, per cell: what training did to the memory span."""
    cells = list(logs)
    first = [int(logs[c][horizon_key(layer_of(c))][0]) for c in cells]
    last = [int(logs[c][horizon_key(layer_of(c))][-1]) for c in cells]
    figure = go.Figure(
        [
            go.Bar(
                x=cells,
                y=first,
                name="first record",
                marker_color=[colour(c, i) for i, c in enumerate(cells)],
                marker_opacity=0.4,
                text=first,
            ),
            go.Bar(
                x=cells, y=last, name="last record", marker_color=[colour(c, i) for i, c in enumerate(cells)], text=last
            ),
        ]
    )
    # no legend: its swatches would both show the first cell's colour; the caption says pale is the first record
    return figure_layout(figure, 300, barmode="group", yaxis_title="gradient horizon (steps back)", showlegend=False)


def global_norms(logs: Logs, clipnorm: dict[str, float | None]) -> go.Figure:
    """The norm of all weight gradients together over training, with each cell's clip threshold."""
    series = {c: pd.Series(log[GLOBAL_GRAD], index=log[STEP]) for c, log in logs.items()}
    figure = per_record_lines(series, "global gradient norm (before clipping)", log_y=True)
    for threshold in sorted({value for value in clipnorm.values() if value}):
        reference_line(figure, threshold, f"clip threshold {threshold:g}", dash="dash", log=True)
    return figure


def weight_gradients(logs: Logs) -> go.Figure:
    """Gradient norm of the recurrent kernel (solid) against the input kernel (dashed), per cell."""
    figure = go.Figure()
    for index, (cell, log) in enumerate(logs.items()):
        for suffix, dash in (("/recurrent_kernel", None), ("/kernel", "dash")):
            key = next(
                (k for k in log if k.startswith("weight_grad_norm/") and k.endswith(suffix) and "head" not in k), None
            )
            if key is None:
                continue
            name = f"{cell} {'recurrent' if dash is None else 'input'} kernel"
            shown = spread(len(log[STEP]), MAX_POINTS)
            figure.add_trace(
                go.Scatter(
                    x=log[STEP][shown],
                    y=log[key][shown],
                    name=name,
                    mode="lines",
                    line={"color": colour(cell, index), "dash": dash},
                )
            )
    return figure_layout(figure, 320, xaxis_title="training batch", yaxis_title="gradient norm", yaxis_type="log")


def decay_prediction(logs: Logs, layer_of: LayerOf) -> go.Figure | None:
    """Measured per-step decay against ||W_rec||_2 x mean tanh' along the probe, for the cells whose log
    holds both (SimpleRNN logs written since the logger records them); None if none does."""
    figure = go.Figure()
    for index, (cell, log) in enumerate(logs.items()):
        predicted = predicted_decay(log, layer_of(cell))
        if predicted is None:
            continue
        style, shown = line_style(cell, index), spread(len(log[STEP]), MAX_POINTS)
        steps, measured = log[STEP][shown], log[decay_key(layer_of(cell))][shown]
        figure.add_trace(go.Scatter(x=steps, y=measured, name=f"{cell} measured", line=style))
        figure.add_trace(
            go.Scatter(x=steps, y=predicted[shown], name=f"{cell} predicted from W_rec", line={**style, "dash": "dash"})
        )
    if not figure.data:
        return None
    reference_line(figure, 1, "no decay")
    return figure_layout(figure, 320, xaxis_title="training batch", yaxis_title="per-step factor")


def forget_gate_distribution(logs: Logs, layer_of: LayerOf) -> go.Figure | None:
    """Each unit's mean forget gate at the first and the last record (a histogram per cell); None if no
    log holds per-unit gates."""
    figure = go.Figure()
    for index, (cell, log) in enumerate(logs.items()):
        key = gate_unit_key(layer_of(cell), "forget")
        if key not in log:
            continue
        for record, opacity, when in ((0, 0.35, "first record"), (-1, 0.8, "last record")):
            figure.add_trace(
                go.Histogram(
                    x=log[key][record][spread(len(log[key][record]), MAX_VALUES)],
                    name=f"{cell}, {when}",
                    marker_color=colour(cell, index),
                    opacity=opacity,
                    xbins=dict(start=0, end=1, size=0.025),
                )
            )
    if not figure.data:
        return None
    return figure_layout(figure, 320, barmode="overlay", xaxis_title="mean forget gate of a unit", yaxis_title="units")
