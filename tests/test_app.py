"""The dashboard, driven by Streamlit's AppTest: pages render what the data and runs hold."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.experiment import run_experiment
from pipelines.tasks.adding import AddingConfig

APP = Path(__file__).resolve().parent.parent / "app.py"


def data_explorer_page():
    from dashboard import data_explorer

    data_explorer.render()


def gradient_flow_page():
    from dashboard import gradient_flow

    gradient_flow.render()


def test_data_explorer_shows_prices_corpus_and_adding_problem():
    app = AppTest.from_function(data_explorer_page, default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value == "Data explorer"
    markdown = " ".join(m.value for m in app.markdown)
    assert "3,270 trading days from **2000-03-01** to **2013-03-01**" in markdown
    assert "alphabet of" in markdown and "characters" in markdown
    assert app.text[0].value.startswith("Hamlet")
    assert any("target = sum" in str(chart.proto.spec) for chart in app.get("plotly_chart"))


def test_data_explorer_switches_ticker():
    app = AppTest.from_function(data_explorer_page, default_timeout=60).run()
    app.selectbox[0].select("FB").run()
    assert not app.exception
    markdown = " ".join(m.value for m in app.markdown)
    assert "**FB**: 196 trading days" in markdown


def test_app_without_runs_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value == "Gradient flow"
    assert "make train-defaults" in app.info[0].value


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    run_experiment(
        AddingConfig(length=10, samples=300, epochs=1, units=4, batch_size=32, log_every=3, probe_size=8, out=str(out))
    )
    return out


def test_gradient_flow_shows_table_heatmaps_and_horizons(tiny_runs, monkeypatch):
    monkeypatch.setenv("VGL_RUNS_DIR", str(tiny_runs))
    app = AppTest.from_function(gradient_flow_page, default_timeout=60).run()
    assert not app.exception
    assert app.selectbox[0].value == "adding-T10"
    table = app.dataframe[0].value
    assert list(table["model"]) == ["simple_rnn", "lstm", "predict-the-mean"]
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    spec = str(charts[0].proto.spec)
    assert "heatmap" in spec and "simple_rnn" in spec and "lstm" in spec
    assert any("forget gate" in m.value for m in app.markdown)
    assert any("headline metric is `test_mse`" in c.value for c in app.caption)


def test_gradient_flow_reports_a_damaged_experiment(tiny_runs, tmp_path, monkeypatch):
    broken = tmp_path / "runs" / "broken"
    broken.mkdir(parents=True)
    (broken / "comparison.csv").write_text("model\nlstm\n")
    (broken / "lstm").mkdir()
    (broken / "lstm" / "run.json").write_text("{not json")
    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_function(gradient_flow_page, default_timeout=60).run()
    assert not app.exception
    assert "not valid JSON" in app.error[0].value


def test_gradient_flow_reports_a_corrupt_gradient_file(tiny_runs, tmp_path, monkeypatch):
    copy = tmp_path / "runs"
    shutil.copytree(tiny_runs, copy)
    (copy / "adding-T10" / "lstm" / "gradients.npz").write_bytes(b"truncated")
    monkeypatch.setenv("VGL_RUNS_DIR", str(copy))
    app = AppTest.from_function(gradient_flow_page, default_timeout=60).run()
    assert not app.exception
    assert "gradients.npz" in app.error[0].value and "changed since the run was saved" in app.error[0].value


def test_dashboard_pages_import_no_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\nimport dashboard.gradient_flow, dashboard.data_explorer\n"
        "print([m for m in ('tensorflow', 'keras') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_gradient_flow_draws_cells_with_different_record_counts(tiny_runs, tmp_path, monkeypatch):
    """A resumed or diverged cell may hold fewer records than the others: the page aligns them on
    the training batch instead of raising "Length of values does not match length of index"."""
    import hashlib
    import json

    import numpy as np

    copy = tmp_path / "runs"
    shutil.copytree(tiny_runs, copy)
    run = copy / "adding-T10" / "lstm"
    with np.load(run / "gradients.npz") as archive:
        arrays = {key: archive[key][:-2] for key in archive.files}  # two records fewer
    with open(run / "gradients.npz", "wb") as handle:
        np.savez(handle, **arrays)
    info = json.loads((run / "run.json").read_text())
    info["files"]["gradients.npz"] = hashlib.sha256((run / "gradients.npz").read_bytes()).hexdigest()
    info["metrics"]["gradient_horizon"] = int(arrays["horizon/lstm_1"][-1])
    (run / "run.json").write_text(json.dumps(info))
    monkeypatch.setenv("VGL_RUNS_DIR", str(copy))
    app = AppTest.from_function(gradient_flow_page, default_timeout=60).run()
    assert not app.exception and not app.error
    assert len(app.get("plotly_chart")) == 2 and any("Gradient horizon" in m.value for m in app.markdown)
