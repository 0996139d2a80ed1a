"""The text task's sample after each epoch: written by training without disturbing it, the same for
the same seed, refused when forged, and shown on the Text page (which still renders runs without them)."""

import inspect
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import RunError
from pipelines.tasks.text import SAMPLE_LENGTH, TextConfig, TextTask, epoch_samples_of

TINY = {"max_chars": 3000, "seq_len": 10, "embedding_dim": 4, "units": 4, "batch_size": 32, "log_every": 5}
TIMEOUT = 120


def train_with_samples(epochs: int, *, samples: bool = True, seed: int = 0):
    """A tiny lstm trained as pipelines.experiment.train_cell trains it (its epoch trainer, reseeded each
    epoch), with or without the task's epoch callbacks; its weights and what evaluate would save."""
    from models.execution import compile_model
    from models.reseed import reseed
    from pipelines.experiment import build_cell, epoch_seed, epoch_trainer

    task, config = TextTask(), TextConfig(epochs=epochs, seed=seed, cells=["lstm"], **TINY)
    prepared = task.prepare(config)
    model = build_cell(config, prepared, "lstm")
    compile_model(model, False)  # op by op: the tiny model needs no XLA
    callbacks = task.epoch_callbacks(config, prepared, "lstm") if samples else []
    train = epoch_trainer(model, prepared, config, callbacks, compiled=False)
    for epoch in range(epochs):
        reseed(epoch_seed(config.seed, epoch))
        train(epoch)
    outputs = task.evaluate(config, prepared, model, "lstm", task.baselines(config, prepared)).outputs
    return [w.numpy() for w in model.weights], outputs


def test_one_sample_per_epoch_is_kept_the_same_for_the_same_seed_and_training_is_undisturbed():
    weights, outputs = train_with_samples(2)
    kept = epoch_samples_of(outputs)
    assert [epoch for epoch, _ in kept] == [1, 2]
    assert all(len(text) == SAMPLE_LENGTH for _, text in kept)
    assert kept[0][1] != kept[1][1]  # the same draws every epoch: the model changed, so the text did
    again_weights, again = train_with_samples(2)
    assert again["epoch_samples"] == outputs["epoch_samples"]
    plain_weights, plain = train_with_samples(2, samples=False)
    assert "epoch_samples" not in plain
    for with_samples, without in zip(weights, plain_weights, strict=True):
        np.testing.assert_array_equal(with_samples, without)  # generating drew nothing training uses
    assert plain["samples"] == outputs["samples"]


@pytest.mark.skipif(
    "epoch_callbacks" not in inspect.getsource(__import__("pipelines.experiment").experiment),
    reason="pipelines/experiment.py does not call Task.epoch_callbacks yet",
)
def test_a_trained_text_run_saves_a_sample_per_epoch(tmp_path):
    from models.run_store import load_run
    from pipelines.experiment import run_experiment

    config = TextConfig(epochs=2, cells=["gru"], out=str(tmp_path), **TINY)
    run = load_run(run_experiment(config).runs["gru"])
    assert [epoch for epoch, _ in epoch_samples_of(run.info["outputs"])] == [1, 2]


@pytest.mark.parametrize(
    "forged, words",
    [
        ("not a list", "not a list"),
        ([{"epoch": 1, "text": "x"}] * 10_001, "at most 10,000 epochs"),
        ([{"epoch": 1, "text": "x" * 1_000_000}], "1,000,000 characters"),
        ([{"epoch": 1, "text": ["x"]}], "list, not a text"),
        ([{"epoch": 2, "text": "a"}, {"epoch": 1, "text": "b"}], "epoch 1 after 2"),
        ([{"epoch": True, "text": "a"}], "epoch True"),
        ([{"epoch": 0, "text": "a"}], "epoch 0 after 0"),
        (["text"], "epoch None"),
    ],
)
def test_forged_samples_are_refused_in_one_sentence(forged, words):
    with pytest.raises(RunError) as refused:
        epoch_samples_of({"epoch_samples": forged})
    message = str(refused.value)
    assert words in message and message.endswith("retrain the run.") and "\n" not in message


def test_the_caption_measures_how_far_back_each_cell_reads():
    from dashboard.text_page import connectivity_caption, reach

    assert reach(np.array([0.001, 0.5, 0.02, 1.0, 0.3])) == (4, 2)  # 0.001 is under 1% of the strongest
    assert reach(np.array([0.02, 0.0, 1.0])) == (3, 1)
    caption = connectivity_caption({"simple_rnn": np.array([0.02, 0.0, 1.0]), "lstm": np.array([0.0, 1.0, 0.5])})
    assert (
        "simple_rnn reaches 3 characters back (all it reads) and depends most on the one 1 back; "
        "lstm reaches 2 characters back and depends most on the one 2 back." in caption
    )


def test_runs_without_samples_give_none():
    assert epoch_samples_of({}) == [] and epoch_samples_of({"samples": {"0.5": "x"}}) == []


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory):
    """A tiny text experiment (simple_rnn and lstm), whatever the pipeline saves of samples."""
    from pipelines.experiment import run_experiment

    out = tmp_path_factory.mktemp("text-runs")
    run_experiment(TextConfig(epochs=2, cells=["simple_rnn", "lstm"], out=str(out), **TINY))
    return out


def runs_folder(text_runs, tmp_path, samples) -> str:
    """A copy of the experiment whose runs keep `samples` (cell -> list, None: the key removed, as in
    runs saved before samples were kept)."""
    out = tmp_path / "runs"
    shutil.copytree(text_runs, out)
    for cell, kept in samples.items():
        path = out / "text-shakespeare" / cell / "run.json"
        info = json.loads(path.read_text())
        info["outputs"].pop("epoch_samples", None)
        if kept is not None:
            info["outputs"]["epoch_samples"] = kept
        path.write_text(json.dumps(info))
    return str(out)


def text_page(monkeypatch, folder: str) -> AppTest:
    monkeypatch.setenv("VGL_RUNS_DIR", folder)
    return AppTest.from_string("from dashboard import text_page\ntext_page.render()\n", default_timeout=TIMEOUT)


def test_the_text_page_renders_runs_saved_without_samples(text_runs, tmp_path, monkeypatch):
    app = text_page(monkeypatch, runs_folder(text_runs, tmp_path, {"simple_rnn": None, "lstm": None})).run()
    assert not app.exception and not app.error and not app.warning
    assert any("without a sample after each epoch" in caption.value for caption in app.caption)
    assert not app.select_slider


def test_the_text_page_shows_each_epochs_sample_beside_its_bpc(text_runs, tmp_path, monkeypatch):
    samples = [{"epoch": 1, "text": "first epoch"}, {"epoch": 2, "text": "second epoch"}]
    folder = runs_folder(text_runs, tmp_path, {"simple_rnn": samples, "lstm": samples})
    app = text_page(monkeypatch, folder).run()
    assert not app.exception and not app.error
    assert [c.value.endswith("second epoch") for c in app.code] == [True, True]
    info = json.loads((tmp_path / "runs" / "text-shakespeare" / "lstm" / "run.json").read_text())
    assert app.code[1].value == info["outputs"]["prompt"] + "second epoch"
    app.select_slider[0].set_value(1).run()
    assert [c.value.endswith("first epoch") for c in app.code] == [True, True]
    history = pd.read_csv(tmp_path / "runs" / "text-shakespeare" / "lstm" / "history.csv")
    bits = history["val_loss"].iloc[0] / np.log(2)  # epoch 1's, from the run's own history
    assert f"**lstm**: {bits:.2f} bits per character on validation text" in [m.value for m in app.markdown]


def test_forged_samples_are_one_warning_and_the_page_goes_on(text_runs, tmp_path, monkeypatch):
    forged = [{"epoch": 1, "text": "x" * 1_000_000}]
    app = text_page(monkeypatch, runs_folder(text_runs, tmp_path, {"simple_rnn": forged, "lstm": None})).run()
    assert not app.exception and not app.error
    assert len(app.warning) == 1 and "1,000,000 characters" in app.warning[0].value
    assert not app.code  # the other run keeps none, the forged one shows none


def test_generated_text_stays_when_connectivity_is_toggled_and_no_raw_line_break_shows(
    text_runs, tmp_path, monkeypatch
):
    app = text_page(monkeypatch, runs_folder(text_runs, tmp_path, {})).run()
    app.text_input[0].set_value("ROMEO: ")
    app.button[0].click().run()
    generated = [t.value for t in app.text if t.value.startswith("ROMEO: ")]
    assert len(generated) == 2
    passage = app.slider[-1]  # the connectivity position: put a line break inside the shown context
    from data import load_corpus

    text = load_corpus("shakespeare").text[-240:]
    position = next(i for i in range(31, len(text) - 2) if "\n" in text[i - 5 : i + 1])
    passage.set_value(position).run()
    app.toggle[0].set_value(True).run()
    assert not app.exception and not app.error
    assert [t.value for t in app.text if t.value.startswith("ROMEO: ")] == generated
    shown = [m.value for m in app.markdown if m.value.startswith("Predicting")]
    assert shown and "↵" in shown[0] and "\\n" not in shown[0]
    caption = app.caption[-1].value
    assert "simple_rnn reaches" in caption and "lstm reaches" in caption
    assert any(c.value == TextTask.horizon_meaning for c in app.caption)  # what a horizon means on text
