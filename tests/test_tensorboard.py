"""GradientLogger(log_dir=...) and train --tensorboard: the event files TensorBoard reads hold the
logger's own records (read back as TensorBoard itself reads them), and change nothing it records."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY

from data import adding_problem
from models import GradientLogger, build_model, load_gradient_log
from models.gradient_log import gradient_reaches
from models.tensorboard_log import COLOURS, heatmap_image, histogram_buckets, steps_back_shown
from pipelines import train

ROOT = Path(__file__).resolve().parents[1]
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.plugin_event_accumulator")


def read_events(folder):
    """Every summary in `folder`, as TensorBoard's own loader reads it: plugin -> tag -> [(step, array)]."""
    import tensorflow as tf

    events = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    found = {}
    for plugin in ("scalars", "histograms", "images"):
        for tag in events.PluginTagToContent(plugin):
            found.setdefault(plugin, {})[tag] = [(e.step, tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
    return found


def fit_tiny(log_dir=None):
    x, y = adding_problem(256, 10, seed=0)
    keras.utils.set_random_seed(0)
    model = build_model("lstm", (10, 2), units=4, layers=2, seed=0)
    logger = GradientLogger(x[:16], y[:16], every_n_batches=4, jit_compile=False, log_dir=log_dir)
    model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    return model, logger


def test_event_files_hold_the_loggers_records_and_change_nothing(tmp_path):
    model, logger = fit_tiny(tmp_path / "tb")
    log, layers = logger.log, ["lstm_1", "lstm_2"]
    events = read_events(tmp_path / "tb")
    scalars, histograms, images = events["scalars"], events["histograms"], events["images"]
    steps = list(log["step"])
    assert steps == [4, 8, 12, 16]
    for layer in layers:
        norms = log[f"h_grad_norm/{layer}"]
        assert [s for s, _ in scalars[f"horizon/{layer}"]] == steps
        assert [float(v) for _, v in scalars[f"horizon/{layer}"]] == list(log[f"horizon/{layer}"])
        assert [float(v) for _, v in scalars[f"reach/{layer}"]] == list(gradient_reaches(norms))
        assert steps_back_shown(10) == [0, 1, 2, 5]
        for k in (0, 1, 2, 5):
            written = [float(v) for _, v in scalars[f"h_grad_norm/{layer}/step_back_{k}"]]
            assert written == list(norms[:, -1 - k].astype("float32"))
        # the heatmap: records x steps back, 16-pixel cells at T = 10; the last one shows every record
        (step, data), *_ = images[f"gradient_heatmap/{layer}"][::-1]
        width, height, png = int(data[0]), int(data[1]), data[2]
        assert (step, height, width) == (16, 4 * 16, 10 * 16)
        import tensorflow as tf

        decoded = tf.io.decode_png(png).numpy()
        np.testing.assert_array_equal(decoded, heatmap_image(norms))
        # each 16-pixel cell is the colour of its log10 norm, from the smallest (0) to the largest (255)
        logs = np.log10(norms[:, ::-1])  # columns: steps back
        expected = np.round((logs - logs.min()) / (logs.max() - logs.min()) * 255)
        index = {tuple(colour): i for i, colour in enumerate(COLOURS)}
        assert len(index) == 256
        np.testing.assert_array_equal([[index[tuple(p)] for p in row] for row in decoded[::16, ::16]], expected)
        assert f"h_grad_norm/{layer}/log10" in histograms
    np.testing.assert_array_equal([v for _, v in scalars["loss"]], log["loss"].astype("float32"))
    assert "gate_mean/lstm_1/forget" in histograms and "x_grad_norm/log10" in histograms
    # one histogram of the gradient of every trainable variable, of all its entries
    for variable in model.trainable_variables:
        (step, buckets), *_ = histograms[f"weight_grad/{variable.path}"][::-1]
        assert step == 16 and buckets.shape[1] == 3 and buckets[:, 2].sum() == np.prod(variable.shape)
    # the same seed without log_dir: the same weights and the same log, to the bit
    plain_model, plain = fit_tiny()
    assert plain.log.keys() == log.keys()
    for key, value in log.items():
        np.testing.assert_array_equal(plain.log[key], value, err_msg=key)
    for a, b in zip(plain_model.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_heatmap_and_histogram_helpers():
    norms = np.array([[1e-4, 1e-2, 1.0], [0.0, 1e-1, 1.0]])
    image = heatmap_image(norms)
    assert image.shape == (2 * 16, 3 * 16, 3) and image.dtype == np.uint8
    cells = image[::16, ::16]
    assert (cells[0, 0] == [253, 231, 37]).all() and (cells[0, 2] == [68, 1, 84]).all()  # 1.0 bright, 1e-4 dark
    assert (cells[1, 2] == 0).all()  # a norm of 0 is black
    buckets = histogram_buckets([1.0, 2.0, np.nan, 3.0])
    assert buckets.shape == (30, 3) and buckets[:, 2].sum() == 3 and buckets[0, 0] == 1 and buckets[-1, 1] == 3
    assert histogram_buckets([2.0, 2.0]).tolist() == [[2.0, 2.0, 2.0]]


def test_train_tensorboard_writes_each_cell_under_the_experiment(tmp_path):
    assert "--tensorboard" in train.build_parser().format_help()
    options = {**TINY, "cells": "simple_rnn", "length": 10, "samples": 300, "jit_compile": "off", "name": "adding-T10"}
    args = [part for key, value in options.items() for part in (f"--{key.replace('_', '-')}", str(value))]
    tb = tmp_path / "tb"
    assert (
        train.main(["--task", "adding", *args, "--out", str(tmp_path / "runs"), "--tensorboard", str(tb), "--quiet"])
        == 0
    )
    cell = tb / "adding-T10" / "simple_rnn"
    assert list(cell.glob("events.out.tfevents.*"))
    log = load_gradient_log(tmp_path / "runs" / "adding-T10" / "simple_rnn" / "gradients.npz")
    horizons = read_events(cell)["scalars"]["horizon/simple_rnn_1"]
    assert [s for s, _ in horizons] == list(log["step"])
    assert [float(v) for _, v in horizons] == list(log["horizon/simple_rnn_1"])
    # where events go is no option the experiment's cells share, and never taken from a handed-over file
    more = [a if a != "simple_rnn" else "lstm" for a in args]
    assert train.main(["--task", "adding", *more, "--out", str(tmp_path / "runs"), "--quiet"]) == 0  # no --tensorboard
    saved = tmp_path / "runs" / "adding-T10" / "simple_rnn" / "run.json"
    assert json.loads(saved.read_text())["config"]["tensorboard"] == str(tb)
    written = sorted(tb.rglob("*"))
    again = ["--config", str(saved), "--out", str(tmp_path / "again"), "--quiet"]
    assert train.main(again) == 0
    assert sorted(tb.rglob("*")) == written  # the repeat wrote no events where run.json said


def test_log_dir_and_its_earlier_name():
    x, y = np.zeros((4, 10, 2), "float32"), np.zeros((4, 1), "float32")
    assert GradientLogger(x, y, tensorboard_dir="tb").log_dir == "tb"
    with pytest.raises(ValueError, match="differ"):
        GradientLogger(x, y, tensorboard_dir="a", log_dir="b")


def test_writing_needs_tensorflow_alone(tmp_path):
    """The tensorboard package is for viewing: with it impossible to import, a fit still writes events."""
    script = f"""
import sys
sys.modules["tensorboard"] = None  # any import of the package fails
from data import adding_problem
from models import GradientLogger, build_model
x, y = adding_problem(64, 10, seed=0)
logger = GradientLogger(x[:8], y[:8], every_n_batches=0, jit_compile=False, log_dir={str(tmp_path)!r})
build_model("simple_rnn", (10, 2), units=4).fit(x, y, batch_size=32, callbacks=[logger], verbose=0)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.glob("events.out.tfevents.*"))
