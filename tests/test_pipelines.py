"""The pipelines end to end on tiny settings: train every task, evaluate honestly, repeat,
resume, sweep and predict; bad input exits with status 2 and one sentence."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from models import load_run
from pipelines.config import AddingConfig, StockConfig, TextConfig
from pipelines.train import run_experiment

TINY = {"epochs": 1, "units": 4, "batch_size": 32, "log_every": 5, "probe_size": 8}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs"))
    stock = run_experiment(StockConfig(start="2011-01-01", lookback=10, folds=2, out=out, **TINY))
    text = run_experiment(TextConfig(max_chars=3000, seq_len=10, embedding_dim=4, out=out, **TINY))
    adding = run_experiment(AddingConfig(length=10, samples=300, cells=["simple_rnn", "lstm", "gru"], out=out, **TINY))
    return {"stock": stock, "text": text, "adding": adding, "out": out}


def test_stock_run_compares_cells_with_naive_and_ridge(runs):
    table = runs["stock"].table.set_index("model")
    assert set(table.index) == {"simple_rnn", "lstm", "naive", "ridge"}
    assert table.loc["naive", "mase"] == pytest.approx(1.0)
    assert {"mae", "rmse", "mape", "directional_accuracy", "fold_mase_mean", "fold_mase_std"} <= set(table.columns)
    assert np.isfinite(table["fold_mase_mean"]).all()
    run = load_run(runs["stock"].runs["lstm"])
    assert list(run.predictions.columns) == ["date", "previous_close", "actual", "naive", "ridge", "lstm"]
    assert run.preprocessing["data"]["source"] == "bundled"
    assert (runs["stock"].path / "comparison.csv").is_file()
    merged = pd.read_csv(runs["stock"].path / "predictions.csv")
    assert list(merged.columns) == ["date", "previous_close", "actual", "naive", "ridge", "simple_rnn", "lstm"]
    np.testing.assert_allclose(merged["lstm"], run.predictions["lstm"])


def test_mae_and_mase_recomputed_from_predictions_match_run_json(runs):
    for cell, path in runs["stock"].runs.items():
        run = load_run(path)
        p = run.predictions
        mae = np.mean(np.abs(p["actual"].to_numpy() - p[cell].to_numpy()))
        naive_mae = np.mean(np.abs(p["actual"].to_numpy() - p["previous_close"].to_numpy()))
        assert run.metrics["mae"] == pytest.approx(mae, rel=1e-9)
        assert run.metrics["mase"] == pytest.approx(mae / naive_mae, rel=1e-9)
        # naive really is yesterday's close, and the test days are the last days of the data
        np.testing.assert_array_equal(p["naive"], p["previous_close"])
        assert p["date"].iloc[-1] == "2013-03-01"


def test_text_run_reports_bits_per_character_and_samples(runs):
    table = runs["text"].table.set_index("model")
    assert {"simple_rnn", "lstm", "unigram"} == set(table.index)
    assert 0 < table.loc["lstm", "val_bpc"] < 10
    run = load_run(runs["text"].runs["lstm"])
    assert set(run.preprocessing["samples"]) == {"0.5", "1.0"}
    assert len(run.preprocessing["samples"]["1.0"]) == 10 + 200  # prompt + generated


def test_adding_run_reports_mse_against_one_sixth(runs):
    table = runs["adding"].table.set_index("model")
    assert table.loc["predict-the-mean", "test_mse"] == pytest.approx(1 / 6)
    for cell in ("simple_rnn", "lstm", "gru"):
        run = load_run(runs["adding"].runs[cell])
        assert run.metrics["solved"] == (run.metrics["test_mse"] < 0.01)
        assert run.gradients[f"h_grad_norm/{cell}_1"].shape[1] == 10
        assert 0 <= run.metrics["gradient_horizon"] <= 9


def test_same_seed_gives_the_same_metrics(tmp_path):
    config = dict(length=10, samples=300, cells=["lstm"], **TINY)
    reports = []
    first = run_experiment(
        AddingConfig(out=str(tmp_path / "a"), **config), report=lambda f, m: reports.append((f, m))
    ).table
    second = run_experiment(AddingConfig(out=str(tmp_path / "b"), **config)).table
    pd.testing.assert_frame_equal(first, second)
    # the progress hook (for callers such as a dashboard) reports each epoch, ending at 100%
    assert [f for f, _ in reports] == [1.0] and reports[0][1].startswith("lstm: epoch 1/1 loss")


def test_config_file_repeats_a_run_exactly(runs, tmp_path):
    run_json = runs["adding"].runs["gru"] / "run.json"
    repeated = cli("pipelines.train", "--config", str(run_json), "--out", str(tmp_path), "--quiet")
    assert repeated.returncode == 0, repeated.stderr
    original = json.loads(run_json.read_text())["metrics"]
    again = json.loads((tmp_path / "adding-T10" / "gru" / "run.json").read_text())["metrics"]
    assert again["test_mse"] == original["test_mse"]


def test_resume_continues_after_an_interruption(tmp_path, monkeypatch):
    from pipelines import progress

    original = progress.FitProgress.on_epoch_end

    def interrupt_after_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            raise KeyboardInterrupt

    config = AddingConfig(length=10, samples=300, cells=["lstm"], out=str(tmp_path), **{**TINY, "epochs": 3})
    monkeypatch.setattr(progress.FitProgress, "on_epoch_end", interrupt_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config)
    assert not (tmp_path / "adding-T10" / "lstm").exists()  # nothing half-written
    monkeypatch.setattr(progress.FitProgress, "on_epoch_end", original)
    started = []
    monkeypatch.setattr(
        progress.FitProgress,
        "on_epoch_begin",
        lambda self, epoch, logs=None: started.append(epoch) or setattr(self, "_epoch", epoch),
    )
    run_experiment(config, resume=True)
    assert started == [1, 2]  # epoch 0 was not trained again
    run = load_run(tmp_path / "adding-T10" / "lstm")
    assert len(run.history) == 3


def test_sweep_tabulates_mean_spread_horizon_and_gradient_norm(tmp_path):
    result = cli("pipelines.sweep", "--over", "gain", "--values", "0.5", "2.0", "--seeds", "0", "1", "--cells", "simple_rnn",
                 "--length", "10", "--samples", "300", "--epochs", "1", "--units", "4", "--out", str(tmp_path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "sweep-adding-gain" / "sweep.csv")
    assert list(table["gain"]) == [0.5, 2.0] and (table["seeds"] == 2).all()
    assert {"test_mse_mean", "test_mse_std", "horizon_mean", "max_grad_norm"} <= set(table.columns)
    # a small recurrent gain shortens the gradient's reach; a large one enlarges gradients
    assert table.loc[0, "horizon_mean"] < table.loc[1, "horizon_mean"]
    assert table.loc[0, "max_grad_norm"] < table.loc[1, "max_grad_norm"]


def test_predict_forecasts_and_generates(runs):
    stock = cli("pipelines.predict", str(runs["stock"].runs["lstm"]), "--show", "3")
    assert stock.returncode == 0, stock.stderr
    assert "2013-03-01" in stock.stdout and "next" in stock.stdout
    text = cli("pipelines.predict", str(runs["text"].runs["lstm"]), "--prompt", "HAMLET:", "--length", "20")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("HAMLET:") and len(text.stdout.rstrip("\n")) >= len("HAMLET:") + 20
    adding = cli("pipelines.predict", str(runs["adding"].runs["gru"]), "--samples", "50")
    assert adding.returncode == 0, adding.stderr
    assert "50 fresh sequences of length 10" in adding.stdout and "predicting the mean: 0.16667" in adding.stdout


def cli(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "stock", "--ticker", "ZZZZ"], "No bundled prices for 'ZZZZ'"),
        (["--task", "adding", "--cells", "lstm", "transformer"], "Unknown cell transformer"),
        (["--task", "stock", "--lookback", "5000"], "lookback"),
        (["--task", "text", "--corpus", "missing.txt"], "No corpus 'missing.txt'"),
        (["--task", "stock", "--start", "2010-05-01", "--end", "2010-01-01"], "date range is empty"),
        (["--task", "adding", "--epochs", "many"], "invalid int value: 'many'"),
        (["--task", "adding", "--ticker", "AAPL"], "--ticker does not apply to --task adding"),
    ],
)
def test_bad_input_exits_2_with_one_sentence_and_creates_nothing(tmp_path, args, message):
    result = cli("pipelines.train", *args, "--out", str(tmp_path / "runs"), "--quiet")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_existing_run_is_left_alone_without_overwrite(runs):
    run_json = runs["adding"].runs["lstm"] / "run.json"
    before = run_json.read_bytes()
    result = cli(
        "pipelines.train",
        "--task",
        "adding",
        "--length",
        "10",
        "--samples",
        "300",
        "--cells",
        "lstm",
        "--out",
        runs["out"],
        "--quiet",
    )
    assert result.returncode == 2 and "--overwrite" in result.stderr and "Traceback" not in result.stderr
    assert run_json.read_bytes() == before


def test_predict_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = cli("pipelines.predict", str(tmp_path))
    assert result.returncode == 2 and "no run.json" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["pipelines.train", "pipelines.sweep", "pipelines.predict", "pipelines.defaults"])
def test_every_command_has_help(module):
    result = cli(module, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m " + module)


def test_sweep_summary_keeps_the_no_clipping_row():
    from pipelines.sweep import summarise

    trials = pd.DataFrame(
        {
            "clipnorm": [None, None, 1.0, 1.0],
            "seed": [0, 1, 0, 1],
            "cell": ["simple_rnn"] * 4,
            "test_mse": [0.2, 0.4, 0.1, 0.3],
            "gradient_horizon": [5, 7, 9, 11],
            "gradient_decay": [0.5, 0.7, 0.9, 1.1],
            "max_global_grad_norm": [10.0, 50.0, 3.0, 4.0],
        }
    )
    table = summarise(trials, "clipnorm", "test_mse")
    assert len(table) == 2 and np.isnan(table.loc[0, "clipnorm"])
    assert table.loc[0, "test_mse_mean"] == pytest.approx(0.3) and table.loc[0, "max_grad_norm"] == 50.0
    assert table.loc[1, "horizon_mean"] == 10 and table.loc[1, "seeds"] == 2


def test_fold_scaling_sees_only_the_folds_past():
    import json as json_module

    from pipelines.tasks import stock_arrays

    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 400)))
    config = StockConfig(lookback=10)
    pre, X, y, target_day = stock_arrays(close, config, train_end=150)
    changed = close.copy()
    changed[150:] *= 3  # the future moves; the scaling fitted on the past must not
    pre_changed, *_ = stock_arrays(changed, config, train_end=150)
    assert pre == pre_changed
    mean = json_module.loads(pre["feature_scaler"])["mean"][0]
    assert mean == pytest.approx(np.mean(np.diff(np.log(close[:150]))))
    assert len(X) == len(y) == len(target_day) == 400 - 1 - 10
