"""Shared test setup: quiet TensorFlow, an isolated price cache, and no network for data tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


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
