"""A battery of bad inputs, each refused with one sentence of the project's error family that names
the problem, and with the runs folder, the price cache and everything else byte-for-byte unchanged:
the data loaders, the command lines (in-process), saved runs, and the dashboard (AppTest)."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from forgery import edit_info, edit_model_config, edit_npz, rehash

from data import DataError, load_corpus, load_prices


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` (its path and a hash of its bytes): equal digests, unchanged trees."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.rglob("*"))
    }


def assert_one_sentence(error: Exception, *words: str) -> None:
    message = str(error)
    assert len(message.splitlines()) == 1 and message.endswith("."), message
    assert all(word in message for word in words), message


# --- data loaders ----------------------------------------------------------------------------------

GOOD = "Date,Close\n2020-01-02,10\n2020-01-03,11\n"
CSV_CASES = [
    # (file content: text or bytes, words the error names)
    (b"", "not a readable CSV"),
    ("Date,Close\n", "has no rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xff\xfe", "prices.csv"),
    ("Day,Price\n2020-01-02,10\n", "has no Date or Close column"),
    ("Date,Open\n2020-01-02,10\n", "has no Close column"),
    ("Date,Close\n2020-01-02,ten\n", "missing or non-numeric prices"),
    ("Date,Close\n2020-01-02,\n2020-01-03,11\n", "missing or non-numeric prices"),
    ("Date,Close\n2020-01-02,NaN\n", "missing or non-numeric prices"),
    ("Date,Close\n2020-01-02,inf\n", "infinite price on 2020-01-02"),
    ("Date,Close\n2020-01-02,10\n2020-01-03,-inf\n", "infinite price"),
    ("Date,Close,Volume\n2020-01-02,10,inf\n", "infinite price"),
    ("Date,Close\n2020-01-02,10\n2020-01-02,11\n", "more than once"),
    ("Date,Close\n2020-01-03,10\n2020-01-02,11\n", "out of order"),
    ("Date,Close\n2020-01-02,0\n", "zero or less"),
    ("Date,Close\n2020-01-02,-3\n", "zero or less"),
    ("Date,Close\nyesterday,10\n", "unreadable date"),
    ('Date,Close\n2020-01-02,"10\n', "prices.csv"),
    ("Date;Close\n2020-01-02;10\n", "has no Date or Close column"),
    ("Date,Close\n2020-01-02,10\n2020-01-03,1e300\n", "price of 1e+300 on 2020-01-03, above the bound of 1e+12"),
    ("Date,Open,Close\n2020-01-02,-1e200,10\n", "above the bound of 1e+12"),
]


@pytest.mark.parametrize("content, words", CSV_CASES)
def test_a_bad_price_csv_is_one_sentence(tmp_path, isolated_cache, content, words):
    path = tmp_path / "prices.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = tree_digest(isolated_cache)
    with pytest.raises(DataError) as error:
        load_prices("ANY", source=str(path))
    assert_one_sentence(error.value, words)
    assert tree_digest(isolated_cache) == before


@pytest.mark.parametrize(
    "source, words",
    [
        ("missing.csv", "No CSV file at missing.csv"),
        ("/dev/null", "No CSV file at /dev/null"),
        ("a-folder.csv", "No CSV file"),
        ("nasdaq", "Unknown price source 'nasdaq'"),
    ],
)
def test_a_price_source_that_is_not_a_file_is_one_sentence(tmp_path, monkeypatch, source, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-folder.csv").mkdir()
    with pytest.raises(DataError) as error:
        load_prices("AAPL", source=source)
    assert_one_sentence(error.value, words)


def test_five_trading_days_cannot_make_windows(tmp_path):
    from data import chronological_split

    path = tmp_path / "five.csv"
    path.write_text("Date,Close\n" + "".join(f"2020-01-0{d},{10 + d}\n" for d in range(1, 6)))
    prices = load_prices("ANY", source=str(path))
    with pytest.raises(DataError) as error:
        chronological_split(len(prices), 60, 1)
    assert_one_sentence(error.value, "5 points leave no", "lookback 60")


@pytest.mark.parametrize(
    "args, words",
    [
        (("AAPL", "2013-05-01", "2013-01-01", "bundled"), "date range is empty"),
        (("AAPL", "someday", None, "bundled"), "Cannot read the date range"),
        (("ZZZZ", None, None, "bundled"), "No bundled prices for 'ZZZZ'"),
        (("AAPL", "2030-01-01", None, "bundled"), "covers 2000-03-01 to 2013-03-01"),
    ],
)
def test_a_bad_price_request_is_one_sentence(isolated_cache, args, words):
    before = tree_digest(isolated_cache)
    with pytest.raises(DataError) as error:
        load_prices(*args)
    assert_one_sentence(error.value, words)
    assert tree_digest(isolated_cache) == before


def test_offline_auto_says_what_range_the_bundled_snapshot_covers(offline, isolated_cache):
    with pytest.raises(DataError) as error:
        load_prices("AAPL", "2015-01-01", source="auto")
    assert_one_sentence(error.value, "yfinance returned nothing", "covers 2000-03-01 to 2013-03-01")
    assert tree_digest(isolated_cache) == {}


def test_yfinance_keeps_its_own_caches_inside_the_cache_folder(isolated_cache, monkeypatch):
    import yfinance

    import data.prices

    where = []
    monkeypatch.setattr(yfinance.cache, "set_cache_location", where.append)
    monkeypatch.setattr(yfinance, "download", lambda *args, **kwargs: __import__("pandas").DataFrame())
    data.prices._yfinance_download("AAPL", None, None)
    assert where and Path(where[0]).is_relative_to(isolated_cache)


@pytest.mark.parametrize(
    "content, max_chars, words",
    [
        (b"", None, "is empty"),
        (b"   \n\n\t ", None, "is empty"),
        (b"\xff\xfe\x00binary\x80", None, "not UTF-8"),
        (b"aaaaaaaaaaaa", None, "one character only"),
        (b"a", None, "uses one character only ('a')"),
        (
            b"Some ordinary text.",
            1,
            "one character only ('S'): a next-character task needs at least two different characters; raise --max-chars",
        ),
        (
            b"  Some ordinary text.",
            2,
            "is empty (whitespace only): a corpus needs some text to learn from; raise --max-chars",
        ),
    ],
)
def test_a_bad_corpus_is_one_sentence(tmp_path, content, max_chars, words):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        load_corpus(str(path), max_chars)
    assert_one_sentence(error.value, words)


def test_a_corpus_path_that_is_a_folder_is_one_sentence(tmp_path):
    with pytest.raises(DataError) as error:
        load_corpus(str(tmp_path))
    assert_one_sentence(error.value, "No corpus")


def test_written_files_get_the_mode_open_would_give(tmp_path):
    from data import atomic_write

    with atomic_write(tmp_path / "table.csv") as handle:
        handle.write("a\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("a\n")
    assert (tmp_path / "table.csv").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_prompt_characters_outside_the_vocabulary_are_named_once():
    from data import CharVocab

    vocab = CharVocab.from_text("abc ")
    assert vocab.unknown_chars("a€b€Ωc") == ["€", "Ω"]
    assert vocab.unknown_chars("cab ") == []


# --- command lines (in-process: TensorFlow starts once for the whole file) -----------------------

from pipelines import defaults, predict, sweep, train  # noqa: E402

NOT_UTF8 = b"\xff\xfe\x00binary\x80\x81"


def bad_config(tmp_path, config) -> str:
    path = tmp_path / "given" / "run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return str(path)


def a_file(tmp_path) -> str:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return str(path)


def a_binary_corpus(tmp_path) -> str:
    path = tmp_path / "binary.txt"
    path.write_bytes(NOT_UTF8 * 10)
    return str(path)


def a_fifo(tmp_path) -> str:
    """A named pipe: reading it would wait for a writer forever."""
    path = tmp_path / "run.json"
    os.mkfifo(path)
    return str(path)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def a_short_corpus(tmp_path) -> str:
    path = tmp_path / "short.txt"
    path.write_text("To be, or not to be, that is the question.")
    return str(path)


ADDING = ["--task", "adding", "--length", "10", "--samples", "300", "--epochs", "1", "--units", "4"]
TRAIN_CASES = [
    # (arguments, words the one-sentence error must contain); a callable builds arguments in tmp_path
    ([*ADDING, "--name", ".."], "not a plain folder name"),
    ([*ADDING, "--name", "../../elsewhere/x"], "not a plain folder name"),
    ([*ADDING, "--name", "."], "not a plain folder name"),
    ([*ADDING, "--name", "a\x01b"], "not a plain folder name"),
    ([*ADDING, "--name", "x" * 300], "not a plain folder name"),
    ([*ADDING, "--name", "a/b/c"], "not a plain folder name"),
    ([*ADDING, "--name", "/etc"], "not a plain folder name"),
    (lambda tmp: [*ADDING, "--out", a_file(tmp)], "not a folder"),
    ([*ADDING, "--out", "/dev/null"], "not a folder"),
    ([*ADDING, "--out", "/dev/null/runs"], "not a folder"),
    ([*ADDING, "--units", "1024"], "weights, more than the 4,194,304 a saved run may have"),
    ([*ADDING, "--units", "256", "--layers", "64"], "--units 256 with --layers 64 give the lstm model at least"),
    ([*ADDING, "--length", "10000", "--samples", "10000000"], "GiB of memory"),
    (["--task", "copy", "--length", "10000", "--samples", "10000000"], "GiB of memory"),
    (["--task", "stock", "--lookback", "10000000"], "lookback"),
    # upper bounds, each named in the sentence (issue 21: these ran until killed)
    ([*ADDING, "--epochs", "100000000000000000000"], "--epochs must be at most 10,000 (got 100000000000000000000)"),
    ([*ADDING, "--layers", "100000"], "--layers must be at most 64 (got 100000)"),
    ([*ADDING, "--units", "1000000000"], "--units must be at most 2,048"),
    ([*ADDING, "--batch-size", "100001"], "--batch-size must be at most 100,000"),
    ([*ADDING, "--probe-size", "10001"], "--probe-size must be at most 10,000"),
    ([*ADDING, "--log-every", "1000001"], "--log-every must be at most 1,000,000"),
    ([*ADDING, "--tbptt", "10001"], "--tbptt must be at most 10,000"),
    (
        [*ADDING, "--length", "10000000"],
        "--length must be at most 10,000 (got 10000000): longer sequences need more memory",
    ),
    (["--task", "copy", "--samples", "1000000000"], "--samples must be at most 10,000,000"),
    (["--task", "text", "--seq-len", "10001"], "--seq-len must be at most 10,000"),
    (["--task", "text", "--stride", "10001"], "--stride must be at most 10,000"),
    (["--task", "text", "--embedding-dim", "5000"], "--embedding-dim must be at most 2,048"),
    (["--task", "text", "--max-chars", "1000000001"], "--max-chars must be at most 1,000,000,000"),
    (["--task", "stock", "--horizon", "10001"], "--horizon must be at most 10,000"),
    (["--task", "stock", "--folds", "100000"], "--folds must be at most 100 (got 100000)"),
    (
        ["--task", "stock", "--start", "2010-01-01", "--folds", "90"],
        "734 windows are too few for 90 walk-forward folds",
    ),
    ([*ADDING, "--seed", "4294967296"], "--seed must be at most 4294967295 = 2^32 - 1"),
    (
        ["--task", "text", "--max-chars", "300"],
        "300 characters (after --max-chars), too few for windows of --seq-len 40",
    ),
    (
        lambda tmp: ["--task", "text", "--corpus", a_short_corpus(tmp)],
        "short has 42 characters, too few for windows of --seq-len 40 in its train, validation and test parts "
        "(about 410 are needed): use a longer text or a smaller --seq-len.",
    ),
    ([*ADDING, "--out", "/proc/x"], "No such file or directory (/proc/x): check the path and the disk"),
    ([*ADDING, "--learning-rate", "-1"], "--learning-rate must be a positive number"),
    ([*ADDING, "--learning-rate", "inf"], "--learning-rate must be a positive number"),
    ([*ADDING, "--learning-rate", "nan"], "--learning-rate must be a positive number"),
    ([*ADDING, "--dropout", "1.5"], "--dropout must be at least 0 and below 1"),
    ([*ADDING, "--clipnorm", "-1"], "--clipnorm must be a positive number"),
    ([*ADDING, "--gain", "0"], "--gain must be a positive number"),
    ([*ADDING, "--probe-size", "-3"], "--probe-size must be at least 1"),
    ([*ADDING, "--probe-size", "0"], "--probe-size must be at least 1"),
    ([*ADDING, "--log-every", "-1"], "--log-every must be at least 0"),
    ([*ADDING, "--seed", "-1"], "--seed must be at least 0"),
    ([*ADDING, "--epochs", "0"], "--epochs must be at least 1"),
    ([*ADDING, "--batch-size", "0"], "--batch-size must be at least 1"),
    ([*ADDING, "--cells", "lstm", "lstm"], "names a cell twice"),
    ([*ADDING, "--length", "1"], "--length must be at least 2"),
    (["--task", "text", "--max-chars", "-5"], "--max-chars must be at least 2"),
    (["--task", "text", "--seq-len", "0"], "--seq-len must be at least 1"),
    (["--task", "stock", "--folds", "1"], "--folds must be 0 (none) or at least 2"),
    (["--task", "stock", "--folds", "-1"], "--folds must be 0 (none) or at least 2"),
    (["--task", "stock", "--ticker", " "], "--ticker is empty"),
    (["--task", "stock", "--horizon", "0"], "--horizon must be at least 1"),
    (["--task", "stock", "--source", "missing.csv"], "No CSV file"),
    ([*ADDING, "--ticker", "AAPL"], "--ticker does not apply to adding runs"),
    (["--task", "stock", "--length", "20"], "--length does not apply to stock runs"),
    (lambda tmp: ["--task", "text", "--corpus", a_binary_corpus(tmp)], "not UTF-8"),
    (["--config", "missing/run.json"], "is not the run.json of a finished run"),
    (lambda tmp: ["--config", bad_config(tmp, [1, 2, 3])], "is not the run.json of a finished run"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": [1, 2]})], "is not the run.json of a finished run"),
    (lambda tmp: ["--config", bad_config(tmp, '{"config": {"task": "add')], "is not the run.json of a finished run"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "epochs": "abc"}})], "'epochs' is 'abc'"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "cells": None}})], "'cells' is None"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "length": 20.7}})], "'length' is 20.7"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "cells": "lstm"}})], "'cells' is 'lstm'"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "epochs": True}})], "'epochs' is True"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "name": "a\u0000b"}})], "plain folder"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "teleport"}})], "Unknown task 'teleport'"),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "momentum": 1}})], "unknown field"),
    (
        lambda tmp: ["--task", "stock", "--config", bad_config(tmp, {"config": {"task": "adding"}})],
        "contradicts the config's task adding",
    ),
    (lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "learning_rate": "1e-3"}})], "a number"),
    # --config files that are not regular files, too large, or nested too deep (issue 21)
    (["--config", "/dev/zero"], "/dev/zero is not a regular file (a device, a pipe or a folder)"),
    (lambda tmp: ["--config", a_fifo(tmp)], "is not a regular file (a device, a pipe or a folder)"),
    (lambda tmp: ["--config", str(tmp)], "is not a regular file (a device, a pipe or a folder)"),
    (lambda tmp: ["--config", bad_config(tmp, nested(100_000))], "nests its JSON too deeply to be a run.json"),
    (
        lambda tmp: ["--config", bad_config(tmp, '{"config":' * 10**5 + "{}" + "}" * 10**5)],
        "bytes, more than the 1,000,000",
    ),
    (
        lambda tmp: ["--config", bad_config(tmp, " " * 1_000_001)],
        "1,000,001 bytes, more than the 1,000,000 a run.json may have",
    ),
    (
        lambda tmp: ["--config", bad_config(tmp, '{"config": {"task": "adding"}, "config": {}}')],
        "finished run (ValueError)",
    ),
    (
        lambda tmp: ["--config", bad_config(tmp, {"config": {"task": "adding", "seed": 2**32}})],
        "--seed must be at most",
    ),
    (
        lambda tmp: ["--config", bad_config(tmp, '{"config": {"task": "adding", "cells": ' + nested(500) + "}}")],
        "The config's 'cells' is [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[..., which is not",
    ),
]


@pytest.mark.parametrize("args, words", TRAIN_CASES)
def test_train_refuses_bad_input_and_writes_nothing(tmp_path, capsys, args, words):
    assert_refused(train.main, args(tmp_path) if callable(args) else args, words, tmp_path, capsys)


def assert_refused(main, args, words, tmp_path, capsys, out_flag=True):
    """Exit 2 with one sentence naming the problem; nothing under the runs folder, the cache or the
    test's own folder changes (so nothing was written outside --out either)."""
    runs = tmp_path / "runs"
    if out_flag:  # train and sweep: write under tmp_path/runs unless the case gives its own --out
        args = [*args, *([] if "--out" in args else ["--out", str(runs)]), "--quiet"]
    cache = Path(os.environ["VGL_CACHE_DIR"])
    before = tree_digest(tmp_path), tree_digest(cache)
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert words in err, err
    assert (tree_digest(tmp_path), tree_digest(cache)) == before
    assert not runs.exists()


SWEEP = ["--task", "adding", "--length", "10", "--samples", "300", "--epochs", "1"]
SWEEP_CASES = [
    ([*SWEEP, "--over", "units", "--values", "4", "0"], "--units must be at least 1 (got 0)"),
    ([*SWEEP, "--over", "units", "--values", "four"], "--values for units must be numbers"),
    ([*SWEEP, "--over", "gain", "--values", "1", "--seeds", "0", "0"], "--seeds gives the seed 0 twice"),
    ([*SWEEP, "--over", "gain", "--values", "1", "--name", "../x"], "not a plain folder name"),
    ([*SWEEP, "--over", "gain", "--values", "1", "--gain", "2"], "is what the sweep varies"),
    (["--task", "stock", "--over", "length", "--values", "10"], "Cannot sweep over 'length' for --task stock"),
    ([*SWEEP, "--over", "learning_rate", "--values", "-1"], "--learning-rate must be a positive number"),
    ([*SWEEP, "--over", "gain", "--values", "1", "--seeds", "-1"], "--seeds must be at least 0"),
    # values are compared as the option reads them, before anything trains; counts and seeds bounded (issue 21)
    ([*SWEEP, "--over", "gain", "--values", "1", "1.0"], "--values gives gain = 1.0 twice (1 and 1.0)"),
    ([*SWEEP, "--over", "units", "--values", "4", "04"], "--values gives units = 4 twice (4 and 04)"),
    ([*SWEEP, "--over", "clipnorm", "--values", "none", "1", "None"], "clipnorm = none twice (none and None)"),
    ([*SWEEP, "--over", "gain", "--values", *map(str, range(1, 5001))], "5,000 values, more than the 100"),
    ([*SWEEP, "--over", "gain", "--values", "1", "--seeds", *map(str, range(101))], "101 seeds, more than the 100"),
    (
        [*SWEEP, "--over", "gain", "--values", *map(str, range(1, 51)), "--seeds", *map(str, range(50))],
        "2,500 trials, more than the 1,000",
    ),
    ([*SWEEP, "--over", "gain", "--values", "1", "--seeds", "0", str(2**32)], "--seeds must be at most 4294967295"),
]


@pytest.mark.parametrize("args, words", SWEEP_CASES)
def test_sweep_refuses_bad_input_and_writes_nothing(tmp_path, capsys, args, words):
    assert_refused(sweep.main, args, words, tmp_path, capsys)


REMEDIES_CASES = [
    (["--seeds", str(2**32)], "--seeds must be at most 4294967295 = 2^32 - 1"),
    (["--seeds", "-1"], "--seeds must be at least 0"),
    (["--seeds", *map(str, range(101))], "more than the 100 a sweep may have"),
    (["--seeds", "3", "3"], "gives the seed 3 twice"),
    (["--epochs", "100000"], "--epochs must be at most 10,000"),
]


@pytest.mark.parametrize("args, words", REMEDIES_CASES)
def test_remedies_refuse_seeds_and_budgets_out_of_bounds(tmp_path, capsys, args, words):
    from pipelines import remedies

    assert_refused(remedies.main, args, words, tmp_path, capsys)


def damaged_state(experiment: Path, meta) -> None:
    """The lstm cell's training state in `experiment`, its meta record replaced by `meta` (JSON text)."""
    from models.experiment_store import training_state_path

    path = training_state_path(experiment, "lstm")
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        np.savez(handle, meta=np.array(meta))


STATE_META_CASES = [
    json.dumps([1, 2, 3]),
    json.dumps(7),
    json.dumps({"format": "vanishing-gradient-lab/training-state-1", "epochs_done": "1", "options": {}}),
    json.dumps({"format": "vanishing-gradient-lab/training-state-1", "epochs_done": 1, "options": [1]}),
    "{not json",
]


@pytest.mark.parametrize("meta", STATE_META_CASES)
def test_resume_refuses_a_damaged_training_state_in_one_sentence(tmp_path, capsys, meta):
    """A .backup state whose meta is not what save_training_state writes (a JSON list gave a traceback)."""
    args = [*ADDING, "--cells", "lstm", "--resume"]
    damaged_state(tmp_path / "runs" / "adding-T10-samples300-epochs1-units4", meta)  # the name ADDING gets
    before = tree_digest(tmp_path)
    assert train.main([*args, "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "state.npz is unreadable (" in err, err
    assert "Error): delete it to train that cell from its first epoch, then rerun with --resume." in err, err
    assert tree_digest(tmp_path) == before


def test_defaults_refuse_an_out_that_is_a_file(tmp_path, capsys):
    assert_refused(defaults.main, ["--out", a_file(tmp_path)], "not a folder", tmp_path, capsys, out_flag=False)


PREDICT_CASES = [
    # (run kind or None for a path, arguments, words)
    (None, ["no/such/run"], "No run folder"),
    ("empty", [], "no run.json"),
    ("stock", ["--show", "0"], "--show must be at least 1"),
    ("stock", ["--show", "-1"], "--show must be at least 1"),
    ("stock", ["--csv", "x.csv", "--ticker", "MSFT"], "drop --ticker and --source"),
    ("stock", ["--csv", "missing.csv"], "No CSV file"),
    ("stock", ["--start", "2013-05-01", "--end", "2013-01-01"], "date range is empty"),
    ("stock", ["--prompt", "hi"], "--prompt does not apply to stock runs"),
    ("text", ["--length", "-5"], "--length must be at least 1"),
    ("text", ["--temperature", "-1"], "--temperature must be a number, 0 or more"),
    ("text", ["--temperature", "inf"], "--temperature must be a number, 0 or more"),
    ("text", ["--temperature", "nan"], "--temperature must be a number, 0 or more"),
    ("text", ["--prompt", ""], "--prompt is empty"),
    ("text", ["--samples", "5"], "--samples does not apply to text runs"),
    ("adding", ["--samples", "1000000000"], "--samples must be at most 1,000,000"),
    ("adding", ["--samples", "0"], "--samples must be at least 1"),
    ("adding", ["--prompt", "Hi"], "--prompt does not apply to adding runs"),
    # bounds, and the seeds train takes (issue 21)
    ("adding", ["--seed", "-1"], "--seed must be at least 0 (got -1)"),
    ("text", ["--seed", "-1"], "--seed must be at least 0 (got -1)"),
    ("stock", ["--seed", str(2**32)], "--seed must be at most 4294967295"),
    ("text", ["--length", "10000000"], "--length must be at most 100,000 (got 10000000)"),
    ("stock", ["--show", "100001"], "--show must be at most 100,000"),
]


@pytest.mark.parametrize("kind, args, words", PREDICT_CASES)
def test_predict_refuses_bad_input_and_changes_nothing(runs, tmp_path, capsys, kind, args, words):
    if kind == "empty":
        target = tmp_path / "empty-run"
        target.mkdir()
    else:
        target = None if kind is None else runs[kind].runs["lstm"]
    before = tree_digest(Path(runs["out"]))
    assert_refused(predict.main, [*([str(target)] if target else []), *args], words, tmp_path, capsys, out_flag=False)
    assert tree_digest(Path(runs["out"])) == before


# --- the dashboard, reading tampered or damaged experiments (AppTest) ------------------------------


def reverse_in_time_with_forged_horizon(arrays):
    """Gradients reversed in time, and horizons that are not what those norms give."""
    from models.gradient_log import gradient_horizon

    reversed_norms = arrays["h_grad_norm/lstm_1"][:, ::-1].copy()
    arrays["h_grad_norm/lstm_1"] = reversed_norms
    arrays["horizon/lstm_1"] = np.array([(gradient_horizon(row) + 1) % 10 for row in reversed_norms])


def edit_comparison(experiment: Path) -> None:
    path = experiment / "comparison.csv"
    path.write_text(path.read_text().replace("lstm,", "lstm,0.0001"))


def symlink_out(run: Path, outside: Path) -> None:
    outside.write_bytes((run / "gradients.npz").read_bytes())
    (run / "gradients.npz").unlink()
    (run / "gradients.npz").symlink_to(outside)


def edit_model_layer(run: Path, module: str, class_name: str) -> None:
    """Make model.keras's last layer another class, as a forger would."""
    edit_model_config(run, lambda config: config["config"]["layers"][-1].update(module=module, class_name=class_name))


def edit_experiment_json(experiment: Path, edit) -> None:
    """Rewrite experiment.json's text (a forger need not write valid-looking JSON)."""
    path = experiment / "experiment.json"
    path.write_text(edit(path.read_text()))


def cell_linked_out(experiment: Path, outside: Path) -> None:
    """The lstm cell folder replaced by a link to a copy elsewhere."""
    shutil.copytree(experiment / "lstm", outside / "lstm")
    shutil.rmtree(experiment / "lstm")
    (experiment / "lstm").symlink_to(outside / "lstm", target_is_directory=True)


def swap_model(experiment: Path, source: str) -> None:
    shutil.copy(experiment / source / "model.keras", experiment / "lstm" / "model.keras")
    rehash(experiment / "lstm", "model.keras")


DASHBOARD_CASES = [
    (lambda e, s: swap_model(e, "gru"), "holds no LSTM layer though run.json says lstm"),
    (lambda e, s: edit_model_layer(e / "lstm", "keras.layers", "Lambda"), "keras.layers.Lambda, which can run code"),
    (lambda e, s: edit_model_layer(e / "lstm", "subprocess", "Popen"), "subprocess.Popen, which can run code"),
    # (tamper(experiment folder, scratch folder), words of the st.error sentence)
    (lambda e, s: edit_comparison(e), "comparison.csv"),
    (lambda e, s: (e / "lstm" / "gradients.npz").write_bytes(b"truncated"), "changed since the run was saved"),
    (lambda e, s: (e / "lstm" / "model.keras").write_bytes(b"PK\x03\x04garbage"), "changed since the run was saved"),
    (lambda e, s: (e / "lstm" / "model.keras").unlink(), "model.keras"),
    (lambda e, s: edit_npz(e / "lstm", reverse_in_time_with_forged_horizon), "horizon"),
    (lambda e, s: edit_npz(e / "lstm", lambda a: a.pop("h_grad_norm/lstm_1")), "h_grad_norm/lstm_1"),
    (
        lambda e, s: edit_npz(e / "lstm", lambda a: a.update(step=np.array(["a"] * len(a["step"]), dtype=object))),
        "gradients.npz",
    ),
    (lambda e, s: edit_npz(e / "lstm", lambda a: a.update(step=a["step"][:-1])), "gradients.npz"),
    (lambda e, s: symlink_out(e / "lstm", s / "outside.npz"), "link"),
    (
        lambda e, s: edit_info(e / "lstm", lambda i: i["files"].update({"../../../../etc/hostname": "0" * 64})),
        "hostname",
    ),
    (lambda e, s: edit_info(e / "lstm", lambda i: i.update(format="vanishing-gradient-lab/run-9")), "run-9"),
    (lambda e, s: (e / "lstm" / "run.json").write_text("{not json"), "not valid JSON"),
    (lambda e, s: (e / "experiment.json").write_text("[]"), "experiment.json"),
    # the table check cannot be switched off: no experiment.json, an empty or a doubled "files"
    (lambda e, s: (edit_comparison(e), (e / "experiment.json").unlink()), "has no experiment.json"),
    (lambda e, s: (edit_comparison(e), edit_info_files(e, {})), "comparison.csv in"),
    (
        lambda e, s: (
            edit_comparison(e),
            edit_experiment_json(e, lambda t: t.replace('"files": {', '"files": {}, "files": {')),
        ),
        "damaged",
    ),
    (lambda e, s: cell_linked_out(e, s), "is a link to another folder"),
]


def edit_info_files(experiment: Path, files: dict) -> None:
    path = experiment / "experiment.json"
    info = json.loads(path.read_text())
    path.write_text(json.dumps({**info, "files": files}))


@pytest.mark.parametrize("tamper, words", DASHBOARD_CASES)
def test_dashboard_refuses_tampered_experiments_with_one_sentence(runs, tmp_path, monkeypatch, tamper, words):
    from streamlit.testing.v1 import AppTest

    root = tmp_path / "runs"
    shutil.copytree(runs["adding"].path, root / "adding-T10")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    tamper(root / "adding-T10", scratch)
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    before = tree_digest(root)
    app = AppTest.from_function(gradient_flow_page, default_timeout=60).run()
    assert not app.exception
    assert len(app.error) == 1 and words in app.error[0].value, [e.value for e in app.error]
    assert len(app.error[0].value.strip().splitlines()) == 1
    assert not app.get("plotly_chart")  # nothing tampered is drawn as if genuine
    assert tree_digest(root) == before


def gradient_flow_page():
    from dashboard import gradient_flow

    gradient_flow.render()


def test_the_reliability_table_matches_the_tests():
    """Each row of docs/reliability.md's table names a test that exists and counts exactly its cases."""
    import re

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "reliability.md").read_text()
    rows = re.findall(r"^\|[^|]+\| (\d+) \|[^|]+\| `(tests/[\w.]+)(?:::(\w+))?` \|$", text, flags=re.M)
    assert len(rows) >= 10 and len(rows) == text.count("\n| ") - 1, "a row this pattern does not read"
    for count, file, function in rows:
        assert (root / file).is_file(), f"{file} does not exist"
        tests = case_counts(root / file)
        if function:
            assert function in tests, f"{file} has no test {function}"
        names = [function] if function else list(tests)
        assert int(count) == sum(tests[name] for name in names), (file, function, count)


def case_counts(path: Path) -> dict[str, int]:
    """Every top-level test function of a test file and how many cases pytest makes of it: the product of
    the lengths of its `@pytest.mark.parametrize` lists, each a list literal or a module-level name bound
    to one. Read with `ast`; nothing is imported or run."""
    import ast

    module = ast.parse(path.read_text())
    lists = {
        target.id: node.value
        for node in module.body
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple))
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    counts = {}
    for node in module.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        counts[node.name] = 1
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.parametrize":
                values = decorator.args[1]
                values = lists.get(values.id, values) if isinstance(values, ast.Name) else values
                assert isinstance(values, (ast.List, ast.Tuple)), f"{path.name}::{node.name}: parametrize list"
                counts[node.name] *= len(values.elts)
    return counts


@pytest.mark.parametrize("name", ["../x/lstm", "/ABS/x/lstm"])
def test_a_table_naming_a_folder_elsewhere_is_never_read_from_there(runs, tmp_path, name):
    """Even with its checksums made consistent, a comparison row is a run only if it names a cell;
    any other name stays a row of text, never a path that is read."""
    from models.experiment_store import load_experiment, read_experiment_info, write_experiment_info

    experiment = tmp_path / "runs" / "adding-T10"
    shutil.copytree(runs["adding"].path, experiment)
    name = name.replace("/ABS", str(tmp_path))
    shutil.copytree(experiment / "lstm", experiment / name)  # a genuine run where the name leads
    table = experiment / "comparison.csv"
    table.write_text(table.read_text().replace("\nlstm,", f"\n{name},"))
    write_experiment_info(experiment, read_experiment_info(experiment)["options"])  # a consistent forgery
    loaded = load_experiment(experiment, with_gradients=True)
    assert name in set(loaded.comparison["model"])  # shown as the forger wrote it...
    assert set(loaded.runs) == set(loaded.gradients) == {"simple_rnn", "gru"}  # ...but never read as a run
