"""Faults and concurrency: a training interrupted (SIGINT, SIGTERM) or killed (SIGKILL) mid-epoch or
inside a run's save window, and a second writer while the first holds the experiment. Nothing
half-written ever looks finished, earlier runs stay intact, and --resume then finishes with exactly
the metrics and gradient log of an uninterrupted run with the same seed.

The training process stops at a named point (models/faults.py) so each fault lands where it must.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from data import RunError
from models import load_run
from models.experiment_store import list_experiments, load_experiment
from pipelines.experiment import run_experiment
from pipelines.tasks.adding import AddingConfig

CONFIG = dict(length=10, samples=300, cells=["lstm"], **{**TINY, "epochs": 3})
ARGS = ["--task", "adding", "--length", "10", "--samples", "300", "--cells", "lstm", "--epochs", "3", "--units", "4"]
ARGS += ["--batch-size", "32", "--log-every", "5", "--probe-size", "8", "--name", "adding-T10", "--quiet"]
WAIT = 300  # s: the ceiling on any wait for the training process; the polls themselves are short


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def default_sigint() -> None:
    """In the child before exec: Ctrl-C's default disposition. A suite started in the background by a
    script (`make test &`) inherits SIGINT ignored, and an ignored signal stays ignored across exec, so
    the training would never see the SIGINT these tests send (subprocess's restore_signals omits it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_paused(out: Path, point: str, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """Start `pipelines.train` in a fresh process and wait until it stops at `point`."""
    flag = tmp_path / f"paused-{abs(hash(point))}"
    env = {**os.environ, "VGL_TEST_PAUSE_AT": point, "VGL_TEST_PAUSE_FILE": str(flag)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.train", *ARGS, "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + WAIT
    while not flag.exists():  # the training writes the flag when it reaches the point
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the training never reached {point!r} in {WAIT} s: {process.communicate()[1]}")
        time.sleep(0.1)
    return process, flag


def stopped(process: subprocess.Popen) -> str:
    """Wait for the signalled training to exit and return its stderr; a clear failure if it never does."""
    try:
        return process.communicate(timeout=WAIT)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the training did not exit within {WAIT} s of the signal: {process.communicate()[1]}")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same experiment trained in one go."""
    result = run_experiment(AddingConfig(out=str(tmp_path_factory.mktemp("whole")), **CONFIG))
    return result.table, load_run(result.runs["lstm"])


def assert_same_as_uninterrupted(out: Path, uninterrupted):
    table, reference = uninterrupted
    resumed = run_experiment(AddingConfig(out=str(out), **CONFIG), resume=True)
    pd.testing.assert_frame_equal(resumed.table, table)
    run = load_run(resumed.runs["lstm"])
    assert len(run.history) == 3
    for key in ("step", "epoch", "h_grad_norm/lstm_1", "global_grad_norm"):
        np.testing.assert_array_equal(run.gradients[key], reference.gradients[key])  # the whole training
    assert not (out / "adding-T10" / ".backup").exists() and not (out / "adding-T10" / ".lock").exists()


def test_sigint_mid_epoch_says_resume_and_resume_repeats_the_uninterrupted_run(tmp_path, uninterrupted):
    out = tmp_path / "runs"
    process, _ = start_paused(out, "epoch 1 batch 3", tmp_path)
    process.send_signal(signal.SIGINT)
    err = stopped(process)
    assert process.returncode == 130
    assert "interrupted:" in err and "--resume" in err and "Traceback" not in err
    assert not (out / "adding-T10" / "lstm").exists()  # nothing looks finished
    assert not (out / "adding-T10" / ".lock").exists()  # released on the way out
    assert_same_as_uninterrupted(out, uninterrupted)


def test_sigterm_stops_tidily_with_the_same_advice(tmp_path):
    process, _ = start_paused(tmp_path / "runs", "epoch 0 batch 2", tmp_path)
    process.send_signal(signal.SIGTERM)
    err = stopped(process)
    assert process.returncode == 130 and "rerun with --resume" in err and "Traceback" not in err


def test_sigkill_mid_epoch_then_resume_repeats_the_uninterrupted_run(tmp_path, uninterrupted):
    out = tmp_path / "runs"
    process, _ = start_paused(out, "epoch 2 batch 1", tmp_path)
    process.kill()
    process.wait(timeout=WAIT)
    assert (out / "adding-T10" / ".lock").exists()  # a killed process cannot clean up...
    assert list_experiments(out) == []  # ...but nothing it left is listed as an experiment
    assert_same_as_uninterrupted(out, uninterrupted)  # ...and its stale lock is taken over


def test_sigkill_in_the_save_window_with_a_second_writer_and_a_reader(tmp_path, uninterrupted, capsys):
    """While one training sits inside save_run (files written, not yet renamed into place): a second
    training of the same experiment is refused, another experiment trains, the store reads cleanly.
    Then the first is killed there: no run looks finished, earlier runs are intact, resume finishes."""
    from pipelines import train

    out = tmp_path / "runs"
    earlier = run_experiment(AddingConfig(out=str(out), name="earlier", **{**CONFIG, "epochs": 1}))
    earlier_files = tree_digest(earlier.path)
    process, _ = start_paused(out, "save", tmp_path)
    try:
        assert train.main([*ARGS, "--out", str(out)]) == 2
        assert "is being written by another training (process" in capsys.readouterr().err
        assert train.main([*ARGS, "--out", str(out), "--name", "other"]) == 0  # a different experiment
        assert list_experiments(out) == ["earlier", "other"]  # the one being saved is not listed yet
        assert set(load_experiment(out / "other", with_gradients=True).runs) == {"lstm"}
        assert dashboard_renders(out, capsys)  # the dashboard reads on while the save is under way
    finally:
        process.kill()
        process.wait(timeout=WAIT)
    assert not (out / "adding-T10" / "lstm").exists()
    with pytest.raises(RunError, match="no run.json|No run folder"):
        load_run(out / "adding-T10" / "lstm")
    assert tree_digest(earlier.path) == earlier_files
    assert_same_as_uninterrupted(out, uninterrupted)
    assert not [p for p in (out / "adding-T10").iterdir() if p.name.startswith(".lstm")]  # leftovers cleared


def dashboard_renders(root: Path, capsys) -> bool:
    from streamlit.testing.v1 import AppTest

    def page():
        from dashboard import gradient_flow

        gradient_flow.render()

    previous = os.environ.get("VGL_RUNS_DIR")
    os.environ["VGL_RUNS_DIR"] = str(root)
    try:
        app = AppTest.from_function(page, default_timeout=WAIT).run()
    finally:
        os.environ.pop("VGL_RUNS_DIR") if previous is None else os.environ.__setitem__("VGL_RUNS_DIR", previous)
    charts = [str(chart.proto.spec) for chart in app.get("plotly_chart")]
    return not app.exception and not app.error and "heatmap" in charts[0] and len(charts) >= 5


def test_sigint_in_the_save_window_leaves_no_run_and_resume_finishes(tmp_path, uninterrupted):
    out = tmp_path / "runs"
    process, _ = start_paused(out, "save", tmp_path)
    process.send_signal(signal.SIGINT)
    err = stopped(process)
    assert process.returncode == 130 and "--resume" in err and "Traceback" not in err
    assert not (out / "adding-T10" / "lstm").exists()  # the half-saved folder was removed on the way out
    assert not [p for p in (out / "adding-T10").iterdir() if p.name.startswith(".lstm")]
    assert_same_as_uninterrupted(out, uninterrupted)
