"""The first start: the default runs' progress and time left, the story drawn from the adding trials
landed so far (equal to what the finished sweep saves), the status line on every page, and the
`make run` server that prints its address and opens a browser."""

import os
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.defaults import DEFAULT_WORKERS, PlannedExperiment

ROOT = Path(__file__).resolve().parent.parent
WAIT = 300  # s: ceiling on waiting for the server's line; it ends as soon as the line comes


def test_time_left_follows_the_pace_of_this_start():
    from dashboard.plan_progress import PlanProgress
    from pipelines.defaults import CELL_START

    planned = [
        PlannedExperiment("sweep/a", ["x", "y"], 2, work=10),
        PlannedExperiment("sweep/b", ["x", "y"], 2, work=30),
        PlannedExperiment("text", ["x"], 4, work=5),
    ]
    progress = PlanProgress(planned, {"sweep/a": {"x": 2, "y": 1}, "sweep/b": {"x": 0, "y": 0}, "text": {"x": 0}})
    assert progress.cell_epochs == (3, 12)
    start = CELL_START  # a cell's start counts once its first epoch is done
    assert progress.total_work == 40 + 120 + 20 + 5 * start
    assert progress.work_done() == 30 + 2 * start
    done_before = 10  # resumed: this much was trained by an earlier start; 20 + 2 starts since, in 10 s
    pace = (30 + 2 * start - done_before) / 10
    assert progress.seconds_left(10.0, done_before) == pytest.approx((180 + 5 * start - 30 - 2 * start) / pace)
    assert progress.seconds_left(10.0, done_before, through="sweep") == pytest.approx(
        (160 + 4 * start - 30 - 2 * start) / pace
    )
    # two workers: each takes the next experiment when free; a long last one trains alone at one worker's pace
    long_text = PlanProgress(
        [*planned[:2], PlannedExperiment("text", ["x"], 4, work=100)],
        {"sweep/a": {"x": 2, "y": 1}, "sweep/b": {"x": 0, "y": 0}, "text": {"x": 0}},
    )
    per_worker = pace / 2
    left_a, left_b, left_text = 10, 120 + 2 * start, 400 + start  # a finishes first, so its worker takes text
    assert long_text.seconds_left(10.0, done_before, workers=2) == pytest.approx((left_a + left_text) / per_worker)
    assert long_text.seconds_left(10.0, done_before, through="sweep", workers=2) == pytest.approx(left_b / per_worker)
    assert not progress.landed("sweep") and not progress.landed("text") and progress.landed("not planned")
    assert PlanProgress(planned[:1], {"sweep/a": {"x": 2, "y": 2}}).landed("sweep")
    assert progress.seconds_left(2.0, done_before) is None  # start-up, not yet a pace
    assert progress.seconds_left(10.0, progress.work_done()) is None  # nothing trained since this start


def showcase_as_default(dashboard_runs):
    """The fixture's showcase sweep (lengths 6 and 10, seed 0) as a DefaultSweep."""
    from dashboard.experiments import SHOWCASE
    from models.experiment_store import load_experiment
    from pipelines.defaults import DefaultSweep
    from pipelines.tasks.adding import AddingConfig

    runs = load_experiment(dashboard_runs / SHOWCASE / "length-6-seed0").runs
    known = {spec.name for spec in fields(AddingConfig)}
    options = {k: v for k, v in next(iter(runs.values()))["config"].items() if k in known}
    config = AddingConfig(**{**options, "cells": list(runs), "name": SHOWCASE, "out": str(dashboard_runs)})
    return DefaultSweep(config, "length", [6, 10], [0])


def test_landed_trials_give_the_summary_the_finished_sweep_saved(dashboard_runs, tmp_path):
    import shutil

    from dashboard.experiments import SHOWCASE
    from models.experiment_store import load_sweep

    planned = showcase_as_default(dashboard_runs)
    saved_trials, saved_summary = load_sweep(dashboard_runs / SHOWCASE)
    trials, summary = planned.landed()
    pd.testing.assert_frame_equal(summary, saved_summary, check_dtype=False)
    assert len(trials) == len(saved_trials)

    copy = tmp_path / "runs"  # one trial not landed yet: a cell still training, no table
    shutil.copytree(dashboard_runs / SHOWCASE, copy / SHOWCASE)
    (copy / SHOWCASE / "length-10-seed0" / "comparison.csv").unlink()
    (copy / SHOWCASE / "sweep.csv").unlink()
    planned.config.out = str(copy)
    trials, summary = planned.landed()
    assert set(summary["length"]) == {6}
    pd.testing.assert_frame_equal(
        summary.reset_index(drop=True),
        saved_summary[saved_summary["length"] == 6].reset_index(drop=True),
        check_dtype=False,
    )


def test_the_overview_draws_the_story_of_the_trials_landed_while_the_rest_train(dashboard_runs, tmp_path, monkeypatch):
    """A first start half done: the sweep's first length landed, the second and the other defaults not.
    The Overview shows progress, the story at T = 6, and marks each cell's reach on the heatmap."""
    import json
    import shutil

    from dashboard import background, first_start, overview
    from dashboard.experiments import SHOWCASE
    from pipelines import defaults

    root = tmp_path / "runs"
    shutil.copytree(dashboard_runs / SHOWCASE / "length-6-seed0", root / SHOWCASE / "length-6-seed0")
    planned = showcase_as_default(dashboard_runs)
    planned.config.out = str(root)
    monkeypatch.setattr(defaults, "default_sweeps", lambda out: [planned])
    monkeypatch.setattr(overview, "default_sweeps", lambda out: [planned])
    monkeypatch.setattr(defaults, "default_configs", lambda out: [])
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # killed below
    background._jobs().clear()
    background._jobs()[first_start.DEFAULTS_JOB] = background.Job(first_start.DEFAULTS_JOB, ["x"], process)
    try:
        code = "from dashboard import overview\noverview.render()\n"
        app = AppTest.from_string(code, default_timeout=120).run()
        assert not app.exception and not app.error
        assert "The default runs are training in the background" in app.info[0].value
        assert any("Landed so far: T = 6 (1 of 2 trials)" in c.value for c in app.caption)
        sentences = [m.value for m in app.markdown if m.value.startswith("- ")]
        assert sentences[0].startswith("- At T = 6,")
        specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
        labels = [a["text"] for a in specs[1]["layout"]["annotations"] if a["text"].startswith("reach ")]
        table = pd.read_csv(root / SHOWCASE / "length-6-seed0" / "comparison.csv").set_index("model")
        expected = [  # where the comparison table measured each cell's reach (none solves in one tiny epoch)
            f"reach {table.loc[c, 'peak_gradient_reach']:.0f}<br>at its farthest"
            if pd.isna(table.loc[c, "solved_gradient_reach"])
            else f"reach {table.loc[c, 'solved_gradient_reach']:.0f}<br>as the loss fell"
            for c in ("simple_rnn", "lstm", "gru")
        ]
        assert labels == expected
    finally:
        process.kill()
        background._jobs().clear()


def test_a_page_opened_first_starts_the_defaults_and_says_when_it_fills(tmp_path, monkeypatch, fake_jobs):
    root = tmp_path / "runs"
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    code = (
        "from dashboard import first_start, forecasts\nfrom dashboard.experiments import runs_root\n"
        "first_start.ensure_started(runs_root())\nforecasts.render()\n"
    )
    app = AppTest.from_string(code, default_timeout=120).run()
    assert not app.exception
    about = {"work_at_start": 0, "workers": DEFAULT_WORKERS}
    assert fake_jobs == [("pipelines.defaults", ["--resume", "--out", str(root.resolve())], about)]
    line = app.info[0].value
    assert line.startswith("The default runs are training in the background: 0 of ")
    assert "This page fills in when `stock-AAPL` lands" in line
    app.run()
    assert len(fake_jobs) == 1  # a rerun watches the running job


def test_a_folder_with_the_users_own_runs_is_not_trained_into_without_a_click(runs, monkeypatch):
    from dashboard import background, first_start

    monkeypatch.setattr(background, "start", lambda *a, **k: pytest.fail("started the default runs"))
    background._jobs().clear()
    assert not first_start.only_defaults(Path(runs["out"]))
    first_start.ensure_started(Path(runs["out"]))


def test_make_runs_server_prints_its_address_opens_a_browser_and_stops_on_ctrl_c(dashboard_runs, tmp_path):
    from dashboard.serve import free_port

    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    port = free_port(8700)
    env = {**os.environ, "VGL_RUNS_DIR": str(dashboard_runs), "DISPLAY": ":0", "BROWSER": str(browser)}
    server = subprocess.Popen(
        [sys.executable, "-m", "dashboard.serve", "--server.port", str(port), "--server.address", "localhost"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a child of `make test &` ignores it
    )
    try:
        for line in server.stdout:  # the event: the line saying where it is
            if line.startswith("The dashboard is at"):
                break
        assert line.strip() == f"The dashboard is at http://localhost:{port} (opened in your browser). Ctrl-C stops it."
        assert opened.read_text().strip() == f"http://localhost:{port}"
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=WAIT) == 0
    finally:
        server.kill()


def test_without_a_display_no_browser_is_started(monkeypatch):
    from dashboard import serve

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(serve.sys, "platform", "linux")
    assert not serve.has_display()
    assert serve.chosen_port(["--server.port", "8600"]) == 8600
    assert serve.chosen_port(["--server.port=8601"]) == 8601
    assert serve.main(["--server.port", "http"]) == 2  # one sentence, no server started
