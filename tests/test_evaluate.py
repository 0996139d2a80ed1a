"""Forecast statistics checked independently: the Diebold-Mariano test (with the Harvey-Leybourne-
Newbold correction) against the `dieboldmariano` package, and "beats naive" only when significant."""

import numpy as np
import pytest
from dieboldmariano import dm_test

from pipelines.evaluate import beats_naive, diebold_mariano, forecast_metrics


@pytest.mark.parametrize("horizon", [1, 3, 5])
def test_diebold_mariano_matches_an_independent_implementation(horizon):
    rng = np.random.default_rng(horizon)
    actual = 100 + np.cumsum(rng.normal(size=250))
    better, worse = actual + rng.normal(scale=1.0, size=250), actual + rng.normal(scale=1.3, size=250)
    ours = diebold_mariano(actual, better, worse, horizon)
    theirs = dm_test(actual, better, worse, loss=lambda u, v: abs(u - v), h=horizon, harvey_correction=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)
    assert ours[0] < 0 and ours[1] < 0.05  # the better forecast has the smaller errors, significantly


def test_a_tie_with_naive_is_not_a_win():
    """The held-out S&P 500 case of the issue: MASE just under 1 by chance is a tie, not a win."""
    rng = np.random.default_rng(0)
    actual = 100 + np.cumsum(rng.normal(size=400))
    previous = np.concatenate([[100.0], actual[:-1]])
    echo = previous + rng.normal(scale=0.02, size=400)  # yesterday's close, give or take a cent
    metrics = forecast_metrics(actual, echo, previous)
    assert metrics["dm_p"] > 0.05
    assert not beats_naive({**metrics, "mase": 0.9997})  # even where MASE reads just under 1
    assert beats_naive({**metrics, "mase": 0.9, "dm_p": 0.01})
    identical = forecast_metrics(actual, previous, previous)
    assert np.isnan(identical["dm_p"]) and not beats_naive(identical)  # naive against itself: nothing to test
