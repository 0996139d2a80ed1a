"""Price loading: bundled snapshot, yfinance with its cache, user CSVs, and every bad input."""

import numpy as np
import pandas as pd
import pytest

from data import DataError, list_bundled_tickers, load_prices
from data.prices import BUNDLED_PRICES


def fake_download(frame, calls):
    def download(ticker, start, end):
        calls.append((ticker, start, end))
        return frame.copy()

    return download


def yfinance_like_frame():
    index = pd.date_range("2021-01-04", periods=10, freq="B", name="Date")
    close = np.linspace(100, 109, 10)
    return pd.DataFrame(
        {"Close": close, "High": close + 1, "Low": close - 1, "Open": close, "Volume": 1000.0}, index=index
    )


def test_bundled_aapl_has_the_documented_rows_and_range():
    prices = load_prices("AAPL", source="bundled")
    assert len(prices) == 3270
    assert prices.index[0] == pd.Timestamp("2000-03-01")
    assert prices.index[-1] == pd.Timestamp("2013-03-01")
    assert list(prices.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert prices.attrs["source"] == "bundled"


@pytest.mark.parametrize("split_day", ["2000-06-21", "2005-02-28"])
def test_bundled_prices_are_split_adjusted(split_day):
    prices = load_prices("AAPL", source="bundled")
    raw = pd.read_csv(BUNDLED_PRICES, parse_dates=["Date"])
    raw = raw[raw.Ticker == "AAPL"].set_index("Date")["Close"]
    day = pd.Timestamp(split_day)
    raw_change = raw.pct_change().loc[day]
    adjusted_change = prices["Close"].pct_change().loc[day]
    assert raw_change < -0.45  # the unadjusted file shows the 2-for-1 split as a crash
    assert abs(adjusted_change) < 0.10  # after adjustment it is an ordinary day


def test_bundled_range_is_inclusive_and_tickers_are_listed():
    assert list_bundled_tickers() == ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
    prices = load_prices("msft", "2010-01-04", "2010-01-08", source="bundled")
    assert list(prices.index.strftime("%Y-%m-%d")) == [
        "2010-01-04",
        "2010-01-05",
        "2010-01-06",
        "2010-01-07",
        "2010-01-08",
    ]


def test_unknown_bundled_ticker_lists_the_available_ones():
    with pytest.raises(DataError, match="AAPL, FB, GOOG, IBM, MSFT"):
        load_prices("ZZZZ", source="bundled")


def test_empty_date_range_is_refused():
    with pytest.raises(DataError, match="empty"):
        load_prices("AAPL", "2010-01-10", "2010-01-01", source="bundled")
    with pytest.raises(DataError, match="covers 2000-03-01 to 2013-03-01"):
        load_prices("AAPL", "2020-01-01", "2020-02-01", source="bundled")


def test_auto_offline_falls_back_to_bundled_and_says_so(offline, caplog):
    prices = load_prices("AAPL", "2012-01-01", "2012-12-31", source="auto")
    assert prices.attrs["source"] == "bundled"
    assert "yfinance returned no prices" in prices.attrs["source_note"]
    assert "bundled" in caplog.text
    assert prices.index.min() >= pd.Timestamp("2012-01-01")


def test_yfinance_offline_names_the_ticker_and_suggests_bundled(offline):
    with pytest.raises(DataError) as error:
        load_prices("AAPL", source="yfinance")
    message = str(error.value)
    assert "'AAPL'" in message and "source='bundled'" in message
    assert message.count(". ") == 0  # one sentence


def test_yfinance_download_is_served_from_cache_afterwards(isolated_cache):
    calls = []
    first = load_prices(
        "XYZ", "2021-01-04", "2021-01-15", source="yfinance", downloader=fake_download(yfinance_like_frame(), calls)
    )
    assert first.attrs["source"] == "yfinance" and len(first) == 10
    assert calls == [("XYZ", "2021-01-04", "2021-01-16")]  # end asked one day later: yfinance's end is exclusive

    def no_network(*args):
        raise AssertionError("the cache should have answered")

    second = load_prices("XYZ", "2021-01-05", "2021-01-12", source="yfinance", downloader=no_network)
    assert second.attrs["source"] == "cache"
    pd.testing.assert_frame_equal(second, first.loc["2021-01-05":"2021-01-12"], check_freq=False)


def test_auto_uses_the_cache_when_the_network_fails_later(isolated_cache):
    load_prices(
        "XYZ", "2021-01-04", "2021-01-15", source="yfinance", downloader=fake_download(yfinance_like_frame(), [])
    )
    # A request beyond the cached range needs the network; offline, auto serves the cache.
    prices = load_prices("XYZ", "2021-01-04", "2021-02-01", source="auto", downloader=lambda *a: pd.DataFrame())
    assert prices.attrs["source"] == "cache" and len(prices) == 10


def test_failed_download_does_not_overwrite_the_cache(isolated_cache):
    load_prices(
        "XYZ", "2021-01-04", "2021-01-15", source="yfinance", downloader=fake_download(yfinance_like_frame(), [])
    )
    cached = (isolated_cache / "prices" / "XYZ.csv").read_bytes()
    with pytest.raises(DataError):
        load_prices("XYZ", "2022-01-01", "2022-02-01", source="yfinance", downloader=lambda *a: pd.DataFrame())
    broken = yfinance_like_frame()
    broken.iloc[3, 0] = np.nan
    with pytest.raises(DataError, match="missing or non-numeric"):
        load_prices("XYZ", "2022-01-01", "2022-02-01", source="yfinance", downloader=fake_download(broken, []))
    assert (isolated_cache / "prices" / "XYZ.csv").read_bytes() == cached


def test_auto_with_unknown_ticker_offline_explains(offline):
    with pytest.raises(DataError, match="not bundled"):
        load_prices("NOPE", source="auto")


def write_csv(tmp_path, text):
    path = tmp_path / "prices.csv"
    path.write_text(text)
    return str(path)


def test_csv_source_reads_date_and_close(tmp_path):
    path = write_csv(tmp_path, "Date,Close,Volume\n2020-01-02,10,5\n2020-01-03,11,6\n2020-01-06,12,7\n")
    prices = load_prices("ignored", source=path)
    assert list(prices["Close"]) == [10, 11, 12]
    assert prices.attrs["source"] == "csv"


@pytest.mark.parametrize(
    "text, message",
    [
        ("Day,Close\n2020-01-02,10\n", "no Date column"),
        ("Date,Price\n2020-01-02,10\n", "no Close column"),
        ("Date,Close\n2020-01-02,10\n2020-01-03,\n", "missing or non-numeric"),
        ("Date,Close\n2020-01-02,10\n2020-01-02,11\n", "more than once"),
        ("Date,Close\n2020-01-03,10\n2020-01-02,11\n", "out of order"),
        ("Date,Close\nyesterday,10\n", "unreadable date"),
        ("Date,Close\n", "no rows"),
    ],
)
def test_bad_csvs_get_one_clear_sentence(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_prices("X", source=write_csv(tmp_path, text))


def test_unknown_source_lists_the_allowed_ones():
    with pytest.raises(DataError, match="auto, bundled, yfinance"):
        load_prices("AAPL", source="bloomberg")


def test_absurd_downloaded_prices_are_refused_and_never_cached(isolated_cache):
    """A price of 1e300 gave a forecast RMSE of inf: refused when read, from yfinance as from a CSV."""
    frame = yfinance_like_frame()
    frame.iloc[3, frame.columns.get_loc("Close")] = 1e300
    with pytest.raises(DataError, match=r"price of 1e\+300 on 2021-01-07, above the bound of 1e\+12"):
        load_prices("ABC", source="yfinance", downloader=fake_download(frame, []))
    assert not isolated_cache.exists() or not any(isolated_cache.rglob("*.csv"))


@pytest.mark.parametrize("ticker", ["../../outside", "A/B", "", ".hidden", "X" * 40])
def test_a_ticker_that_is_not_a_symbol_never_names_a_file(isolated_cache, tmp_path, ticker):
    """The ticker names the cache's files: one that could lead out of the cache is refused before any
    download, so nothing is written anywhere."""
    calls = []
    with pytest.raises(DataError, match="is not a ticker symbol"):
        load_prices(ticker, source="yfinance", downloader=fake_download(yfinance_like_frame(), calls))
    assert calls == [] and not isolated_cache.exists()
    assert not (tmp_path / "OUTSIDE.csv").exists()  # where cache/prices/../../OUTSIDE.csv would lead
