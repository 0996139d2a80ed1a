"""The dashboard, driven by Streamlit's AppTest on a fixture set of runs (stock, text, adding and a
length sweep) and on none: each page shows values read from the runs, and widgets change them."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 120
WAIT = 300  # s: the ceiling on waiting for a child process's line or exit; polls stay short


def page(name: str):
    """An AppTest of one page module's render()."""
    code = f"from dashboard import {name}\n{name}.render()\n"
    return AppTest.from_string(code, default_timeout=TIMEOUT)


@pytest.fixture
def at_runs(dashboard_runs, monkeypatch):
    monkeypatch.setenv("VGL_RUNS_DIR", str(dashboard_runs))
    return dashboard_runs


def chart_specs(app) -> list[str]:
    return [str(chart.proto.spec) for chart in app.get("plotly_chart")]


def trace_names(spec: str) -> list[str]:
    import json

    return [trace.get("name") for trace in json.loads(spec)["data"]]


def plotted(values) -> list:
    """A trace's x or y as a list: plotly writes numeric arrays as base64 typed arrays ({dtype, bdata})."""
    import base64

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_overview_tells_the_story_from_the_sweep(at_runs):
    from dashboard.experiments import SHOWCASE
    from models.experiment_store import load_sweep

    app = page("overview").run()
    assert not app.exception and not app.error
    _, summary = load_sweep(at_runs / SHOWCASE)
    at_ten = summary[summary["length"] == 10].set_index("cell")
    sentences = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert len(sentences) == 3
    assert sentences[0].startswith("- At T = 10,")
    names = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
    for cell, name in names.items():  # every figure quoted is the sweep's own (none solves at 1 epoch)
        assert f"the {name} ended at {at_ten.loc[cell, 'test_mse_mean']:.4f}" in sentences[0]
        assert f"the {name}'s never reached more than {at_ten.loc[cell, 'peak_reach_mean']:.0f} steps back" in (
            sentences[1].replace("The ", "the ", 1)
        )
    specs = chart_specs(app)
    assert trace_names(specs[0]) == ["SimpleRNN", "LSTM", "GRU"]
    assert "learned nothing" in specs[0] and "solved" in specs[0]
    assert "heatmap" in specs[1]


def test_overview_without_runs_trains_the_defaults_and_shows_progress(tmp_path, monkeypatch, fake_jobs):
    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    app = page("overview").run()
    assert not app.exception
    assert [(m, a) for m, a, _ in fake_jobs] == [
        ("pipelines.defaults", ["--resume", "--out", str((tmp_path / "runs").resolve())])
    ]
    assert "The default runs are training in the background" in app.info[0].value
    rows = app.dataframe[0].value
    assert set(rows["cell"]) == {"simple_rnn", "lstm", "gru"} and (rows["epochs done"].str.startswith("0 of")).all()
    app.run()
    assert len(fake_jobs) == 1  # a rerun watches the running job, it does not start another
    assert not (tmp_path / "runs").exists()  # the page itself wrote nothing


def test_forecasts_draw_every_forecast_lag_check_and_folds(at_runs, runs):
    app = page("forecasts").run()
    assert not app.exception and not app.error
    specs = chart_specs(app)
    assert trace_names(specs[0]) == ["naive", "ridge", "simple_rnn", "lstm", "actual"]  # actual drawn on top
    comparison = runs["stock"].table
    table = app.dataframe[0].value
    assert list(table["model"]) == list(comparison["model"])
    assert np.allclose(table["mase"].astype(float), comparison["mase"].astype(float))
    beaten = int(((comparison["mase"] < 1) & (comparison["model"] != "naive")).sum())
    verdict = " ".join(m.value for m in app.markdown)
    assert (f"{beaten} of" in verdict) if beaten else ("No forecast beats" in verdict)
    lag = next(s for s in specs if "echoes yesterday" in s)
    assert trace_names(lag) == ["naive", "ridge", "simple_rnn", "lstm"]
    assert any("walk-forward MASE" in s for s in specs)


def test_forecasts_refuse_an_upload_without_close_in_one_sentence(at_runs):
    app = page("forecasts").run()
    app.file_uploader[0].set_value(("prices.csv", b"Date,Open\n2020-01-01,1\n", "text/csv")).run()
    assert not app.exception
    assert len(app.error) == 1 and "Close" in app.error[0].value
    assert app.error[0].value.count(". ") == 0


def test_forecasts_reforecast_an_uploaded_csv(at_runs):
    from data import load_prices

    prices = load_prices("AAPL", source="bundled").iloc[-80:]
    csv = prices.reset_index()[["Date", "Close"]].to_csv(index=False).encode()
    app = page("forecasts").run()
    app.file_uploader[0].set_value(("mine.csv", csv, "text/csv")).run()
    assert not app.exception and not app.error
    spec = next(s for s in chart_specs(app) if "mine.csv" in s)
    assert trace_names(spec) == ["naive", "simple_rnn", "lstm", "actual"]
    table = app.dataframe[1].value
    assert list(table["model"]) == ["naive", "simple_rnn", "lstm"] and table["mase"].iloc[0] == 1.0


def test_training_draws_loss_curves_with_the_baseline_level(at_runs):
    at = page("training")
    at.query_params["experiment"] = "adding-T10"
    app = at.run()
    assert not app.exception and not app.error
    assert app.selectbox[0].value == "adding-T10"
    loss = chart_specs(app)[0]
    assert trace_names(loss) == [f"{c} {k}" for c in ("simple_rnn", "lstm", "gru") for k in ("training", "validation")]
    assert "predict-the-mean (baseline)" in loss
    assert "clip threshold" not in chart_specs(app)[1]  # clipping was off


def test_gradient_flow_shows_table_heatmaps_and_horizons(at_runs, runs):
    at = page("gradient_flow")
    at.query_params["experiment"] = "adding-T10"
    app = at.run()
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert list(table["model"]) == ["simple_rnn", "lstm", "gru", "predict-the-mean"]
    assert list(table["solved"]) == ["no", "no", "no", "no"]  # text, not checkboxes
    specs = chart_specs(app)
    assert "heatmap" in specs[0] and "steps back" in specs[0]
    bars = next(s for s in specs if "first record" in s)
    import json

    from models.experiment_store import load_experiment
    from models.gradient_log import horizon_key

    found = load_experiment(at_runs / "adding-T10", with_gradients=True)
    first, last = json.loads(bars)["data"]
    for bar, record in ((first, 0), (last, -1)):
        expected = [int(found.gradients[c][horizon_key(found.probe_layer(c))][record]) for c in bar["x"]]
        assert bar["y"] == expected
    said = ", ".join(f"{name} {h}" for name, h in zip(("SimpleRNN", "LSTM", "GRU"), last["y"], strict=True))
    assert any(f"At the end of training: {said} of 9 steps back." in c.value for c in app.caption)
    from pipelines.tasks import TASKS

    assert any(TASKS["adding"].horizon_meaning in i.value for i in app.info)  # what a horizon means here
    # the LSTM's memory units: the scatter plots its own saved figures, the caption counts them
    evidence = found.runs["lstm"]["outputs"]["memory_units"]
    scatter = json.loads(next(s for s in specs if "remembered value" in s))["data"]
    assert sum(len(trace["text"]) for trace in scatter) == len(evidence["correlation"])  # one point per unit
    assert f"{len(evidence['mirrors'])} " in next(c.value for c in app.caption if "rewritten" in c.value)


def test_experiment_selection_lives_in_the_url(at_runs):
    """A shared address opens the same view (the browser writes the URL back: test_browser checks that)."""
    at = page("gradient_flow")
    at.query_params["experiment"] = "text-shakespeare"
    app = at.run()
    assert app.selectbox[0].value == "text-shakespeare"
    assert app.dataframe[0].value["model"].iloc[-1] == "unigram"  # the text experiment's table
    at = page("gradient_flow")
    at.query_params["experiment"] = "no-such-experiment"
    app = at.run()
    assert not app.exception and app.selectbox[0].value == "adding-by-length"  # the showcase, by default


def test_sweeps_are_one_entry_with_their_trials(at_runs):
    app = page("gradient_flow").run()
    options = app.selectbox[0].options
    assert "adding-by-length" in options  # by folder name, so its address survives added trials
    assert not any("length-6" in o for o in options)
    assert app.selectbox[1].options == ["length-6-seed0", "length-10-seed0"]
    assert any(c.value == "adding-by-length (sweep, 2 trials)" for c in app.caption)


def test_a_sweep_addressed_by_its_folder_name_opens_it_and_its_trial(at_runs):
    at = page("gradient_flow")
    at.query_params["experiment"] = "remedies-adding-T100"  # not the default one
    at.query_params["experiment-trial"] = "esn-seed0"
    app = at.run()
    assert not app.exception
    assert app.selectbox[0].value == "remedies-adding-T100" and app.selectbox[1].value == "esn-seed0"


def test_text_page_shows_bpc_generates_and_colours_connectivity(at_runs):
    app = page("text_page").run()
    assert not app.exception and not app.error
    bpc = chart_specs(app)[0]
    assert "unigram" in bpc and trace_names(bpc)[0] == "simple_rnn training"
    app.text_input[0].set_value("ROMEO: ")
    app.slider[1].set_value(50)
    app.button[0].click().run()
    assert not app.exception and not app.error
    texts = [t.value for t in app.text]
    assert len(texts) == 2 and all(t.startswith("ROMEO: ") and len(t) == 57 for t in texts)
    app.toggle[0].set_value(True).run()
    assert not app.exception and not app.error
    coloured = [h.proto.body for h in app.get("html")]
    assert len(coloured) == 2 and all("rgba(" in body for body in coloured)


@pytest.mark.parametrize(
    "length, init, words",
    [
        (0, "orthogonal", "“Sequence length T”"),
        (10**7, "orthogonal", "memory"),
        (50, "irnn", "add simple_rnn to “Cells”"),
    ],
)
def test_lab_refuses_a_bad_form_in_one_sentence_and_starts_nothing(at_runs, monkeypatch, length, init, words):
    from dashboard import background

    monkeypatch.setattr(background, "start", lambda *a, **k: pytest.fail("started a training"))
    background._jobs().clear()
    before = {p: p.stat().st_mtime_ns for p in at_runs.rglob("*")}
    app = page("lab").run()
    app.number_input[0].set_value(length)
    next(box for box in app.selectbox if box.label == "Recurrent weights").select(init)
    app.button[0].click().run()
    assert not app.exception
    assert len(app.error) == 1 and words in app.error[0].value
    assert "--" not in app.error[0].value  # the form's field names, not the command's options
    assert app.button[0].label == "Train"  # the form stays, ready for a corrected value
    assert {p: p.stat().st_mtime_ns for p in at_runs.rglob("*")} == before


def test_lab_starts_the_train_command_with_the_form(at_runs, fake_jobs):
    app = page("lab").run()
    app.number_input[0].set_value(30)
    app.button[0].click().run()
    assert not app.exception and not app.error
    module, args, _ = fake_jobs[0]
    assert module == "pipelines.train"
    assert args[args.index("--length") + 1] == "30" and args[args.index("--clipnorm") + 1] == "1.0"
    assert args[args.index("--init") + 1] == "orthogonal"
    assert args[args.index("--out") + 1] == str(at_runs.resolve())


def test_lab_draws_saved_sweeps(at_runs):
    import json

    from dashboard.experiments import SHOWCASE
    from models.experiment_store import load_sweep

    app = page("lab").run()
    assert not app.exception and not app.error
    assert app.selectbox[-1].value == SHOWCASE
    specs = chart_specs(app)
    assert len(specs) == 2 and trace_names(specs[0]) == ["simple_rnn", "lstm", "gru"]
    assert "gradient horizon" in specs[1]
    _, summary = load_sweep(at_runs / SHOWCASE)
    for trace in json.loads(specs[1])["data"]:  # each cell's horizon at each length is the sweep's own
        rows = summary[summary["cell"] == trace["name"]]
        assert plotted(trace["x"]) == list(rows["length"]) and plotted(trace["y"]) == list(rows["horizon_mean"])


def test_every_page_renders_with_no_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    for name in ("gradient_flow", "training", "forecasts", "text_page", "lab", "runs_page", "own_log"):
        app = page(name).run()
        assert not app.exception and not app.error, name
        assert app.info or app.caption, name
        assert not (tmp_path / "runs").exists(), name  # reading pages create nothing


def test_a_damaged_experiment_is_one_error_and_the_page_goes_on(at_runs, tmp_path, monkeypatch):
    copy = tmp_path / "runs"
    shutil.copytree(at_runs, copy)
    (copy / "adding-T10" / "lstm" / "gradients.npz").write_bytes(b"truncated")
    monkeypatch.setenv("VGL_RUNS_DIR", str(copy))
    at = page("gradient_flow")
    at.query_params["experiment"] = "adding-T10"
    app = at.run()
    assert not app.exception
    assert "gradients.npz" in app.error[0].value and "changed since the run was saved" in app.error[0].value
    app.selectbox[0].select("text-shakespeare").run()
    assert not app.error and app.dataframe[0].value["model"].iloc[-1] == "unigram"


def test_the_app_opens_on_the_overview(at_runs):
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not app.exception
    assert app.title[0].value == "Why a SimpleRNN forgets and an LSTM remembers"


def test_data_explorer_shows_prices_corpus_and_adding_problem():
    app = page("data_explorer").run()
    assert not app.exception
    markdown = " ".join(m.value for m in app.markdown)
    assert "3,270 trading days from **2000-03-01** to **2013-03-01**" in markdown
    assert app.text[0].value.startswith("Hamlet")
    app.selectbox[0].select("FB").run()
    assert "**FB**: 196 trading days" in " ".join(m.value for m in app.markdown)


def test_dashboard_pages_import_no_tensorflow():
    code = (
        "import sys\nfrom dashboard import overview, forecasts, training, gradient_flow, text_page, lab, data_explorer\n"
        "from dashboard import runs_page, own_log, background, experiments\n"
        "print([m for m in ('tensorflow', 'keras') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT)
    assert result.stdout.strip() == "[]", result.stderr


def test_lag_correlations_peak_at_one_for_an_echo_and_zero_for_a_perfect_forecast():
    from pipelines.evaluate import lag_correlations

    actual = np.cumsum(np.random.default_rng(0).normal(size=400)) + 100
    echo = lag_correlations(np.r_[np.nan, actual[:-1]], actual)  # tomorrow = today
    assert echo[1] == pytest.approx(1.0) and max(echo, key=lambda lag: np.nan_to_num(echo[lag])) == 1
    perfect = lag_correlations(actual, actual)
    assert perfect[0] == pytest.approx(1.0) and abs(perfect[1]) < 0.2
    assert pd.isna(lag_correlations(np.ones(10), np.arange(10.0))[0])  # a flat forecast has no moves


def test_runs_page_shows_each_runs_metrics_versions_and_layers(at_runs):
    import json

    at = page("runs_page")
    at.query_params["experiment"] = "adding-T10"
    app = at.run()
    assert not app.exception and not app.error
    info = json.loads((at_runs / "adding-T10" / "lstm" / "run.json").read_text())
    tables = [frame.value for frame in app.dataframe]
    metrics = [t for t in tables if "metric" in t][1]  # simple_rnn, lstm, gru in order
    assert metrics.set_index("metric").loc["test_mse", "value"] == str(info["metrics"]["test_mse"])
    layers = [t for t in tables if "layer" in t]
    assert [list(t["layer"]) for t in layers] == [
        ["InputLayer", "SimpleRNN", "Dense"],
        ["InputLayer", "LSTM", "Dense"],
        ["InputLayer", "GRU", "Dense"],
    ]
    assert list(layers[1]["units"].fillna("")) == ["", "4", "1"]
    versions = next(t for t in tables if "library" in t)
    assert versions.set_index("library").loc["keras", "version"] == info["versions"]["keras"]


def test_runs_page_zip_holds_the_saved_files_only(at_runs):
    import io
    import zipfile

    from models.experiment_store import experiment_archive

    (at_runs / "adding-T10" / ".lock").write_text("123")
    try:
        names = zipfile.ZipFile(io.BytesIO(experiment_archive(at_runs, "adding-T10"))).namelist()
    finally:
        (at_runs / "adding-T10" / ".lock").unlink()
    for cell in ("simple_rnn", "lstm", "gru"):
        assert f"adding-T10/{cell}/run.json" in names and f"adding-T10/{cell}/model.keras" in names
    assert "adding-T10/comparison.csv" in names and not any(".lock" in n for n in names)


def test_deleting_needs_a_confirmation_and_removes_that_experiment_only(at_runs, tmp_path, monkeypatch):
    copy = tmp_path / "runs"
    shutil.copytree(at_runs, copy)
    outside = tmp_path / "keep.txt"
    outside.write_text("mine")
    monkeypatch.setenv("VGL_RUNS_DIR", str(copy))
    before = {p: p.read_bytes() for p in (copy / "text-shakespeare").rglob("*") if p.is_file()}
    at = page("runs_page")
    at.query_params["experiment"] = "adding-T10"
    app = at.run()
    delete = next(b for b in app.button if b.label == "Delete")
    assert delete.disabled  # nothing happens without the confirmation
    app.checkbox[0].check().run()
    next(b for b in app.button if b.label == "Delete").click().run()
    assert not app.exception and not app.error
    assert not (copy / "adding-T10").exists()
    assert {p: p.read_bytes() for p in (copy / "text-shakespeare").rglob("*") if p.is_file()} == before
    assert outside.read_text() == "mine"


def test_deleting_is_refused_for_a_folder_that_is_not_an_experiment(tmp_path):
    from data import ConfigError, RunError
    from models.experiment_store import delete_experiment

    (tmp_path / "runs" / "notes").mkdir(parents=True)
    (tmp_path / "runs" / "notes" / "a.txt").write_text("x")
    with pytest.raises(RunError, match="not an experiment"):
        delete_experiment(tmp_path / "runs", "notes")
    with pytest.raises(ConfigError, match=r"'\.\./runs' is not a plain folder name"):
        delete_experiment(tmp_path / "runs", "../runs")
    assert (tmp_path / "runs" / "notes" / "a.txt").read_text() == "x"


def test_own_model_page_draws_an_uploaded_log(at_runs):
    data = (at_runs / "adding-T10" / "lstm" / "gradients.npz").read_bytes()
    app = page("own_log").run()
    app.file_uploader[0].set_value(("gradients.npz", data, "application/octet-stream")).run()
    assert not app.exception and not app.error
    assert any("layers lstm\\_1" in m.value for m in app.markdown)  # the source escapes the file's "_"
    assert "heatmap" in chart_specs(app)[0] and "lstm_1" in chart_specs(app)[0]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"not a zip at all", "not a gradient log"),
        ("object", "not a gradient log"),
        ("no norms", "no h_grad_norm"),
    ],
)
def test_own_model_page_refuses_a_bad_upload_in_one_sentence(content, words, tmp_path):
    import io

    if content == "object":  # a pickled object array: refused, never unpickled
        buffer = io.BytesIO()
        np.savez(buffer, step=np.arange(2), other=np.array([{"a": 1}, None], dtype=object))
        content = buffer.getvalue()
    elif content == "no norms":
        buffer = io.BytesIO()
        np.savez(buffer, step=np.arange(2), loss=np.ones(2))
        content = buffer.getvalue()
    app = page("own_log").run()
    app.file_uploader[0].set_value(("gradients.npz", content, "application/octet-stream")).run()
    assert not app.exception
    assert len(app.error) == 1 and words in app.error[0].value and "GradientLogger.save" in app.error[0].value


def test_a_cancelled_job_is_reported_as_cancelled_with_the_commands_last_words():
    """Cancel sends SIGTERM, which the pipeline commands handle like Ctrl-C (tests/test_faults.py)."""
    import threading
    import time

    from dashboard import background

    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('stopped after epoch 2', file=sys.stderr), sys.exit(130)))\n"
        "print('training', file=sys.stderr, flush=True)\ntime.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    job = background.Job("test-job", ["python"], process)
    reader = threading.Thread(target=background._collect, args=(job,), daemon=True)
    reader.start()

    def wait_until(condition, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{what} within {WAIT} s; stderr so far: {list(job.errors)}")
            time.sleep(0.05)

    try:
        wait_until(lambda: job.errors, "the command never said it was training")  # its handler is installed
        assert job.status == "running"
        job.cancel()
        process.wait(timeout=WAIT)
        wait_until(lambda: not reader.is_alive(), "the reader thread never reached the end of stderr")
    finally:
        process.kill()
    assert job.status == "cancelled" and job.reason() == "stopped after epoch 2"
    assert job.ended is not None and job.elapsed() == job.ended - job.started  # the clock stopped at the exit


def test_remedies_page_charts_the_remedies_table(at_runs):
    import json

    from models.experiment_store import load_sweep

    app = page("remedies_page").run()
    assert not app.exception and not app.error
    _, summary = load_sweep(at_runs / "remedies-adding-T100")
    metric, horizons = (json.loads(spec) for spec in chart_specs(app))
    assert metric["data"][0]["x"] == ["tbptt-20", "esn"]
    np.testing.assert_allclose(metric["data"][0]["y"], summary["test_mse_mean"])
    assert metric["data"][0]["text"] == ["solved 0/1", "solved 0/1"]
    last = next(trace for trace in horizons["data"] if trace["name"] == "end of training")
    assert last["y"][0] <= 19  # truncation at 20 caps how far back the gradient reaches
    assert "esn's reservoir recalls about" in " ".join(c.value for c in app.caption)
