"""Shared test setup: quiet TensorFlow, an isolated price cache, and no network for data tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


@pytest.fixture
def fake_jobs(monkeypatch):
    """The dashboard's background.start, recording (module, arguments, about) and registering a job whose
    process sleeps until the test ends (or the test ends it): pages see a training without one running."""
    import subprocess
    import sys

    from dashboard import background

    started = []

    def fake_start(name, module, arguments, about=None):
        started.append((module, arguments, about))
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        job = background.Job(name, [module], process, about=about or {})
        background._jobs()[name] = job
        return job

    background._jobs().clear()
    monkeypatch.setattr(background, "start", fake_start)
    yield started
    for job in background._jobs().values():
        job.process.kill()
    background._jobs().clear()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty yfinance cache, so no test sees another's downloads."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("VGL_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def offline(monkeypatch):
    """Make yfinance behave as it does without a network: an empty frame, no exception."""
    import pandas as pd

    import data.prices

    monkeypatch.setattr(data.prices, "_yfinance_download", lambda *args: pd.DataFrame())


TINY = {"epochs": 1, "units": 4, "batch_size": 32, "log_every": 5, "probe_size": 8}


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """One tiny finished experiment per kind of run (stock with folds, text, adding with every cell),
    shared by the tests that read or use saved runs; none of them may change these."""
    from pipelines.experiment import run_experiment
    from pipelines.tasks.adding import AddingConfig
    from pipelines.tasks.stock import StockConfig
    from pipelines.tasks.text import TextConfig

    out = str(tmp_path_factory.mktemp("runs"))
    stock = run_experiment(StockConfig(start="2011-01-01", lookback=10, folds=2, out=out, **TINY))
    text = run_experiment(TextConfig(max_chars=3000, seq_len=10, embedding_dim=4, out=out, **TINY))
    adding = run_experiment(AddingConfig(length=10, samples=300, cells=["simple_rnn", "lstm", "gru"], out=out, **TINY))
    return {"stock": stock, "text": text, "adding": adding, "out": out}


@pytest.fixture(scope="session")
def dashboard_runs(runs, tmp_path_factory):
    """The runs above plus the Overview's showcase, a tiny adding sweep over two lengths, and two rows of
    the remedies experiment: what the dashboard tests (AppTest and the browser) show."""
    import shutil

    from dashboard.experiments import SHOWCASE
    from pipelines.sweep import run_sweep
    from pipelines.tasks.adding import AddingConfig

    out = tmp_path_factory.mktemp("dashboard") / "runs"
    shutil.copytree(runs["out"], out)
    config = AddingConfig(name=SHOWCASE, samples=300, cells=["simple_rnn", "lstm", "gru"], out=str(out), **TINY)
    run_sweep(config, "length", [6, 10], [0])
    from pipelines.remedies import REMEDIES, run_remedies

    chosen = [remedy for remedy in REMEDIES if remedy.name in ("tbptt-20", "esn")]
    run_remedies("adding", [0], remedies=chosen, out=str(out), epochs=1, samples=60)
    return out
