"""The task registry and the configs: every task is found through the registry, validates itself,
and the copy task (added as one module plus its generator) scores as the literature says."""

import math
import subprocess
import sys

import numpy as np
import pytest

from data import ConfigError, copy_baseline_nats, copy_task
from pipelines.tasks import TASKS, config_from_saved, get_task
from pipelines.tasks.adding import AddingConfig
from pipelines.tasks.copy import CopyConfig
from pipelines.tasks.stock import StockConfig, StockPredict
from pipelines.tasks.text import TextConfig


def test_every_registered_task_names_its_config_and_headline():
    assert list(TASKS) == ["stock", "text", "adding", "copy"]
    for name, task in TASKS.items():
        assert task.name == name and task.config_class.task == name
        assert task.config_class().to_dict()["task"] == name


def test_an_unregistered_task_is_an_error_not_a_fall_through():
    with pytest.raises(ConfigError, match="Unknown task 'forecast': choose one of stock, text, adding, copy"):
        get_task("forecast")
    with pytest.raises(ConfigError, match="Unknown task"):
        config_from_saved({"task": "forecast", "epochs": 1})


def test_a_saved_config_round_trips_and_unknown_keys_are_refused():
    config = StockConfig(ticker="MSFT", lookback=20, folds=3)
    assert config_from_saved({**config.to_dict(), "cell": "lstm"}) == config
    with pytest.raises(ConfigError, match="unknown field\\(s\\) momentum for task adding"):
        config_from_saved({**AddingConfig().to_dict(), "momentum": 0.9})


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: AddingConfig(epochs=0), "--epochs must be at least 1 (got 0)"),
        (lambda: AddingConfig(cells=["lstm", "lstm"]), "names a cell twice"),
        (lambda: AddingConfig(cells=[]), "Unknown cell (none given)"),
        (lambda: AddingConfig(length=1), "--length must be at least 2"),
        (lambda: CopyConfig(length=0), "--length must be at least 1"),
        (lambda: AddingConfig(learning_rate=0), "--learning-rate must be a positive number"),
        (lambda: AddingConfig(clipnorm=-1.0), "--clipnorm must be a positive number or none"),
        (lambda: AddingConfig(dropout=1.0), "--dropout must be at least 0 and below 1"),
        (lambda: StockConfig(folds=1), "--folds must be 0 (none) or at least 2"),
        (lambda: StockConfig(target="volume"), "--target must be one of return, price"),
        (lambda: TextConfig(max_chars=1), "--max-chars must be at least 2 or none"),
        (lambda: StockPredict(show=0), "--show must be at least 1 (got 0)"),
    ],
)
def test_configs_validate_themselves_when_built(make, message):
    with pytest.raises(ConfigError) as error:
        make()
    assert message in str(error.value)


def test_copy_task_has_the_standard_layout():
    x, y = copy_task(64, gap=7, seed=1)
    assert x.shape == (64, 27, 10) and y.shape == (64, 27)
    ids = x.argmax(axis=-1)
    assert ((ids[:, :10] >= 1) & (ids[:, :10] <= 8)).all()  # 10 symbols from an alphabet of 8
    assert (ids[:, 10:16] == 0).all() and (ids[:, 16] == 9).all() and (ids[:, 17:] == 0).all()  # T-1 blanks, delimiter
    assert (y[:, :17] == 0).all()
    np.testing.assert_array_equal(y[:, 17:], ids[:, :10])  # the last 10 steps reproduce the symbols
    np.testing.assert_array_equal(copy_task(64, 7, seed=1)[0], x)  # seeded


def test_copy_task_memoryless_strategy_scores_the_closed_form():
    """Blank with certainty until the delimiter, then a uniform guess: 10 ln 8 / (T + 20) nats per step."""
    task, gap = TASKS["copy"], 30
    x, y = copy_task(200, gap, seed=0)
    memoryless = np.zeros((*y.shape, 9))
    memoryless[:, :-10, 0] = 1.0
    memoryless[:, -10:, 1:] = 1 / 8
    scores = task.metrics(task.config_class(length=gap), y, memoryless)
    assert scores["test_xent"] == pytest.approx(10 * math.log(8) / (gap + 20), rel=1e-9)
    assert copy_baseline_nats(gap) == pytest.approx(scores["test_xent"], rel=1e-9)
    perfect = np.eye(9)[y]
    assert task.metrics(task.config_class(length=gap), y, perfect) == {
        "test_xent": pytest.approx(0, abs=1e-9),
        "recall_accuracy": 1.0,
        "solved": True,
    }


def test_copy_task_trains_with_a_per_step_head_and_logs_its_gradient(tmp_path):
    from models import load_run
    from pipelines.experiment import run_experiment

    config = CopyConfig(
        length=5, samples=300, epochs=1, units=4, batch_size=32, log_every=5, probe_size=8, out=str(tmp_path)
    )
    result = run_experiment(config)
    table = result.table.set_index("model")
    assert table.loc["memoryless", "test_xent"] == pytest.approx(10 * math.log(8) / 25)
    run = load_run(result.runs["lstm"])
    assert run.model.output_shape == (None, 25, 9)  # one softmax per step
    assert run.gradients["h_grad_norm/lstm_1"].shape[1] == 25
    assert 0 <= run.metrics["recall_accuracy"] <= 1 and run.metrics["gradient_horizon"] <= 24
    # the gradient probe's loss is the recall steps' cross-entropy alone, recomputed here independently
    x, y = copy_task(300, 5, seed=0)
    probe_x, probe_y = x[240:248], y[240:248]  # the first 8 validation sequences
    predicted = run.model.predict(probe_x, verbose=0)
    picked = np.take_along_axis(predicted[:, -10:], probe_y[:, -10:, None], axis=-1)
    assert run.gradients["loss"][-1] == pytest.approx(-np.mean(np.log(picked)), rel=1e-4)
    # the Training page draws the memoryless score beside the loss: the loss must be in test_xent's units
    level = TASKS["copy"].loss_level(result.table)
    assert level == ("memoryless", pytest.approx(10 * math.log(8) / 25))
    test_x, test_y = x[270:], y[270:]
    import keras

    predicted = run.model.predict(test_x, verbose=0)
    keras_loss = float(np.mean(keras.losses.sparse_categorical_crossentropy(test_y, predicted)))  # fit's loss
    ours = TASKS["copy"].metrics(config, test_y, predicted)["test_xent"]
    assert keras_loss == pytest.approx(ours, rel=1e-4)


def test_help_and_usage_errors_start_no_tensorflow(tmp_path):
    """Help, a bad option and a run that is already there are answered before TensorFlow loads."""
    run = tmp_path / "runs" / "adding-T10" / "lstm"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"format": "vanishing-gradient-lab/run-2", "config": {}}')
    existing = ["--task", "adding", "--length", "10", "--cells", "lstm", "--name", "adding-T10"]
    existing += ["--out", str(tmp_path / "runs")]  # a name given is refused when taken
    code = (
        "import sys, contextlib, io\n"
        "from pipelines import train, sweep, predict\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:\n"
        "    codes = [train.main(['--help']), sweep.main(['--help']), predict.main(['--help']), train.main(['--epochs', 'x'])]\n"
        f"    codes.append(train.main({existing!r}))\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules]\n"
        "print(codes, heavy, 'already holds runs' in err.getvalue())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "[0, 0, 0, 2, 2] [] True", result.stderr


def test_a_task_missing_a_method_cannot_be_made():
    from pipelines.tasks.base import Task

    class Forgetful(Task):  # no evaluate, no use_saved
        name = "forgetful"

        def prepare(self, config):
            return None

        def baselines(self, config, prepared):
            return None

    with pytest.raises(TypeError, match="abstract"):
        Forgetful()
