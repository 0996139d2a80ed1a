"""save_run / load_run: identical predictions, atomic writes, and refusals of bad folders."""

import json
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

from data import adding_problem
from models import GradientLogger, RunError, build_model, load_run, save_run


@pytest.fixture(scope="module")
def trained():
    x, y = adding_problem(128, 12, seed=1)
    model = build_model("lstm", (12, 2), units=6, seed=2)
    logger = GradientLogger(x[:16], y[:16], every_n_batches=2)
    history = model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    return model, x, history.history, logger.log


def save(tmp_path, trained, name="run", **kwargs):
    model, _, history, log = trained
    return save_run(
        tmp_path / "exp" / name,
        model,
        {"task": "adding", "cell": "lstm", "length": 12},
        metrics={"test_mse": 0.1},
        history=history,
        gradients=log,
        predictions=pd.DataFrame({"actual": [1.0, 2.0], "lstm": [1.1, 1.9]}),
        **kwargs,
    )


def test_save_then_load_gives_identical_predictions(tmp_path, trained):
    model, x, history, log = trained
    run = load_run(save(tmp_path, trained))
    np.testing.assert_array_equal(run.model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert run.config["length"] == 12 and run.metrics == {"test_mse": 0.1}
    assert list(run.history["loss"]) == pytest.approx(history["loss"])
    np.testing.assert_array_equal(run.gradients["h_grad_norm/lstm_1"], log["h_grad_norm/lstm_1"])
    assert list(run.predictions.columns) == ["actual", "lstm"]
    assert run.info["versions"]["keras"] == keras.__version__
    assert set(run.info["files"]) == {"model.keras", "history.csv", "gradients.npz", "predictions.csv"}


def test_existing_run_is_kept_without_overwrite(tmp_path, trained):
    path = save(tmp_path, trained)
    before = (path / "run.json").read_text()
    with pytest.raises(RunError, match="already exists"):
        save(tmp_path, trained)
    assert (path / "run.json").read_text() == before
    save(tmp_path, trained, overwrite=True)
    load_run(path)
    assert [p.name for p in path.parent.iterdir()] == ["run"]  # no temporary folders left


def test_interrupted_save_leaves_nothing_loadable(tmp_path, trained, monkeypatch):
    model = trained[0]

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("models.run_store.save_gradient_log", crash)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, trained)
    assert list((tmp_path / "exp").iterdir()) == []  # the temporary folder is removed
    # Even a half-written folder left by a killed process (no run.json yet) is refused.
    half = tmp_path / "exp" / ".run.tmp-dead"
    half.mkdir()
    model.save(half / "model.keras")
    with pytest.raises(RunError, match="no run.json"):
        load_run(half)


def test_folder_without_run_json_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no run.json"):
        load_run(tmp_path / "empty")
    with pytest.raises(RunError, match="No run folder"):
        load_run(tmp_path / "missing")


def test_truncated_model_is_refused(tmp_path, trained):
    path = save(tmp_path, trained)
    data = (path / "model.keras").read_bytes()
    (path / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunError, match="checksum mismatch"):
        load_run(path)


def test_corrupt_model_with_matching_checksum_is_refused(tmp_path, trained):
    path = save(tmp_path, trained)
    (path / "model.keras").write_bytes(b"not a zip at all")
    info = json.loads((path / "run.json").read_text())
    import hashlib

    info["files"]["model.keras"] = hashlib.sha256(b"not a zip at all").hexdigest()
    (path / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="truncated or corrupt"):
        load_run(path)


def test_model_needing_lambda_code_is_refused_and_not_run(tmp_path):
    executed = []

    def side_effect(t):
        executed.append(1)
        return t

    inputs = keras.Input((5, 2))
    hidden = keras.layers.SimpleRNN(3)(inputs)
    model = keras.Model(inputs, keras.layers.Lambda(side_effect)(hidden))
    path = save_run(tmp_path / "tampered", model, {"task": "adding"})
    executed.clear()
    with pytest.raises(RunError, match="could not be loaded safely"):
        load_run(path)
    assert executed == []


def test_tampered_config_json_in_archive_is_refused(tmp_path, trained):
    """Someone swaps the architecture inside model.keras and fixes up the checksum."""
    path = save(tmp_path, trained)
    archive = path / "model.keras"
    with zipfile.ZipFile(archive) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(entries["config.json"])
    config["config"]["layers"][1]["class_name"] = "MyEvilLayer"
    config["config"]["layers"][1]["module"] = "os"
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    import hashlib

    info = json.loads((path / "run.json").read_text())
    info["files"]["model.keras"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    (path / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="could not be loaded safely"):
        load_run(path)


def test_path_outside_root_is_refused(tmp_path, trained):
    path = save(tmp_path, trained)
    with pytest.raises(RunError, match="outside"):
        load_run(path, root=tmp_path / "elsewhere")
    assert load_run(path, root=tmp_path).config["task"] == "adding"


def test_run_json_without_its_sections_is_refused(tmp_path, trained):
    path = save(tmp_path, trained)
    info = json.loads((path / "run.json").read_text())
    del info["model"]
    (path / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="lacks model"):
        load_run(path)


def test_run_json_records_the_probe_layer(tmp_path, trained):
    run = load_run(save(tmp_path, trained))
    assert run.probe_layer == "lstm_1" and run.info["model"]["probe_layer"] == "lstm_1"


def test_a_run_of_an_earlier_format_is_refused_with_how_to_retrain(tmp_path, trained):
    path = save(tmp_path, trained)
    info = json.loads((path / "run.json").read_text())
    info["format"] = "vanishing-gradient-lab/run-1"
    (path / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="saved by an earlier version .*pipelines.train --config .*run.json --overwrite"):
        load_run(path)


def test_forecast_and_generate_refuse_runs_of_another_kind(tmp_path, trained):
    run = load_run(save(tmp_path, trained))
    with pytest.raises(RunError, match="not trained on prices"):
        run.forecast(pd.DataFrame({"Close": [1.0, 2.0]}))
    with pytest.raises(RunError, match="not trained on text"):
        run.generate("hello")
