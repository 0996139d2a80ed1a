"""Run folders that others send: each hostile or damaged file is refused by `load_run` with one
RunError sentence, and nothing in it runs (a Lambda that would write a file never does)."""

import shutil
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from forgery import edit_info, edit_model_config, edit_npz, rehash

from data import RunError
from models import build_model, load_run, save_run
from models.gradient_log import gradient_horizon

STEPS, FEATURES = 10, 2


def a_log(steps=STEPS, records=2) -> dict[str, np.ndarray]:
    norms = np.tile(0.5 ** np.arange(steps)[::-1], (records, 1)).astype("float32")
    return {
        "step": np.arange(1, records + 1),
        "epoch": np.zeros(records, int),
        "loss": np.ones(records),
        "global_grad_norm": np.ones(records),
        "h_grad_norm/lstm_1": norms,
        "horizon/lstm_1": np.array([gradient_horizon(row) for row in norms]),
    }


def saved(folder: Path, model=None, **extra) -> Path:
    model = model or build_model("lstm", (STEPS, FEATURES), units=4)
    log = a_log()
    return save_run(
        folder,
        model,
        {"task": "adding", "cell": "lstm", "length": STEPS},
        metrics={"gradient_horizon": int(log["horizon/lstm_1"][-1])},
        gradients=log,
        history={"loss": [1.0]},
        **extra,
    )


def refused(run: Path, *words: str) -> str:
    with pytest.raises(RunError) as error:
        load_run(run)
    message = str(error.value)
    assert len(message.splitlines()) == 1 and all(word in message for word in words), message
    return message


@pytest.fixture
def run(tmp_path) -> Path:
    return saved(tmp_path / "run")


def test_a_genuine_run_loads(run):
    assert load_run(run).gradients["horizon/lstm_1"].shape == (2,)


def test_a_lambda_layer_is_refused_and_never_runs(tmp_path, monkeypatch):
    import models.run_store

    marker = tmp_path / "executed"
    code = f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]"
    model = keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            keras.layers.LSTM(4, name="lstm_1"),
            keras.layers.Lambda(eval(code), output_shape=(4,)),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    model(np.zeros((1, STEPS, FEATURES), "float32"))
    marker.unlink()  # calling it once above proved it would write the marker
    run = saved(tmp_path / "run", model=model)  # valid checksums
    refused(run, "could not be loaded safely", "Lambda, which can run code")  # read from its config alone
    monkeypatch.setattr(models.run_store, "check_model_archive", lambda path, info=None: None)
    refused(run, "could not be loaded safely")  # without that check, Keras' safe_mode still refuses it
    assert not marker.exists()


def test_a_custom_object_from_an_arbitrary_module_is_refused(run):
    def to_popen(config):
        layer = config["config"]["layers"][-1]
        layer.update(module="subprocess", class_name="Popen", registered_name=None)

    edit_model_config(run, to_popen)
    refused(run, "could not be loaded safely")


@pytest.mark.parametrize(
    "cell, units, words",
    [("gru", 4, "holds no LSTM layer though run.json says lstm"), ("lstm", 6, "does not match run.json")],
)
def test_a_model_swapped_in_from_another_run_is_refused(run, tmp_path, cell, units, words):
    other = saved(tmp_path / "other", model=build_model(cell, (STEPS, FEATURES), units=units))
    shutil.copy(other / "model.keras", run / "model.keras")
    rehash(run, "model.keras")
    refused(run, words)


def test_edited_checksums_are_refused(run):
    edit_info(run, lambda info: info["files"].__setitem__("gradients.npz", "0" * 64))
    refused(run, "gradients.npz", "checksum mismatch")


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda a: a.update(step=np.array(["x", "y"], dtype=object)), "cannot be read"),  # pickle is refused
        (lambda a: a.update(step=np.array(["x", "y"])), "not numbers"),
        (lambda a: a.pop("h_grad_norm/lstm_1"), "no h_grad_norm/lstm_1 array"),
        (lambda a: a.update({"horizon/lstm_1": np.array([9, 9])}), "horizons are not those of its gradient norms"),
        (lambda a: a.update({"h_grad_norm/lstm_1": a["h_grad_norm/lstm_1"][:, ::-1].copy()}), "inconsistent"),
        (lambda a: a.update(loss=np.ones(3)), "different lengths"),
    ],
)
def test_a_forged_gradient_log_is_refused(run, change, words):
    edit_npz(run, change)
    refused(run, "gradients.npz", words)


def test_a_truncated_gradient_log_with_a_recomputed_hash_is_refused(run):
    data = (run / "gradients.npz").read_bytes()
    (run / "gradients.npz").write_bytes(data[: len(data) // 2])
    rehash(run, "gradients.npz")
    refused(run, "gradients.npz", "cannot be read")


def test_a_horizon_that_disagrees_with_run_json_is_refused(run):
    edit_info(run, lambda info: info["metrics"].__setitem__("gradient_horizon", 0))
    refused(run, "does not match run.json (gradient horizon")


def zip_bomb(path: Path, declared: int) -> None:
    """A small archive whose member says it unpacks to `declared` bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b"{}")
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central and local headers
        start = raw.find(signature)
        raw[start + offset : start + offset + 4] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("name, words", [("model.keras", "would unpack to"), ("gradients.npz", "cannot be read")])
def test_a_zip_bomb_is_refused_before_it_is_unpacked(run, name, words):
    zip_bomb(run / name, 4_000_000_000)
    rehash(run, name)
    refused(run, name.split(".")[0], words)


def test_a_symlink_out_of_the_run_folder_is_refused(run, tmp_path):
    outside = tmp_path / "outside.keras"
    shutil.move(run / "model.keras", outside)
    (run / "model.keras").symlink_to(outside)
    refused(run, "model.keras", "is a link")


@pytest.mark.parametrize("name", ["../../../../etc/hostname", "/etc/hostname", "notes.txt"])
def test_run_json_may_list_only_the_run_files(run, name):
    edit_info(run, lambda info: info["files"].__setitem__(name, "0" * 64))
    refused(run, repr(name), "not a run file")


@pytest.mark.parametrize("name", ["model.keras", "history.csv", "gradients.npz"])
def test_a_required_file_missing_from_run_json_is_refused(run, name):
    edit_info(run, lambda info: info["files"].pop(name))
    refused(run, f"lists no {name}")


def test_a_file_not_listed_in_run_json_is_never_read(run):
    (run / "predictions.csv").write_text("date,forecast\nnot,checked\n")
    assert load_run(run).predictions is None


def stock_preprocessing(lookback):
    from data import StockScaling

    close = np.linspace(10, 20, 200)
    return {
        "stock_scaling": StockScaling.fit(close, lookback=lookback, horizon=1, target="return", train_end=150).to_dict()
    }


def test_preprocessing_that_does_not_fit_the_model_is_refused(tmp_path):
    run = saved(tmp_path / "stock", preprocessing=stock_preprocessing(STEPS))
    assert load_run(run).preprocessing["stock_scaling"]["lookback"] == STEPS
    edit_info(run, lambda info: info["preprocessing"]["stock_scaling"].__setitem__("lookback", 10**9))
    refused(run, "does not fit its model", "lookback of 1000000000")


def test_a_text_run_json_on_an_adding_model_is_refused(run):
    vocab = {"chars": ["\ufffd", "a", "b"]}
    edit_info(run, lambda info: info["preprocessing"].update(vocab=vocab, seq_len=40))
    refused(run, "does not fit its model")


def test_generation_never_emits_the_unknown_marker():
    from data import CharVocab
    from models.inference import generate

    vocab = CharVocab.from_text("ab")
    model = build_model("lstm", (5,), units=4, n_classes=vocab.size, vocab_size=vocab.size, embedding_dim=2)
    bias = model.layers[-1].bias
    bias.assign(np.array([10.0, 0.0, 0.0], "float32"))  # the marker is by far the most likely
    for temperature in (0.0, 1.0, 3.0):
        assert "\ufffd" not in generate(model, vocab, 5, "ab", length=30, temperature=temperature)[2:]


def test_keras_reasons_are_cut_at_a_word():
    from models.run_store import _first_words

    reason = _first_words(ValueError("word " * 100 + "\nsecond line"))
    assert reason.endswith("word…") and len(reason) <= 161 and "second" not in reason
