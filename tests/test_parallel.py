"""Sweeps on a real local Ray (2 CPUs), started by the command itself: the saved results equal the
plain path's, a trial whose worker dies is retried, one that fails is reported while the others are
kept, and --resume trains it. Parsing the parallel options needs no Ray. And --distribute mirrored on
two logical CPU devices trains what one device trains."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from models.experiment_store import load_sweep
from models.run_store import load_run
from pipelines.sweep import main, run_sweep
from pipelines.tasks.adding import AddingConfig

VALUES, SEEDS = [6, 10], [0, 1]
OPTIONS = {"samples": 200, "cells": ["lstm"], **TINY}  # each tiny trial is mostly tracing: one cell
CRASHING, REFUSED = "sweep/length-10-seed1", "sweep/length-6-seed1"


def command(out, *extra) -> list[str]:
    argv = ["--task", "adding", "--over", "length", "--values", *map(str, VALUES), "--seeds", *map(str, SEEDS)]
    argv += ["--name", "sweep", "--out", str(out), "--quiet", "--samples", str(OPTIONS["samples"]), "--cells"]
    argv += OPTIONS["cells"] + [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    return argv + list(extra)


def test_a_sweep_on_ray_saves_what_the_plain_path_saves_and_survives_a_dead_worker(tmp_path, monkeypatch, capsys):
    plain = tmp_path / "plain"
    run_sweep(AddingConfig(name="sweep", out=str(plain), **OPTIONS), "length", VALUES, SEEDS)
    expected, _ = load_sweep(plain / "sweep")

    # The worker training length 10, seed 1 dies on its first attempt; length 6, seed 1 is refused
    # (a folder that is not a run stands where its lstm run goes).
    counter = tmp_path / "attempts"
    monkeypatch.setenv("VGL_TEST_CRASH_AT", f"trial {CRASHING}")
    monkeypatch.setenv("VGL_TEST_CRASH_FILE", str(counter))
    on_ray = tmp_path / "ray"
    blocker = on_ray / REFUSED / "lstm"
    blocker.mkdir(parents=True)
    assert main(command(on_ray, "--workers", "2", "--threads-per-trial", "1")) == 1  # a local Ray of 2 CPUs
    out, err = capsys.readouterr()
    assert "length=10 seed=1: the first attempt failed (its worker died); the retry succeeded." in out
    assert "length=6 seed=1: was refused" in out and "is not a saved run" in out
    assert "1 of 4 trials failed (length=6 seed=1)" in err and "--resume" in err
    assert len(counter.read_text().split()) == 1  # one death, one retry
    kept, _ = load_sweep(on_ray / "sweep")
    survivors = ~((expected["length"] == 6) & (expected["seed"] == 1))
    pd.testing.assert_frame_equal(kept, expected[survivors].reset_index(drop=True), check_exact=True)
    for cell in OPTIONS["cells"]:  # the retried trial's weights too, not only its metrics
        ours, theirs = (load_run(root / CRASHING / cell, root=root).model for root in (on_ray, plain))
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)

    # Once the folder is moved away, --resume (here on the plain path) trains only the missing trial.
    blocker.rmdir()
    assert main(command(on_ray, "--resume")) == 0
    trials, summary = load_sweep(on_ray / "sweep")
    pd.testing.assert_frame_equal(trials, expected, check_exact=True)
    assert summary["seeds"].tolist() == [2, 2]  # both seeds of both lengths


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--workers", "0"], "--workers must be at least 1 (got 0)."),
        (["--workers", "2", "--threads-per-trial", "0"], "--threads-per-trial must be at least 1 (got 0)."),
        (["--threads-per-trial", "2"], "--threads-per-trial applies to parallel trials: add --workers 2 or more."),
        (["--ray-address", " "], "--ray-address is empty"),
    ],
)
def test_bad_parallel_options_are_one_sentence(tmp_path, capsys, extra, message):
    assert main(command(tmp_path / "runs", *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_ray_address_where_nothing_answers_is_one_sentence_at_once_and_frees_the_sweep(tmp_path, capfd):
    with socket.socket() as probe:  # a port nothing listens on once this socket closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    assert main(command(tmp_path / "runs", "--ray-address", f"127.0.0.1:{port}")) == 2
    took = time.monotonic() - started
    err = capfd.readouterr().err  # the file descriptor: Ray's native lines would land here too
    assert f"Could not reach the Ray cluster at 127.0.0.1:{port} (nothing answers at 127.0.0.1:{port}" in err
    assert len(err.strip().splitlines()) == 1, err  # one sentence, none of Ray's retry lines
    assert took < 30, took  # Ray alone retries for 14 minutes
    assert not (tmp_path / "runs").exists()  # the sweep's folder and its lock are gone


def test_the_remedies_take_the_same_parallel_options(tmp_path, capsys):
    from pipelines import remedies

    assert remedies.main(["--workers", "0", "--out", str(tmp_path / "runs")]) == 2
    assert "--workers must be at least 1 (got 0)." in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("options", [{"tbptt": 5}, {"penalty": 1.0, "cells": ["simple_rnn"]}, {"cells": ["esn"]}])
def test_distribute_refuses_what_model_fit_does_not_train(options):
    from data import ConfigError

    with pytest.raises(ConfigError, match="--distribute mirrored trains with model.fit"):
        AddingConfig(distribute="mirrored", **options)


# Two logical CPU devices must be set before TensorFlow starts: a fresh process trains the same
# experiment without and with MirroredStrategy.
MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from models.distribution import mirrored_strategy
from pipelines.experiment import run_experiment
from pipelines.tasks.adding import AddingConfig
tables = {}
for distribute in ("none", "mirrored"):
    config = AddingConfig(distribute=distribute, name=distribute, out=sys.argv[1], **json.loads(sys.argv[2]))
    tables[distribute] = run_experiment(config).table.set_index("model").loc[config.cells].to_dict("index")
print(json.dumps({"replicas": mirrored_strategy().num_replicas_in_sync, "tables": tables}))
"""
TOLERANCE = 1e-4  # relative: two half-batches' gradients summed differ from one batch's by float32 rounding


def test_mirrored_training_on_two_devices_matches_one_device(tmp_path):
    options = {"length": 10, "samples": 200, "cells": ["lstm"], **{**TINY, "epochs": 2}}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(tmp_path), json.dumps(options)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["replicas"] == 2
    single, mirrored = found["tables"]["none"]["lstm"], found["tables"]["mirrored"]["lstm"]
    assert single.keys() == mirrored.keys()
    for key, value in single.items():
        assert mirrored[key] == pytest.approx(value, rel=TOLERANCE, nan_ok=True), key  # NaN: never solved
    runs = [load_run(tmp_path / name / "lstm", root=tmp_path) for name in ("none", "mirrored")]
    assert runs[1].config["distribute"] == "mirrored"  # a plain Keras model, loadable without the strategy
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=TOLERANCE, atol=1e-6)
