"""Split-conformal forecast intervals (issue 22): the half-width and coverage against hand-computed
examples, the coverage on fresh i.i.d. draws close to nominal, and a tiny stock run whose saved bounds
reproduce its reported coverage exactly."""

import numpy as np
import pandas as pd
import pytest

from pipelines.evaluate import (
    INTERVAL_COVERAGES,
    conformal_halfwidth,
    conformal_intervals,
    interval_columns,
    interval_coverage,
)


def test_halfwidth_is_the_corrected_empirical_quantile_by_hand():
    # n = 4, coverage 0.5: k = ceil(5 * 0.5) = 3, the third smallest |residual| of 0.5, 1, 2, 3 (uncorrected: 1)
    assert conformal_halfwidth([0.5, -2.0, 1.0, -3.0], 0.5) == 2.0
    residuals = np.array([3, -1, 4, -9, 5, -2, 6, -8, 7], dtype=float)  # |r| = 1..9
    assert conformal_halfwidth(residuals, 0.80) == 8.0  # k = ceil(10 * 0.8) = 8
    assert conformal_halfwidth(residuals, 0.95) == np.inf  # k = ceil(9.5) = 10 > 9: too few days to promise 95%
    nineteen = np.arange(1, 20) * np.where(np.arange(19) % 2, -1.0, 1.0)  # |r| = 1..19
    assert conformal_halfwidth(nineteen, 0.80) == 16.0  # k = ceil(16.0) = 16, not 17 from rounding error
    assert conformal_halfwidth(nineteen, 0.95) == 19.0  # k = ceil(19.0) = 19
    assert np.isnan(conformal_halfwidth([1.0, np.nan, 2.0], 0.8))  # a failed forecast: no interval
    with pytest.raises(ValueError):
        conformal_halfwidth([1.0, 2.0], 80)


def test_coverage_counts_the_days_inside_the_bounds_by_hand():
    actual = np.array([10.0, 11.0, 12.0, 13.0])
    forecast = np.array([10.5, 10.0, 12.0, 15.0])  # errors 0.5, 1 (on the bound: inside), 0, 2 (outside)
    assert interval_coverage(actual, forecast, 1.0) == 0.75
    assert interval_coverage(actual, forecast, np.inf) == 1.0
    assert np.isnan(interval_coverage(actual, forecast, np.nan))
    columns, found = conformal_intervals("lstm", [0.5, -2.0, 1.0, -3.0, 0.25], forecast, actual, coverages=(0.5,))
    # relative to a scale: residuals divided by the calibration days' scale, the half-width times each test day's
    scaled, _ = conformal_intervals(
        "lstm", [1.0, -4.0, 2.0, -6.0, 0.5], forecast, actual, coverages=(0.5,), calibration_scale=2.0, scale=3.0
    )
    np.testing.assert_allclose(scaled["lstm_hi50"] - np.asarray(forecast, float), 3.0)  # 1.0 (of 0.25..3) x 3
    # k = ceil(6 * 0.5) = 3: the third smallest of 0.25, 0.5, 1, 2, 3
    assert list(columns) == ["lstm_lo50", "lstm_hi50"] and found == {"coverage_50": 0.75}
    np.testing.assert_array_equal(columns["lstm_lo50"], forecast - 1.0)
    np.testing.assert_array_equal(columns["lstm_hi50"], forecast + 1.0)


@pytest.mark.parametrize("draw", ["normal", "student_t"])
def test_coverage_on_fresh_iid_draws_is_close_to_nominal(draw):
    """Distribution-free: 400 calibration sets of 199 residuals, each tried on 2,000 fresh draws. The mean
    coverage is ceil(200 c) / 200 = c exactly in expectation, with a standard error near 0.0015 here (the
    seed is fixed, so the numbers are the same every run: 0.01 is over six standard errors)."""
    rng = np.random.default_rng(22)
    sample = {"normal": rng.normal, "student_t": lambda size: rng.standard_t(3, size=size)}[draw]
    for coverage in INTERVAL_COVERAGES:
        found = []
        for _ in range(400):
            halfwidth = conformal_halfwidth(sample(size=199), coverage)
            fresh = sample(size=2000)
            found.append(interval_coverage(fresh, np.zeros_like(fresh), halfwidth))
        assert np.mean(found) == pytest.approx(coverage, abs=0.01)


@pytest.fixture(scope="module")
def tiny_stock(tmp_path_factory):
    from pipelines.experiment import run_experiment
    from pipelines.tasks.stock import StockConfig

    out = tmp_path_factory.mktemp("intervals")
    config = StockConfig(
        start="2011-01-01", lookback=10, folds=0, out=str(out), cells=["lstm"], units=4, epochs=1, batch_size=32
    )
    return config, run_experiment(config)


def test_a_stock_run_reports_the_coverage_its_saved_bounds_give(tiny_stock):
    from models.run_store import load_run

    _, result = tiny_stock
    table = result.table.set_index("model")
    assert set(table.index) == {"lstm", "naive", "ridge"}
    merged = pd.read_csv(result.path / "predictions.csv")
    own = load_run(result.runs["lstm"]).predictions
    for coverage in INTERVAL_COVERAGES:
        key = f"coverage_{round(100 * coverage)}"
        assert table[key].between(0, 1).all()
        for model in table.index:
            lower, upper = interval_columns(model, coverage)
            for predictions in (merged, own):
                inside = (predictions[lower] <= predictions["actual"]) & (predictions["actual"] <= predictions[upper])
                assert table.loc[model, key] == inside.mean(), (model, key)
                assert (predictions[lower] <= predictions[model]).all() and (
                    predictions[model] <= predictions[upper]
                ).all()
    assert (table["coverage_95"] >= table["coverage_80"]).all()


def test_the_half_widths_come_from_each_models_validation_residuals(tiny_stock):
    """Recomputed here from the validation windows: the naive forecast, and the saved model's own outputs
    turned into prices (not the pipeline's forecast() path)."""
    from models.run_store import load_run
    from pipelines.tasks.stock import StockTask

    config, result = tiny_stock
    prepared = StockTask().prepare(config)
    context = prepared.context
    actual, previous, _ = context.validation_days(config.horizon)
    run = load_run(result.runs["lstm"])
    outputs = run.model.predict(prepared.validation.x, verbose=0)[:, 0]
    validation = {"naive": previous, "lstm": context.scaling.to_prices(outputs, previous)}
    saved = run.predictions
    for model, forecast in validation.items():
        for coverage in INTERVAL_COVERAGES:
            lower, upper = interval_columns(model, coverage)
            relative = conformal_halfwidth((actual - forecast) / previous, coverage)  # relative to the close
            assert np.isfinite(relative) and relative > 0
            halfwidth = relative * saved["previous_close"].to_numpy()  # each test day's own close
            np.testing.assert_allclose((saved[upper] - saved[lower]) / 2, halfwidth, rtol=1e-6)


def test_the_bands_default_to_the_cell_with_the_lowest_mase():
    from dashboard.forecasts import default_interval_model, interval_models

    comparison = pd.DataFrame({"model": ["gru", "lstm", "naive", "ridge"], "mase": [1.2, 1.1, 1.0, 0.9]})
    assert default_interval_model(["naive", "ridge", "gru", "lstm"], comparison) == "lstm"  # a cell, not ridge
    assert default_interval_model(["naive", "ridge"], comparison) == "ridge"  # no cell with intervals
    assert default_interval_model(["gru"], comparison.iloc[2:]) == "gru"  # no MASE for it: the first cell
    table = pd.DataFrame(columns=["date", "actual", "naive", "lstm", "lstm_lo80", "lstm_hi80", "lstm_lo95"])
    assert interval_models(table) == []  # a bound missing: no bands


def forecasts_page(runs_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("VGL_RUNS_DIR", str(runs_dir))
    return AppTest.from_string("from dashboard import forecasts\nforecasts.render()\n", default_timeout=120)


def chart_data(app) -> list[list[dict]]:
    import json

    return [json.loads(chart.proto.spec)["data"] for chart in app.get("plotly_chart")]


def test_the_forecasts_page_draws_the_bands_of_the_chosen_model(tiny_stock, monkeypatch):
    from dashboard.forecasts import rgba
    from dashboard.look import colour

    _, result = tiny_stock
    app = forecasts_page(result.path.parent, monkeypatch).run()
    assert not app.exception and not app.error
    choice = next(box for box in app.selectbox if box.label == "Intervals of")
    assert choice.options == ["naive", "ridge", "lstm"] and choice.value == "lstm"  # the only cell: the best
    table = app.dataframe[0].value
    assert {"coverage_80", "coverage_95"} <= set(table.columns)
    charts = chart_data(app)
    assert [t["name"] for t in charts[0]] == ["naive", "ridge", "lstm", "actual"]  # no bound drawn as a forecast
    bands = next(c for c in charts if any(t.get("fill") == "tonexty" for t in c))
    filled = [t for t in bands if t.get("fill") == "tonexty"]
    assert [t["name"] for t in filled] == ["95% interval", "80% interval"]
    assert {t["fillcolor"] for t in filled} == {rgba(colour("lstm"), 0.18), rgba(colour("lstm"), 0.35)}
    choice.set_value("naive").run()
    assert not app.exception
    bands = next(c for c in chart_data(app) if any(t.get("fill") == "tonexty" for t in c))
    assert "naive" in [t["name"] for t in bands] and "lstm" not in [t["name"] for t in bands]


def test_a_run_saved_before_the_intervals_renders_without_bands(tiny_stock, tmp_path, monkeypatch):
    import json
    import shutil

    from models.experiment_store import write_experiment_info, write_table

    _, result = tiny_stock
    old = tmp_path / "runs" / result.path.name
    shutil.copytree(result.path, old)
    comparison = pd.read_csv(old / "comparison.csv")
    write_table(old / "comparison.csv", comparison.drop(columns=["coverage_80", "coverage_95"]))
    predictions = pd.read_csv(old / "predictions.csv")
    write_table(old / "predictions.csv", predictions.filter(regex=r"^(?!.*_(lo|hi)(80|95)$)"))
    write_experiment_info(old, json.loads((old / "experiment.json").read_text())["options"])
    app = forecasts_page(old.parent, monkeypatch).run()
    assert not app.exception and not app.error
    assert not [box for box in app.selectbox if box.label == "Intervals of"]
    assert "Forecast intervals" not in [header.value for header in app.subheader]
    assert [t["name"] for t in chart_data(app)[0]] == ["naive", "ridge", "lstm", "actual"]
