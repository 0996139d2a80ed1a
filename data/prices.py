"""Daily stock prices from one loader with three sources: bundled snapshot, yfinance, user CSV.

Every source returns the same frame: split-adjusted Open/High/Low/Close/Volume indexed by a
sorted, unique DatetimeIndex named Date, with `frame.attrs["source"]` saying where it came from.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from data.atomic import atomic_write
from data.errors import DataError

BUNDLED_PRICES = Path(__file__).with_name("bundled") / "stocks.csv.gz"
PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
SOURCES = ("auto", "bundled", "yfinance")
# No share has cost a trillion: a larger price is a broken file, and squared errors of prices near 1e154
# overflow, so a forecast's RMSE would read inf.
MAX_PRICE = 1e12
# A ticker as Yahoo writes them (AAPL, BRK-B, BRK.B, ^GSPC, EURUSD=X, ES=F): it names the cache's files,
# so it may hold no path separator and cannot climb out of the cache folder.
TICKER = re.compile(r"[A-Z0-9^][A-Z0-9.^=_-]{0,31}")

log = logging.getLogger(__name__)

# (ticker, start, end) -> raw frame; the default asks yfinance, tests inject a fake.
Downloader = Callable[[str, "str | None", "str | None"], pd.DataFrame]


def default_cache_dir() -> Path:
    """Where yfinance downloads are kept: $VGL_CACHE_DIR, else ~/.cache/vanishing-gradient-lab."""
    env = os.environ.get("VGL_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "vanishing-gradient-lab"


def list_bundled_tickers() -> list[str]:
    return sorted(_bundled_table()["Ticker"].unique())


def load_prices(
    ticker: str,
    start: str | date | None = None,
    end: str | date | None = None,
    source: str = "auto",
    *,
    cache_dir: str | Path | None = None,
    downloader: Downloader | None = None,
) -> pd.DataFrame:
    """Load split-adjusted daily prices for `ticker` between `start` and `end` (inclusive).

    Args:
        ticker: a symbol such as "AAPL"; ignored when `source` is a CSV path.
        start, end: ISO dates or None for the whole history available.
        source: "bundled" (offline snapshot), "yfinance" (network, cached on disk),
            "auto" (yfinance, else the cache, else bundled) or the path of a CSV file with at
            least Date and Close columns. Defaults to "auto".
        cache_dir: folder of the yfinance cache. Defaults to `default_cache_dir()`.
        downloader: replaces the yfinance call (for tests and offline use).

    Raises:
        DataError: one sentence saying what is wrong and what to do.
    """
    start_ts, end_ts = _parse_range(start, end)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    ticker = ticker.strip().upper()
    if source in SOURCES and not TICKER.fullmatch(ticker):
        raise DataError(
            f"{ticker!r} is not a ticker symbol: use letters, digits and . - ^ = (at most 32), such as AAPL or ^GSPC."
        )
    if source == "bundled":
        frame = _slice(_load_bundled(ticker), start_ts, end_ts, ticker, "bundled")
        return _tag(frame, "bundled", f"{ticker}: bundled public-domain snapshot (2000-2013).")
    if source == "yfinance":
        return _load_yfinance(ticker, start_ts, end_ts, cache, downloader)
    if source == "auto":
        return _load_auto(ticker, start_ts, end_ts, cache, downloader)
    if _looks_like_path(source):
        frame = _slice(read_price_csv(source), start_ts, end_ts, Path(source).name, "CSV")
        return _tag(frame, "csv", f"prices from {source}.")
    raise DataError(f"Unknown price source {source!r}: use one of {', '.join(SOURCES)} or the path of a CSV file.")


def read_price_csv(path: str | Path) -> pd.DataFrame:
    """Read and validate a user CSV with Date and Close (Open/High/Low/Volume optional)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"No CSV file at {path}: check the path.")
    return parse_price_csv(path, path.name)


def parse_price_csv(source, name: str) -> pd.DataFrame:
    """Read and validate a price CSV from a path or a file-like object (an upload) named `name`."""
    try:
        raw = pd.read_csv(source)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(
            f"{name} is not a readable CSV ({exc.__class__.__name__}): export it as plain comma-separated text."
        ) from exc
    return validate_prices(raw, name)


def validate_prices(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check a raw price table and return it in the standard shape, or raise DataError."""
    columns = {c.strip().lower(): c for c in raw.columns.astype(str)}
    missing = [c for c in ("date", "close") if c not in columns]
    if missing:
        raise DataError(
            f"{name} has no {' or '.join(m.capitalize() for m in missing)} column: "
            f"the file needs at least Date and Close columns (found {', '.join(map(str, raw.columns)) or 'none'})."
        )
    dates = pd.to_datetime(raw[columns["date"]], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna())[0])
        raise DataError(f"{name} has an unreadable date in data row {row + 1}: write dates as YYYY-MM-DD.")
    frame = pd.DataFrame(index=pd.DatetimeIndex(dates.dt.tz_localize(None) if dates.dt.tz else dates, name="Date"))
    for col in PRICE_COLUMNS:
        if col.lower() in columns:
            frame[col] = pd.to_numeric(raw[columns[col.lower()]], errors="coerce").to_numpy(dtype=float)
    if frame.empty:
        raise DataError(f"{name} has no rows: the file needs at least one dated price.")
    bad = frame.isna().any(axis=1)
    if bad.any():
        raise DataError(
            f"{name} has {int(bad.sum())} row(s) with missing or non-numeric prices (first on "
            f"{frame.index[bad][0].date()}): fill or remove them."
        )
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise DataError(f"{name} lists the date {dup.date()} more than once: keep one row per day.")
    if not frame.index.is_monotonic_increasing:
        raise DataError(f"{name} has dates out of order: sort the rows by Date, oldest first.")
    infinite = ~np.isfinite(frame.to_numpy()).all(axis=1)
    if infinite.any():
        raise DataError(f"{name} has an infinite price on {frame.index[infinite][0].date()}: fix or remove that row.")
    if (frame["Close"] <= 0).any():
        raise DataError(f"{name} has a Close price of zero or less: prices must be positive.")
    prices = frame[[c for c in PRICE_COLUMNS[:4] if c in frame]]
    absurd = (prices.abs() > MAX_PRICE).any(axis=1)
    if absurd.any():
        day = frame.index[absurd][0]
        raise DataError(
            f"{name} has a price of {prices.loc[day].abs().max():.3g} on {day.date()}, above the bound of "
            f"{MAX_PRICE:.0e} (no share has ever cost that much): fix or remove that row."
        )
    return frame


def _parse_range(start, end) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    try:
        start_ts = pd.Timestamp(start) if start is not None else None
        end_ts = pd.Timestamp(end) if end is not None else None
    except ValueError as exc:
        raise DataError(f"Cannot read the date range {start!r} to {end!r}: write dates as YYYY-MM-DD.") from exc
    if start_ts is not None and end_ts is not None and end_ts < start_ts:
        raise DataError(f"The date range is empty: end {end_ts.date()} is before start {start_ts.date()}.")
    return start_ts, end_ts


def _slice(frame: pd.DataFrame, start, end, name: str, source: str) -> pd.DataFrame:
    sliced = frame.loc[start:end]
    if sliced.empty:
        have = f"{frame.index[0].date()} to {frame.index[-1].date()}" if len(frame) else "no dates"
        asked = (
            f"{start.date() if start is not None else 'the start'} to {end.date() if end is not None else 'the end'}"
        )
        raise DataError(f"No {source} prices for {name} from {asked}: the data covers {have}.")
    return sliced.copy()


def _tag(frame: pd.DataFrame, source: str, note: str) -> pd.DataFrame:
    frame.attrs["source"] = source
    frame.attrs["source_note"] = note
    return frame


def _looks_like_path(source: str) -> bool:
    return source.lower().endswith(".csv") or os.sep in source or Path(source).exists()


# --- bundled snapshot ----------------------------------------------------------------------


@functools.cache
def _bundled_table() -> pd.DataFrame:
    """The whole snapshot, read once per process (callers filter it, never modify it)."""
    return pd.read_csv(BUNDLED_PRICES, parse_dates=["Date"])


def _load_bundled(ticker: str) -> pd.DataFrame:
    table = _bundled_table()
    rows = table[table["Ticker"] == ticker]
    if rows.empty:
        raise DataError(
            f"No bundled prices for {ticker!r}: choose one of {', '.join(list_bundled_tickers())}, "
            "or use source='yfinance' or a CSV."
        )
    rows = rows.set_index("Date").sort_index()
    # The snapshot's OHLC are raw; Adj Close folds in splits and dividends. Scale all four
    # prices by the same factor (and volume inversely) so a split is not a one-day crash.
    factor = rows["Adj Close"] / rows["Close"]
    frame = rows[["Open", "High", "Low", "Close"]].mul(factor, axis=0)
    frame["Volume"] = rows["Volume"] / factor
    frame.index.name = "Date"
    return validate_prices(frame.reset_index(), f"bundled {ticker}")


# --- yfinance with an on-disk cache -----------------------------------------------------------


def _yfinance_download(ticker: str, start: str | None, end: str | None) -> pd.DataFrame:
    import yfinance as yf

    # yfinance keeps timezone, cookie and ISIN caches of its own, by default in the user's home:
    # keep them with ours, so nothing is written outside the cache folder the user chose.
    yf.cache.set_cache_location(str(default_cache_dir() / "yfinance"))
    # yfinance logs a stack of errors when offline and returns an empty frame; we report it.
    logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():  # its own pandas deprecation warnings are not the user's business
        warnings.simplefilter("ignore")
        return yf.download(ticker, start=start, end=end, auto_adjust=True, progress=False, multi_level_index=False)


def _cache_paths(cache: Path, ticker: str) -> tuple[Path, Path]:
    folder = cache / "prices"
    return folder / f"{ticker}.csv", folder / f"{ticker}.json"


def _cache_covers(meta: dict, start, end) -> bool:
    """A cached download serves a request inside the range it was asked for."""
    cached_start = pd.Timestamp(meta["start"]) if meta.get("start") else None
    cached_end = pd.Timestamp(meta["end"]) if meta.get("end") else None
    starts_ok = cached_start is None or (start is not None and start >= cached_start)
    if cached_end is None:
        # An open-ended download is current only on the day it was made.
        ends_ok = end is not None or meta.get("downloaded") == date.today().isoformat()
    else:
        ends_ok = end is not None and end <= cached_end
    return starts_ok and ends_ok


def _read_cache(cache: Path, ticker: str) -> tuple[pd.DataFrame, dict] | None:
    csv_path, meta_path = _cache_paths(cache, ticker)
    if not (csv_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        return read_price_csv(csv_path), meta
    except (DataError, ValueError, OSError):
        return None  # a damaged cache is ignored, never trusted


def _write_cache(cache: Path, ticker: str, frame: pd.DataFrame, start, end) -> None:
    csv_path, meta_path = _cache_paths(cache, ticker)
    with atomic_write(csv_path) as handle:
        frame.to_csv(handle, date_format="%Y-%m-%d")
    meta = {
        "start": start.date().isoformat() if start is not None else None,
        "end": end.date().isoformat() if end is not None else None,
        "downloaded": date.today().isoformat(),
    }
    with atomic_write(meta_path) as handle:
        json.dump(meta, handle)


def _load_yfinance(ticker, start, end, cache: Path, downloader) -> pd.DataFrame:
    cached = _read_cache(cache, ticker)
    if cached is not None and _cache_covers(cached[1], start, end):
        frame = _slice(cached[0], start, end, ticker, "cached yfinance")
        return _tag(frame, "cache", f"{ticker}: yfinance data from the on-disk cache ({cache}).")
    download = downloader or _yfinance_download
    # yfinance treats `end` as exclusive; ask for one more day so `end` is included.
    end_arg = (end + pd.Timedelta(days=1)).date().isoformat() if end is not None else None
    try:
        raw = download(ticker, start.date().isoformat() if start is not None else None, end_arg)
    except Exception as exc:  # yfinance raises many types; any of them means "no data"
        log.debug("yfinance download failed: %r", exc)
        raw = pd.DataFrame()
    if raw is None or raw.empty:
        raise DataError(
            f"yfinance returned no prices for {ticker!r} (offline, or an unknown ticker): check "
            f"the symbol and your connection, or use source='bundled' ({', '.join(list_bundled_tickers())})."
        )
    raw = raw.reset_index()
    raw = raw.rename(columns={raw.columns[0]: "Date"}) if "Date" not in raw.columns else raw
    frame = validate_prices(raw, f"yfinance {ticker}")
    _write_cache(cache, ticker, frame, start, end)  # only after the download validated
    frame = _slice(frame, start, end, ticker, "yfinance")
    return _tag(frame, "yfinance", f"{ticker}: downloaded from yfinance and cached in {cache}.")


def _load_auto(ticker, start, end, cache: Path, downloader) -> pd.DataFrame:
    try:
        return _load_yfinance(ticker, start, end, cache, downloader)
    except DataError as exc:
        reason = str(exc).split(":")[0]
    cached = _read_cache(cache, ticker)
    if cached is not None:
        try:
            frame = _slice(cached[0], start, end, ticker, "cached yfinance")
        except DataError:
            frame = None
        if frame is not None:
            note = f"{ticker}: {reason}; using the on-disk cache from {cached[1].get('downloaded')} instead."
            log.warning(note)
            return _tag(frame, "cache", note)
    if ticker in list_bundled_tickers():
        try:
            frame = _slice(_load_bundled(ticker), start, end, ticker, "bundled")
        except DataError as exc:
            raise DataError(f"yfinance returned nothing for {ticker!r} (offline?), and {exc}") from exc
        note = f"{ticker}: {reason}; using the bundled public-domain snapshot (2000-2013) instead."
        log.warning(note)
        return _tag(frame, "bundled", note)
    raise DataError(
        f"No prices for {ticker!r}: yfinance returned nothing, nothing is cached, and it is not "
        f"bundled; check the symbol or use one of {', '.join(list_bundled_tickers())}."
    )
