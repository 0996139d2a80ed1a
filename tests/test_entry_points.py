"""The real command lines, as a user types them, in a fresh process each: a few smoke tests (every
other command-line behaviour is tested in-process, where TensorFlow starts once)."""

import os
import subprocess
import sys


def command(*args):
    """Run a command with the environment of a user's shell (no TF_CPP_MIN_LOG_LEVEL of the tests')."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300, env=env)


def test_train_from_the_command_line(tmp_path):
    out = str(tmp_path / "runs")
    # 240 training sequences: a partial last batch, which made TensorFlow log "E0000 ... NodeDef" lines
    tiny = ["--length", "10", "--samples", "300", "--epochs", "2", "--units", "4", "--cells", "lstm"]
    trained = command("pipelines.train", "--task", "adding", *tiny, "--out", out, "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert (
        "predict-the-mean" in trained.stdout
        and f"saved: {out}/adding-T10-samples300-epochs2-units4/lstm" in trained.stdout
    )
    assert trained.stderr == ""  # no TensorFlow chatter (oneDNN, CUDA, NodeDef), no warnings


def test_bad_input_from_the_command_line_is_one_sentence_and_exit_2(tmp_path):
    result = command("pipelines.train", "--task", "stock", "--ticker", "ZZZZ", "--out", str(tmp_path / "runs"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: No bundled prices for 'ZZZZ': choose one of AAPL, FB, GOOG, IBM, MSFT, or use source='yfinance' or a CSV."
    ]
    assert not (tmp_path / "runs").exists()
