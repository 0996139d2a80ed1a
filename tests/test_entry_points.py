"""The real command lines, as a user types them, in a fresh process each: a few smoke tests (every
other command-line behaviour is tested in-process, where TensorFlow starts once)."""

import subprocess
import sys


def command(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300)


def test_train_from_the_command_line(tmp_path):
    out = str(tmp_path / "runs")
    tiny = ["--length", "10", "--samples", "300", "--epochs", "1", "--units", "4", "--cells", "lstm"]
    trained = command("pipelines.train", "--task", "adding", *tiny, "--out", out, "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "predict-the-mean" in trained.stdout and f"saved: {out}/adding-T10/lstm" in trained.stdout
    assert "Traceback" not in trained.stderr and "oneDNN" not in trained.stderr  # TensorFlow's start-up chatter


def test_bad_input_from_the_command_line_is_one_sentence_and_exit_2(tmp_path):
    result = command("pipelines.train", "--task", "stock", "--ticker", "ZZZZ", "--out", str(tmp_path / "runs"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: No bundled prices for 'ZZZZ': choose one of AAPL, FB, GOOG, IBM, MSFT, or use source='yfinance' or a CSV."
    ]
    assert not (tmp_path / "runs").exists()
