"""Forecasts page: actual prices against every cell and the naive and Ridge forecasts, the metrics with
MASE, a lag check that exposes the persistence trap, a model's 80% and 95% forecast intervals, residuals,
folds, and re-forecasting an upload.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import first_start
from dashboard.experiments import choose_experiment, runs_root
from dashboard.look import colour, figure_layout, is_baseline, line_style, reference_line, show_table
from data import LabError
from data.prices import parse_price_csv
from pipelines.evaluate import INTERVAL_COVERAGES, beats_naive, forecast_metrics, interval_columns, lag_correlations
from pipelines.tasks import TASKS

NOT_SERIES = ("date", "previous_close", "actual")
MAX_LAG = 3
BAND_OPACITY = {0.80: 0.35, 0.95: 0.18}  # the narrower band darker, drawn over the wider one


def bound_columns(predictions: pd.DataFrame) -> set[str]:
    """The interval bounds in the table (lstm_lo80, ...): columns, not forecasts."""
    return {
        column
        for name in predictions.columns
        for coverage in INTERVAL_COVERAGES
        for column in interval_columns(name, coverage)
        if column in predictions
    }


def series_names(predictions: pd.DataFrame) -> list[str]:
    bounds = bound_columns(predictions)
    return [c for c in predictions.columns if c not in NOT_SERIES and c not in bounds]


def interval_models(predictions: pd.DataFrame) -> list[str]:
    """The forecasts saved with every interval bound (none in a run saved before the intervals)."""
    return [
        name
        for name in series_names(predictions)
        if all(column in predictions for c in INTERVAL_COVERAGES for column in interval_columns(name, c))
    ]


def default_interval_model(models: list[str], comparison: pd.DataFrame) -> str:
    """The cell with the lowest MASE among `models` (a baseline only when no cell has intervals)."""
    mase = comparison.set_index(comparison["model"].astype(str))["mase"] if "mase" in comparison else pd.Series()
    cells = [m for m in models if not is_baseline(m)] or models
    scored = [m for m in cells if m in mase.index and pd.notna(mase[m])]
    return min(scored, key=lambda m: mase[m]) if scored else cells[0]


def rgba(hex_colour: str, alpha: float) -> str:
    """'#RRGGBB' as 'rgba(r, g, b, alpha)' (another colour form: a translucent grey)."""
    digits = hex_colour.lstrip("#")
    if len(digits) != 6:
        return f"rgba(128, 128, 128, {alpha})"
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def interval_chart(predictions: pd.DataFrame, model: str) -> go.Figure:
    """`model`'s forecast with its 95% and 80% intervals as translucent bands, and the actual close."""
    figure = go.Figure()
    index = series_names(predictions).index(model)  # the fallback colour of an unlisted name, as elsewhere
    shade = colour(model, index)
    for coverage in sorted(INTERVAL_COVERAGES, reverse=True):  # the wide band first, the narrow one over it
        lower, upper = interval_columns(model, coverage)
        # too few validation days for a coverage give an infinite half-width: nothing to draw
        low, high = (predictions[c].replace([np.inf, -np.inf], np.nan) for c in (lower, upper))
        label = f"{round(100 * coverage)}% interval"
        figure.add_trace(
            go.Scatter(
                x=predictions["date"],
                y=low,
                mode="lines",
                line=dict(width=0),
                showlegend=False,
                name=f"{label} (lower)",
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=predictions["date"],
                y=high,
                mode="lines",
                line=dict(width=0),
                fill="tonexty",
                fillcolor=rgba(shade, BAND_OPACITY.get(coverage, 0.25)),
                name=label,
                hoverinfo="skip",
            )
        )
    figure.add_trace(go.Scatter(x=predictions["date"], y=predictions[model], name=model, line=line_style(model, index)))
    actual = {**line_style("actual"), "width": 2}
    figure.add_trace(go.Scatter(x=predictions["date"], y=predictions["actual"], name="actual", line=actual))
    return figure_layout(figure, 380, title=f"{model}: forecast with its intervals", yaxis_title="close (USD)")


def show_intervals(predictions: pd.DataFrame, comparison: pd.DataFrame) -> None:
    """The bands of a chosen model, when the run saved them (runs from before the intervals did not)."""
    models = interval_models(predictions)
    if not models:
        return
    st.subheader("Forecast intervals")
    default = default_interval_model(models, comparison)
    model = st.selectbox("Intervals of", models, index=models.index(default), key="interval-model")
    st.plotly_chart(interval_chart(predictions, model))
    st.caption(
        "Split-conformal intervals: each forecast ± the error, as a share of the previous close, that it did not "
        "exceed on 80% (95%) of the validation days (with the finite-sample correction), times that day's close. "
        "coverage_80 and coverage_95 in the table are the "
        "shares of test days whose close fell inside: near 0.80 and 0.95 when the errors of the validation "
        "days are like those of the test days; far below when the test period is more volatile."
    )


def forecast_chart(predictions: pd.DataFrame, title: str) -> go.Figure:
    figure = go.Figure()
    for index, name in enumerate(series_names(predictions)):
        figure.add_trace(
            go.Scatter(x=predictions["date"], y=predictions[name], name=name, line=line_style(name, index))
        )
    # the actual close last, so it is drawn on top of the forecasts that hug it
    actual = {**line_style("actual"), "width": 3}
    figure.add_trace(
        go.Scatter(x=predictions["date"], y=predictions["actual"], name="actual", line=actual, legendrank=1)
    )
    return figure_layout(
        figure, 420, title=title, yaxis_title="close (USD)", xaxis=dict(rangeslider=dict(visible=True))
    )


def lag_chart(predictions: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for index, name in enumerate(series_names(predictions)):
        found = lag_correlations(predictions[name], predictions["actual"], MAX_LAG)
        figure.add_trace(
            go.Scatter(
                x=list(found), y=list(found.values()), name=name, mode="lines+markers", line=line_style(name, index)
            )
        )
    reference_line(figure, 0, "anticipates", axis="x")
    reference_line(figure, 1, "echoes yesterday", axis="x", below=True)
    return figure_layout(
        figure,
        320,
        xaxis_title="lag (days the forecast's moves trail the actual moves)",
        yaxis_title="correlation of daily moves",
        xaxis=dict(dtick=1),
    )


def residual_chart(predictions: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for index, name in enumerate(series_names(predictions)):
        figure.add_trace(
            go.Scatter(
                x=predictions["date"],
                y=predictions["actual"] - predictions[name],
                name=name,
                mode="lines",
                line=line_style(name, index),
            )
        )
    return figure_layout(figure, 300, yaxis_title="actual − forecast (USD)")


def folds_chart(comparison: pd.DataFrame) -> go.Figure:
    rows = comparison.dropna(subset=["fold_mase_mean"])
    figure = go.Figure(
        go.Bar(
            x=rows["model"],
            y=rows["fold_mase_mean"],
            error_y=dict(array=rows["fold_mase_std"]),
            marker_color=[line_style(m, i)["color"] for i, m in enumerate(rows["model"])],
        )
    )
    reference_line(figure, 1, "naive")
    return figure_layout(figure, 300, yaxis_title="walk-forward MASE (mean ± spread over folds)")


def naive_verdict(comparison: pd.DataFrame) -> str:
    """One sentence: which forecasts beat naive, significantly (pipelines.evaluate.beats_naive)."""
    others = comparison[comparison["model"] != "naive"]
    if "dm_p" not in comparison:
        lower = others[others["mase"] < 1]
        return (
            f"**{len(lower)} of {len(others)} forecasts have a MASE below 1**, but this experiment was saved before "
            "the significance test: retrain it (`--overwrite`) to see whether any difference is more than chance."
        )
    beaten = [row["model"] for _, row in others.iterrows() if beats_naive(row)]
    ties = [row["model"] for _, row in others.iterrows() if row["mase"] < 1 and row["model"] not in beaten]
    tie_note = f" ({', '.join(ties)}: MASE below 1, but not significantly: a tie)" if ties else ""
    if beaten:
        return f"**{len(beaten)} of {len(others)} forecasts beat the naive forecast significantly** ({', '.join(beaten)}; Diebold-Mariano p < 0.05){tie_note}."
    return f"**No forecast beats the naive 'tomorrow = today'** significantly{tie_note}."


def render() -> None:
    st.title("Forecasts")
    st.caption("Next-day closing prices on the held-back test days. Any forecast must beat 'tomorrow = today'.")
    first_start.notice(runs_root(), "stock-AAPL")
    found = choose_experiment(runs_root(), task="stock")
    if found is None:
        st.info("No stock experiment to show: train one with `python -m pipelines.train --task stock`.")
        return
    if found.predictions is None:
        st.error(
            f"{found.path.name} has no predictions table: retrain it with `python -m pipelines.train --task stock --overwrite`."
        )
        return
    predictions = found.predictions.assign(date=lambda t: pd.to_datetime(t["date"]))
    st.plotly_chart(forecast_chart(predictions, f"{found.path.name}: actual close and every forecast"))
    show_table(found.comparison, "stock")
    if TASKS["stock"].horizon_meaning:
        meaning = TASKS["stock"].horizon_meaning
        st.caption(f"The gradient columns: {meaning[0].lower()}{meaning[1:]}")
    st.markdown(naive_verdict(found.comparison))
    st.subheader("Lag check: anticipating, or echoing yesterday?")
    st.plotly_chart(lag_chart(predictions))
    st.caption(
        "Correlation of each forecast's daily moves with the actual moves some days earlier. A model that "
        "learned only to repeat the last close peaks at lag 1: its chart looks right, one day late."
    )
    show_intervals(predictions, found.comparison)
    st.subheader("Residuals")
    st.plotly_chart(residual_chart(predictions))
    if "fold_mase_mean" in found.comparison:
        st.subheader("Walk-forward folds")
        st.plotly_chart(folds_chart(found.comparison))
    reforecast(found)


def reforecast(found) -> None:
    st.subheader("Forecast your own prices")
    cells = list(found.runs)
    upload = st.file_uploader("A CSV with Date and Close columns (10 MB at most)", type=["csv"], key="price-upload")
    if upload is None or not cells:
        return
    try:
        prices = parse_price_csv(io.BytesIO(upload.getvalue()), upload.name)
        table = forecasts_for(str(found.path), tuple(cells), prices)
    except LabError as error:
        st.error(str(error))
        return
    known = table.dropna(subset=["actual"])
    st.plotly_chart(forecast_chart(table, f"{upload.name}: each cell of {found.path.name}"))
    horizon = next(iter(found.runs.values()))["config"].get("horizon", 1)  # days ahead, as trained
    horizon = horizon if isinstance(horizon, int) and 1 <= horizon < len(known) else 1
    rows = [
        {"model": n, **forecast_metrics(known["actual"], known[n], known["previous_close"], horizon)}
        for n in series_names(known)
    ]
    show_table(pd.DataFrame(rows))
    next_day = table[table["actual"].isna()]
    if len(next_day):
        st.markdown("Forecast past the last day: " + ", ".join(f"{c} {next_day[c].iloc[-1]:.2f}" for c in cells))


@st.cache_data(show_spinner="Loading the models (TensorFlow starts once)…", max_entries=8)
def forecasts_for(folder: str, cells: tuple[str, ...], prices: pd.DataFrame) -> pd.DataFrame:
    """Every cell's forecast of `prices`, beside naive (the previous close); loads TensorFlow."""
    from models.experiment_store import run_path
    from models.run_store import load_run

    table = None
    for cell in cells:
        forecast = load_run(run_path(Path(folder), cell), root=str(runs_root())).forecast(prices)
        if table is None:
            table = forecast[["date", "previous_close", "actual"]].assign(naive=forecast["previous_close"])
        table[cell] = forecast["forecast"].to_numpy()
    table["date"] = table["date"].fillna(table["date"].max() + pd.Timedelta(days=1))
    return table.assign(actual=lambda t: t["actual"].astype(float)).replace([np.inf, -np.inf], np.nan)
