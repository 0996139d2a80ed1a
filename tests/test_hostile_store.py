"""The experiment store against what happens around it: a sweep is never deleted while a training
writes one of its trials (each trial holds a lock of its own), and a download never packs a hard link
(a name for a file from anywhere on the same disk)."""

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data import RunError
from models.experiment_store import LOCK, delete_experiment, experiment_archive

HOLD = """import sys
from pathlib import Path
from models.experiment_store import experiment_lock
with experiment_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes it
"""


def a_sweep(root: Path) -> Path:
    """A sweep folder (its tables) with two trials, each an experiment with a run folder."""
    sweep = root / "sweep"
    for trial in ("length-6-seed0", "length-10-seed0"):
        (sweep / trial / "lstm").mkdir(parents=True)
        (sweep / trial / "comparison.csv").write_text("model\nlstm\n")
        (sweep / trial / "lstm" / "run.json").write_text("{}")
    (sweep / "sweep.csv").write_text("cell\nlstm\n")
    (sweep / "trials.csv").write_text("cell\nlstm\n")
    return sweep


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_sweep_is_not_deleted_while_a_training_writes_one_of_its_trials(tmp_path):
    sweep = a_sweep(tmp_path / "runs")
    trial = sweep / "length-10-seed0"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(trial)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )  # another process, as a training is (the lock is reentrant within one)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = contents(sweep)
        with pytest.raises(RunError) as error:
            delete_experiment(tmp_path / "runs", "sweep")
        message = str(error.value)
        assert message == (
            f"{trial} is being written by a training (process {holder.pid}): wait for it to finish or cancel it, "
            "then delete sweep; nothing was deleted."
        )
        assert contents(sweep) == before  # the trial's lock file is the holder's: nothing else changed
        assert not (sweep / "length-6-seed0" / LOCK).exists()  # the free trial's lock was let go again
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    delete_experiment(tmp_path / "runs", "sweep")  # once the training is done
    assert os.listdir(tmp_path / "runs") == []


def test_a_plain_experiment_nobody_writes_is_deleted_whole(tmp_path):
    experiment = tmp_path / "runs" / "adding"
    (experiment / "lstm").mkdir(parents=True)
    (experiment / "comparison.csv").write_text("model\nlstm\n")
    (experiment / "lstm" / "run.json").write_text("{}")
    delete_experiment(tmp_path / "runs", "adding")
    assert os.listdir(tmp_path / "runs") == []


def an_experiment(root: Path) -> Path:
    experiment = root / "adding"
    (experiment / "lstm").mkdir(parents=True)
    (experiment / "comparison.csv").write_text("model\nlstm\n")
    (experiment / "lstm" / "history.csv").write_text("epoch,loss\n0,1.0\n")
    return experiment


@pytest.mark.parametrize("inside", [False, True])
def test_a_hard_link_is_never_packed(tmp_path, inside):
    experiment = an_experiment(tmp_path / "runs")
    target = experiment / "lstm" / "history.csv" if inside else tmp_path / "secret.txt"
    target.write_text("not the experiment's to give")
    os.link(target, experiment / "notes.csv")
    with pytest.raises(RunError) as error:
        experiment_archive(tmp_path / "runs", "adding")
    assert str(error.value) == (
        f"{experiment / ('lstm/history.csv' if inside else 'notes.csv')} is a hard link (2 names for one file), so it "
        "may be a file from outside adding: nothing was packed; replace it with a copy of its own or remove it."
    )
    (experiment / "notes.csv").unlink()
    packed = zipfile.ZipFile(io.BytesIO(experiment_archive(tmp_path / "runs", "adding")))
    assert sorted(packed.namelist()) == ["adding/comparison.csv", "adding/lstm/history.csv"]
    assert packed.read("adding/comparison.csv") == b"model\nlstm\n"


def test_the_runs_page_says_why_it_cannot_pack_a_hard_link(tmp_path, monkeypatch):
    experiment = an_experiment(tmp_path / "runs")
    (tmp_path / "secret.txt").write_text("not the experiment's to give")
    os.link(tmp_path / "secret.txt", experiment / "notes.csv")
    monkeypatch.setenv("VGL_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_string("from dashboard import runs_page\nruns_page.render()\n", default_timeout=120).run()
    assert not app.exception
    assert any(e.value.startswith(f"{experiment / 'notes.csv'} is a hard link") for e in app.error)
    assert not app.get("download_button")
