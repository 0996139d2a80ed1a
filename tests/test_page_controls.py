"""The pages' controls: the Lab form keeps this visitor's values and names its own fields, a finished
lab job's banner is its starter's alone, the Lab's heatmap keeps a panel per cell, the clipping sweep
keeps its "none" point, and the Remedies page starts its command in the background."""

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def page(name: str) -> AppTest:
    return AppTest.from_string(f"from dashboard import {name}\n{name}.render()\n", default_timeout=TIMEOUT)


def end(job) -> None:
    job.process.kill()
    job.process.wait()


def test_the_lab_form_keeps_its_values_after_a_run(tmp_path, monkeypatch, fake_jobs):
    from dashboard import background

    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    app = page("lab").run()
    app.number_input[0].set_value(30)
    next(box for box in app.selectbox if box.label == "Recurrent weights").select("glorot")
    app.button[0].click().run()
    assert not app.exception and len(fake_jobs) == 1
    assert not app.number_input  # while it trains, the form is hidden (its widgets' state goes with it)
    end(background._jobs()["lab"])
    app.run()  # the job ended: the form is back, with what was sent
    assert app.number_input[0].value == 30
    assert next(box for box in app.selectbox if box.label == "Recurrent weights").value == "glorot"


def test_a_finished_lab_job_is_shown_to_its_starter_only(tmp_path, monkeypatch, fake_jobs):
    from dashboard import background

    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    starter = page("lab").run()
    starter.button[0].click().run()
    background._jobs()["lab"].cancelled = True
    end(background._jobs()["lab"])
    starter.run()
    assert any("Cancelled" in w.value for w in starter.warning)
    visitor = page("lab").run()  # another browser: same server, its own session
    assert not visitor.exception and not visitor.warning
    assert not any("cell-epochs" in str(bar.proto) for bar in visitor.get("progress"))


def test_the_lab_says_in_form_words_what_the_command_refuses():
    from dashboard.lab import in_form_words

    assert in_form_words("--learning-rate must be a positive number (got -1.0).") == (
        "“Learning rate” must be a positive number (got -1.0)."
    )
    assert in_form_words("a SimpleRNN initialisation: add --cells simple_rnn.") == (
        "a SimpleRNN initialisation: add simple_rnn to “Cells”."
    )
    assert in_form_words("--units must be at least 1.") == "--units must be at least 1."  # not on the form


def test_cells_not_started_keep_an_empty_panel():
    from dashboard.gradient_charts import heatmaps

    log = {"step": np.arange(3), "h_grad_norm/rnn": np.ones((3, 5))}
    figure = heatmaps({"simple_rnn": log}, lambda cell: "rnn", waiting=["lstm", "gru"])
    titles = [a.text for a in figure.layout.annotations]
    assert titles == ["SimpleRNN", "LSTM (not started)", "GRU (not started)"]
    assert len(figure.data) == 1


def test_the_clipping_sweep_draws_its_no_clipping_point():
    from dashboard.lab import sweep_chart

    summary = pd.DataFrame(
        {"clipnorm": [np.nan, 1.0], "cell": ["lstm", "lstm"], "test_mse_mean": [0.1, 0.01], "test_mse_std": [0, 0]}
    )
    figure = sweep_chart(summary, "clipnorm", "test_mse_mean", "test MSE")
    assert list(figure.data[0].x) == ["none", "1.0"] and list(figure.data[0].y) == [0.1, 0.01]


def test_remedies_page_starts_the_remedies_in_the_background(tmp_path, monkeypatch, fake_jobs):
    from pipelines.defaults import DEFAULT_WORKERS

    root = tmp_path / "runs"
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    app = page("remedies_page").run()
    assert not app.exception and "80 trials" in app.info[0].value
    app.button[0].click().run()
    assert not app.exception
    assert fake_jobs == [
        (
            "pipelines.remedies",
            ["--resume", "--quiet", "--workers", str(DEFAULT_WORKERS), "--out", str(root.resolve())],
            {"work_at_start": 0.0},
        )
    ]
    assert "Remedies: 0 of" in str(app.get("progress")[0].proto)  # its progress, read from the store
    assert not root.exists()  # the page wrote nothing; the command writes
