"""Regression tests for the defects a probe of the command lines found: runs named after the wrong
series, tables that dropped cells, resumes that mixed configurations, writes outside --out,
diverged runs lost, and text generation that hid unknown characters."""

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from data import ConfigError, RunError, load_prices
from models import load_run
from models.experiment_store import load_experiment
from pipelines import predict, sweep, train
from pipelines.experiment import run_experiment
from pipelines.tasks.adding import AddingConfig
from pipelines.tasks.stock import StockConfig

ADDING = dict(length=10, samples=300, **TINY)


def test_a_csv_run_is_named_after_its_file_and_forecasts_its_own_series(tmp_path, capsys):
    csv = tmp_path / "my prices.csv"
    load_prices("MSFT", "2011-01-01", source="bundled").reset_index()[["Date", "Close"]].to_csv(csv, index=False)
    config = StockConfig(source=str(csv), lookback=10, cells=["lstm"], out=str(tmp_path / "runs"), **TINY)
    assert config.ticker == "my-prices" and config.experiment_name() == "stock-my-prices"
    result = run_experiment(config)
    run = result.runs["lstm"]
    assert json.loads((run / "run.json").read_text())["config"]["ticker"] == "my-prices"
    assert predict.main([str(run), "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert "forecasts my prices.csv" in out and f"prices from {csv}" in out  # its own CSV, not bundled AAPL
    csv.rename(tmp_path / "moved.csv")
    assert predict.main([str(run)]) == 2
    assert "--csv FILE" in capsys.readouterr().err  # never a silent switch to another series
    assert predict.main([str(run), "--ticker", "AAPL", "--source", "bundled", "--show", "1"]) == 0
    assert "trained on my-prices: another series, as asked" in capsys.readouterr().out


def test_resume_and_added_cells_merge_the_table_never_drop(tmp_path):
    out = str(tmp_path)
    run_experiment(AddingConfig(cells=["simple_rnn", "lstm", "gru"], out=out, **ADDING))
    resumed = run_experiment(AddingConfig(out=out, **ADDING), resume=True)  # default cells: no gru
    assert list(resumed.table["model"]) == ["simple_rnn", "lstm", "gru", "predict-the-mean"]
    assert list(load_experiment(resumed.path).comparison["model"]) == list(resumed.table["model"])
    only_gru = run_experiment(AddingConfig(cells=["gru"], out=out, **ADDING), overwrite=True)
    assert list(only_gru.table["model"]) == ["simple_rnn", "lstm", "gru", "predict-the-mean"]


def test_a_different_config_is_refused_on_resume_and_when_adding_cells(tmp_path):
    out = str(tmp_path)
    first = run_experiment(AddingConfig(cells=["lstm"], out=out, **ADDING))
    before = first.path.joinpath("lstm", "run.json").read_bytes()
    for cells, resume in ((["lstm"], True), (["gru"], False), (["gru"], True)):
        with pytest.raises(ConfigError, match=r"other options \(--units 4 there, 8 here\)"):
            run_experiment(AddingConfig(cells=cells, out=out, **{**ADDING, "units": 8}), resume=resume)
    with pytest.raises(ConfigError, match="other options"):  # --overwrite of gru would leave lstm's old options
        run_experiment(AddingConfig(cells=["gru"], out=out, **{**ADDING, "units": 8}), overwrite=True)
    assert first.path.joinpath("lstm", "run.json").read_bytes() == before
    assert not first.path.joinpath("gru").exists()


def test_a_folder_that_is_not_a_run_is_never_replaced(tmp_path):
    """The probe's worst case: --resume (or --overwrite) renamed aside and deleted a cell folder
    without run.json, and a run.json handed over could point `out` anywhere."""
    victim = tmp_path / "victim" / "adding-T10"
    (victim / "lstm").mkdir(parents=True)
    (victim / "lstm" / "important.txt").write_text("keep me")
    for flag in ("resume", "overwrite"):
        with pytest.raises(RunError, match="exists but is not a saved run"):
            run_experiment(AddingConfig(cells=["lstm"], out=str(tmp_path / "victim"), **ADDING), **{flag: True})
    assert (victim / "lstm" / "important.txt").read_text() == "keep me"
    assert sorted(p.name for p in victim.rglob("*")) == ["important.txt", "lstm"]


def test_a_handed_over_run_json_never_chooses_where_runs_are_written(tmp_path):
    hostile = tmp_path / "run.json"
    config = {"task": "adding", "cells": ["lstm"], "epochs": 1, "units": 4, "length": 10, "samples": 300}
    hostile.write_text(json.dumps({"config": {**config, "out": str(tmp_path / "victim"), "name": "x"}}))
    args = train.build_parser().parse_args(["--config", str(hostile), "--out", str(tmp_path / "mine")])
    assert train.config_from_args(args).out == str(tmp_path / "mine")
    args = train.build_parser().parse_args(["--config", str(hostile)])
    assert train.config_from_args(args).out == "runs"  # the default, never the file's


def test_a_diverged_run_is_saved_as_a_result_and_a_sweep_goes_on(tmp_path, capsys):
    args = ["--task", "adding", "--length", "10", "--samples", "300", "--epochs", "3", "--units", "4", "--cells"]
    args += ["simple_rnn", "--learning-rate", "1e38", "--name", "adding-T10", "--out", str(tmp_path), "--quiet"]
    assert train.main(args) == 0
    out = capsys.readouterr().out
    assert "the loss diverged at epoch 1; lower --learning-rate or add --clipnorm" in out
    run = load_run(tmp_path / "adding-T10" / "simple_rnn")
    assert np.isnan(run.metrics["test_mse"]) and run.metrics["diverged_epoch"] == 1 and len(run.history) == 1
    sweep_args = ["--task", "adding", "--over", "learning_rate", "--values", "1e38", "0.01", "--seeds", "0"]
    sweep_args += ["--cells", "simple_rnn", "--length", "10", "--samples", "300", "--epochs", "1", "--units", "4"]
    assert sweep.main([*sweep_args, "--name", "sweep-adding-learning_rate", "--out", str(tmp_path), "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "sweep-adding-learning_rate" / "trials.csv")
    assert np.isnan(table.loc[0, "test_mse"]) and table.loc[1, "test_mse"] < 1  # the next trial still ran


def test_sweep_resumes_skipping_saved_trials(tmp_path, capsys):
    args = ["--task", "adding", "--over", "gain", "--values", "0.5", "1.5", "--seeds", "0", "--cells", "lstm"]
    args += ["--length", "10", "--samples", "300", "--epochs", "1", "--units", "4", "--out", str(tmp_path), "--quiet"]
    args += ["--name", "sweep-adding-gain"]  # a name given is refused when taken (an unnamed sweep gets a new one)
    assert sweep.main(args) == 0
    first = (tmp_path / "sweep-adding-gain" / "gain-0.5-seed0" / "lstm" / "run.json").read_bytes()
    assert sweep.main(args) == 2 and "--resume" in capsys.readouterr().err
    assert sweep.main([*args, "--resume"]) == 0
    assert (tmp_path / "sweep-adding-gain" / "gain-0.5-seed0" / "lstm" / "run.json").read_bytes() == first


def test_defaults_resume_what_an_interrupted_first_run_left(tmp_path, monkeypatch, capsys):
    from pipelines import defaults

    small = [AddingConfig(cells=["lstm", "gru"], out=str(tmp_path), **ADDING)]
    monkeypatch.setattr(defaults, "default_configs", lambda out: small)
    sweep = AddingConfig(cells=["lstm"], name="tiny-sweep", out=str(tmp_path), **{**ADDING, "length": 6})
    monkeypatch.setattr(defaults, "default_sweeps", lambda out: [defaults.DefaultSweep(sweep, "length", [6, 8], [0])])
    run_experiment(AddingConfig(cells=["lstm"], out=str(tmp_path), **ADDING))  # as if stopped after lstm
    assert defaults.unfinished(small) == small
    assert defaults.main(["--out", str(tmp_path), "--resume", "--workers", "1"]) == 0
    assert defaults.unfinished(small) == [] and defaults.defaults_complete(str(tmp_path))
    assert list(load_experiment(tmp_path / "adding-T10").comparison["model"]) == ["lstm", "gru", "predict-the-mean"]
    assert defaults.main(["--out", str(tmp_path), "--resume", "--workers", "1"]) == 0
    assert "are complete" in capsys.readouterr().out


def test_text_prompts_default_to_the_corpus_and_unknown_characters_are_named(runs, capsys):
    run = runs["text"].runs["lstm"]
    prompt = json.loads((run / "run.json").read_text())["outputs"]["prompt"]
    assert prompt and "ROMEO" not in prompt
    assert predict.main([str(run), "--length", "5"]) == 0
    assert capsys.readouterr().out.startswith(prompt)
    assert predict.main([str(run), "--prompt", "Ωmega€", "--length", "5"]) == 0
    captured = capsys.readouterr()
    assert "'Ω', '€'" in captured.err and captured.err.count("note:") == 1


def test_comparison_counts_are_whole_numbers_and_no_empty_backup_is_left(runs):
    experiment = runs["adding"].path
    text = (experiment / "comparison.csv").read_text()
    params = pd.read_csv(experiment / "comparison.csv")["params"].dropna()
    assert len(params) == 3 and all(f",{int(p)}," in text for p in params) and ".0," not in text.split("\n")[1]
    assert not (experiment / ".backup").exists()


def test_the_keras_floor_excludes_releases_with_safe_mode_bypasses():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    line = next(line for line in text.splitlines() if '"keras>=' in line)
    floor = line.split(">=")[1].split('"')[0]
    # 3.9.0 fixed CVE-2025-1550, 3.11.0 CVE-2025-8747 and -9906, 3.11.3 CVE-2025-9905, 3.13.2 CVE-2026-0897
    assert tuple(int(part) for part in floor.split(".")) >= (3, 13, 2)


def test_a_copied_experiment_keeps_working(runs, tmp_path):
    """Nothing in an experiment depends on where it lies: a copy loads and verifies."""
    copy = tmp_path / "copy"
    shutil.copytree(runs["adding"].path, copy)
    assert set(load_experiment(copy, with_gradients=True).runs) == {"simple_rnn", "lstm", "gru"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder, so the refusal would be wrong")
def test_a_read_only_out_is_refused_before_training(tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    assert train.main(["--task", "adding", "--out", str(folder / "runs"), "--quiet"]) == 2
    assert "cannot be written" in capsys.readouterr().err and not any(folder.iterdir())


def test_ctrl_c_in_predict_does_not_suggest_resume(monkeypatch, capsys):
    import models

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "load_run", interrupted)
    assert predict.main(["runs/any/lstm"]) == 130
    err = capsys.readouterr().err
    assert "nothing was written" in err and "--resume" not in err


def test_repeating_a_source_auto_run_reads_the_data_it_actually_used(tmp_path):
    info = {
        "config": {"task": "stock", "source": "auto", "cell": "lstm"},
        "preprocessing": {"data": {"source": "bundled"}},
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(info))
    assert train.saved_config(path)["source"] == "bundled"
    info["preprocessing"]["data"]["source"] = "cache"  # downloaded earlier: read it through yfinance's cache
    path.write_text(json.dumps(info))
    assert train.saved_config(path)["source"] == "yfinance"


def test_the_dashboard_caps_uploads_and_listens_on_localhost_only():
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost" and config["server"]["maxUploadSize"] <= 10


@pytest.mark.parametrize(
    "where, code, words",
    [
        ("state", errno.ENOSPC, "No space is left on the disk: free some space, then rerun (with --resume"),
        ("state", errno.EROFS, "The file system is read-only: choose another --out or make it writable, then rerun"),
        ("run", errno.ENOSPC, "No space is left on the disk"),
    ],
)
def test_a_full_or_read_only_disk_mid_training_is_one_sentence_and_resumable(
    tmp_path, monkeypatch, capsys, where, code, words
):
    """The disk fills (or turns read-only) while the second epoch's state or the finished run is written:
    one sentence, exit 2, the last finished epoch's state intact, and --resume finishes the run."""
    from contextlib import contextmanager

    import models.training_state
    import pipelines.experiment
    from models.experiment_store import training_state_path
    from models.training_state import peek_training_state

    real_write, real_save = models.training_state.atomic_write, pipelines.experiment.save_run
    writes = []

    @contextmanager
    def failing_write(path, mode="w", **kwargs):
        writes.append(path)
        with real_write(path, mode, **kwargs) as handle:
            if len(writes) == 2:  # the second epoch's state: fails half-way, as a full disk does
                handle.write(b"PK\x03\x04 half a state")
                raise OSError(code, os.strerror(code))
            yield handle

    def failing_save(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    if where == "state":
        monkeypatch.setattr(models.training_state, "atomic_write", failing_write)
    else:
        monkeypatch.setattr(pipelines.experiment, "save_run", failing_save)
    args = ["--task", "adding", "--length", "10", "--samples", "300", "--epochs", "2", "--units", "4", "--cells"]
    args += ["lstm", "--out", str(tmp_path / "runs"), "--name", "adding-T10", "--quiet"]
    assert train.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and words in err, err
    experiment = tmp_path / "runs" / "adding-T10"
    state = peek_training_state(training_state_path(experiment, "lstm"))
    assert state is not None and state.epochs_done == (1 if where == "state" else 2)
    assert not (experiment / "lstm").exists()  # no run that looks finished
    assert not [p for p in experiment.rglob("*") if ".tmp" in p.name]  # no temporary file left behind
    monkeypatch.setattr(models.training_state, "atomic_write", real_write)
    monkeypatch.setattr(pipelines.experiment, "save_run", real_save)
    assert train.main([*args, "--resume"]) == 0
    run = load_run(experiment / "lstm")
    assert len(run.history) == 2 and not (experiment / ".backup").exists()


def test_a_file_name_a_folder_cannot_hold_gives_a_valid_default_name():
    """A corpus "my corpus.txt" was refused as "experiment name 'text-my corpus' is not a plain folder
    name" though no --name was given; the default is derived from the file's name, made plain."""
    from models.experiment_store import check_name
    from pipelines.tasks.text import TextConfig

    parse = train.build_parser().parse_args
    assert train.config_from_args(parse(["--task", "text", "--corpus", "my corpus.txt"])).experiment_name() == (
        "text-my-corpus"
    )
    names = [
        TextConfig(corpus="/data/Gedichte für Ühland (2).txt").experiment_name(),
        TextConfig(corpus="x" * 300 + ".txt").experiment_name(),
        TextConfig(corpus="  .txt").experiment_name(),
        StockConfig(ticker="^GSPC").experiment_name(),
        StockConfig(source="/data/$$$ prices.csv").experiment_name(),
    ]
    assert names[0] == "text-Gedichte-f-r-hland-2" and names[3] == "stock-GSPC" and names[4] == "stock-prices"
    assert all(check_name(name) == name for name in names) and len(names[1]) == 100
