"""Run folders that others send: each hostile or damaged file is refused by `load_run` with one
RunError sentence, and nothing in it runs (a Lambda that would write a file never does)."""

import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pandas as pd
import pytest
from forgery import edit_info, edit_model_config, edit_npz, rehash

from data import CharVocab, ConfigError, RunError
from models import build_model, load_run, save_run
from models.gradient_log import gradient_horizon, gradient_horizons
from models.inference import forecast, generate, sample_index, scaling_of
from models.run_checks import check_model_archive

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


def test_a_link_to_a_run_folder_is_refused_even_without_a_root(run, tmp_path):
    (tmp_path / "linked").symlink_to(run, target_is_directory=True)
    refused(tmp_path / "linked", "is a link to another folder")


def test_a_lambda_layer_is_refused_and_never_runs(tmp_path, monkeypatch):
    import models.run_checks

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
    monkeypatch.setattr(models.run_checks, "check_model_archive", lambda path, info=None: None)
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
        (lambda a: a.update(step=np.array(["x", "y"], dtype=object)), "allow_pickle=False"),  # pickle is refused
        (lambda a: a.update(step=np.array(["x", "y"])), "not numbers"),
        (lambda a: a.pop("h_grad_norm/lstm_1"), "no h_grad_norm/lstm_1 array"),
        (lambda a: a.update({"horizon/lstm_1": np.array([9, 9])}), "horizons are not those of its gradient norms"),
        (lambda a: a.update({"h_grad_norm/lstm_1": a["h_grad_norm/lstm_1"][:, ::-1].copy()}), "inconsistent"),
        (lambda a: a.update(loss=np.ones(3)), "different lengths"),
        (lambda a: a.update(step=np.array(5)), "'step' as a single number"),
        (lambda a: a.pop("epoch"), "no epoch array"),
        (lambda a: a.update({"h_grad_norm/lstm_1": np.zeros((2, 0))}), "wrong shape"),
        (lambda a: a.update({key: value[:0] for key, value in a.items()}), "has no records"),
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
    edit_info(run, lambda info: info["metrics"].__setitem__("gradient_horizon", "9\nInjected line"))
    refused(run, "not '9\\nInjected line'")  # shown as repr, so the sentence stays on one line


def add_member(archive_path: Path, name: str, content: bytes) -> None:
    with zipfile.ZipFile(archive_path, "a") as archive:
        archive.writestr(name, content)


def test_a_gradient_log_member_that_is_not_an_array_is_refused(run):
    add_member(run / "gradients.npz", "notes", b"not an array")  # np.load returns such a member as bytes
    rehash(run, "gradients.npz")
    refused(run, "gradients.npz", "'notes' as bytes, not numbers")


def test_a_gradient_log_declaring_terabytes_is_refused(run):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    add_member(run / "gradients.npz", "huge.npy", header.getvalue() + bytes(64))
    rehash(run, "gradients.npz")
    refused(run, "gradients.npz", "cannot be read (Unable to allocate")


def test_the_horizon_check_is_the_logger_s_own_row_by_row():
    rng = np.random.default_rng(0)
    norms = rng.uniform(0, 1, (200, 12)) ** rng.uniform(0, 8, (200, 1))  # every kind of decay
    norms[::7, -1] = 0.0
    norms[3::11, -1] = np.inf
    norms[5::13, 4] = np.nan
    assert gradient_horizons(norms).tolist() == [gradient_horizon(row) for row in norms]


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


@pytest.mark.parametrize("name", ["run.json", "predictions.csv"])
def test_any_link_in_the_run_folder_is_refused_even_unlisted(run, tmp_path, name):
    outside = tmp_path / "outside"
    if (run / name).exists():
        shutil.move(run / name, outside)
    else:
        outside.write_text("date,forecast\n")
    (run / name).symlink_to(outside)
    refused(run, name, "is a link")


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
    stock_model = build_model("lstm", (STEPS, 1), units=4)  # a window of one price per day
    run = saved(tmp_path / "stock", model=stock_model, preprocessing=stock_preprocessing(STEPS))
    assert load_run(run).preprocessing["stock_scaling"]["lookback"] == STEPS
    edit_info(run, lambda info: info["preprocessing"]["stock_scaling"].__setitem__("lookback", 10**9))
    refused(run, "does not fit its model", "lookback of 1000000000")


def test_a_text_run_json_on_an_adding_model_is_refused(run):
    vocab = {"chars": ["\ufffd", "a", "b"]}
    edit_info(run, lambda info: info["preprocessing"].update(vocab=vocab, seq_len=40))
    refused(run, "does not fit its model")


@pytest.mark.parametrize(
    "preprocessing, words",
    [
        # windows as long as the model's, but of one price where the model reads two features
        (stock_preprocessing(STEPS), "a lookback of 10 days for a model reading (10, 2)"),
        # one symbol only (the unknown marker) is as wide as the adding model's single output
        ({"vocab": {"chars": ["\ufffd"]}, "seq_len": STEPS}, "a vocabulary without a character to write"),
        ({"vocab": {"chars": ["\ufffd", "a"]}, "seq_len": STEPS}, "10 characters of context and 2 symbols"),
    ],
)
def test_preprocessing_of_another_kind_that_matches_the_steps_is_refused(run, preprocessing, words):
    edit_info(run, lambda info: info["preprocessing"].update(preprocessing))
    refused(run, "does not fit its model", words)


def test_stock_scalers_of_several_columns_are_refused(tmp_path):
    stock_model = build_model("lstm", (STEPS, 1), units=4)
    run = saved(tmp_path / "stock", model=stock_model, preprocessing=stock_preprocessing(STEPS))
    wide = {"mean": [0.0] * 3, "scale": [1.0] * 3, "var": [1.0] * 3, "n_samples_seen": 5}
    edit_info(run, lambda info: info["preprocessing"]["stock_scaling"].update(feature_scaler=wide))
    refused(run, "does not fit its model", "scalers of more than one column")


@pytest.mark.parametrize(
    "scaler, statistic, value, words",
    [
        ("target_scaler", "scale", float("nan"), "its scale is [nan], where one finite number above 0"),
        ("feature_scaler", "scale", float("inf"), "its scale is [inf]"),
        ("target_scaler", "scale", 0.0, "its scale is [0.0]"),  # every forecast would be the mean return
        ("feature_scaler", "scale", -1.0, "its scale is [-1.0]"),
        ("target_scaler", "mean", float("-inf"), "its mean is [-inf], where one finite number per column"),
        ("feature_scaler", "var", float("nan"), "its var is [nan], where one finite number of 0 or more"),
        ("target_scaler", "var", -1.0, "its var is [-1.0]"),
        ("feature_scaler", "n_samples_seen", 0, "it was fitted on 0 rows"),
    ],
)
def test_a_stock_scaler_that_is_not_finite_or_not_positive_is_refused(
    tmp_path, capsys, scaler, statistic, value, words
):
    """predict printed NaN forecasts and exited 0; the Forecasts page's re-forecast showed a traceback."""
    from pipelines import predict

    run = saved(
        tmp_path / "stock", model=build_model("lstm", (STEPS, 1), units=4), preprocessing=stock_preprocessing(STEPS)
    )
    forged = [value] if statistic != "n_samples_seen" else value
    edit_info(run, lambda info: info["preprocessing"]["stock_scaling"][scaler].__setitem__(statistic, forged))
    refused(run, f"run.json in {run}: the saved {scaler.replace('_', ' ')} is damaged (", words, "retrain")
    with pytest.raises(RunError, match="is damaged"):  # what Run.forecast reads, the page's re-forecast too
        scaling_of(json.loads((run / "run.json").read_text())["preprocessing"])
    capsys.readouterr()
    assert predict.main([str(run)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and words in err  # one sentence, no forecast printed


def test_errors_from_a_model_of_another_kind_are_one_sentence(run):
    model = load_run(run).model  # reads windows of (10, 2), not of one price or of character ids
    prices = pd.DataFrame({"Close": np.linspace(10, 20, 40)}, index=pd.date_range("2020-01-01", periods=40))
    scaling = scaling_of(stock_preprocessing(STEPS))
    with pytest.raises(RunError) as error:
        forecast(model, prices, scaling)
    assert "cannot read windows of 10 days" in str(error.value) and len(str(error.value).splitlines()) == 1
    with pytest.raises(RunError) as error:
        generate(model, CharVocab.from_text("ab"), STEPS, "ab", length=3)
    assert "cannot read 10 characters" in str(error.value) and len(str(error.value).splitlines()) == 1


@pytest.mark.parametrize(
    "probe, words",
    [
        ("lstm_1\nInjected line", "lacks a probe layer name"),
        (None, "names None as the probe layer"),  # with no probe layer, no horizon would be checked
        ("head", "names 'head' as the probe layer, not the model's first recurrent layer 'lstm_1'"),
    ],
)
def test_a_forged_probe_layer_is_refused(run, probe, words):
    edit_info(run, lambda info: info["model"].__setitem__("probe_layer", probe))
    refused(run, words)


def test_run_json_nested_thousands_deep_is_refused(run):
    (run / "run.json").write_text("[" * 100_000 + "]" * 100_000)
    refused(run, "run.json is not valid JSON")


def test_a_config_nested_thousands_deep_is_refused(run):
    path = run / "model.keras"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = b"[" * 100_000 + b"]" * 100_000
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    rehash(run, "model.keras")
    refused(run, "model.keras is refused (maximum recursion depth")


@pytest.mark.parametrize(
    "change, words",
    [
        # a Keras function where an activation goes: Keras 3.15 loads it and would call it on every input
        (
            lambda layer: layer["config"].__setitem__(
                "activation", {"module": "keras.utils", "class_name": "function", "config": "pad_sequences"}
            ),
            "keras.utils.function, which no model of this lab holds",
        ),
        (lambda layer: layer.update(class_name="Conv1D"), "keras.layers.Conv1D, which no model of this lab holds"),
        (lambda layer: layer.update(class_name=["Dense"]), "which no model of this lab holds"),  # not even text
    ],
)
def test_keras_objects_no_model_of_this_lab_holds_are_refused(run, change, words):
    edit_model_config(run, lambda config: change(config["config"]["layers"][-1]))
    refused(run, "could not be loaded safely", words)


def test_every_model_the_builder_makes_passes_the_archive_check(tmp_path):
    """The list of objects a model may hold covers what models/builder.py builds, for every cell."""
    from models.builder import count_params
    from models.reservoir import build_reservoir_model

    models = {
        "simple_rnn": build_model("simple_rnn", (STEPS, 2), units=4, layers=2, dropout=0.1, clipnorm=1.0),
        "lstm": build_model("lstm", (STEPS,), units=4, n_classes=5, vocab_size=5, embedding_dim=3),
        "gru": build_model("gru", (STEPS, 3), units=4, n_classes=3, per_step=True),
        "esn": build_reservoir_model((STEPS,), units=4, n_classes=5, vocab_size=5, embedding_dim=3),
    }
    models["simple_rnn"].fit(np.zeros((4, STEPS, 2)), np.zeros((4, 1)), verbose=0)  # Adam's slots saved too
    for cell, model in models.items():
        model.save(tmp_path / f"{cell}.keras")
        shape = list(model.inputs[0].shape[1:])
        described = {"config": {"cell": cell}, "model": {"trainable_params": count_params(model), "input_shape": shape}}
        check_model_archive(tmp_path / f"{cell}.keras", described)


def test_an_archive_with_files_model_save_never_writes_is_refused(run):
    add_member(run / "model.keras", "assets/notes.txt", b"unpacked to disk by Keras")
    rehash(run, "model.keras")
    refused(run, "model.keras is refused ('assets/notes.txt' in the archive")


def forge_first_weight(run: Path, make) -> None:
    """Rebuild model.weights.h5 inside model.keras with its first weight made by `make(file, name)`."""
    path = run / "model.keras"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    forged = io.BytesIO()
    with h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as old, h5py.File(forged, "w") as new:
        names = []
        old.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
        make(new, names[0])
        for name in names[1:]:
            new.create_dataset(name, data=old[name][()])
    members["model.weights.h5"] = forged.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    rehash(run, "model.keras")


def link_to(target):
    def make(weights, name):
        weights.create_dataset("elsewhere", data=np.zeros(4, "float32"))
        weights[name] = target

    return make


@pytest.mark.parametrize(
    "make, words",
    [
        # 256 MiB declared, nothing stored: Keras would allocate it (and copies) from a 12 KB file
        (lambda weights, name: weights.create_dataset(name, shape=(2**26,), dtype="f4"), "stores fewer"),
        (link_to(h5py.SoftLink("/elsewhere")), "link"),
        (link_to(h5py.ExternalLink("/etc/hostname", "/data")), "link"),
    ],
)
def test_a_weights_file_that_declares_more_than_it_stores_or_links_out_is_refused(run, make, words):
    forge_first_weight(run, make)
    refused(run, "model.keras is refused (its weight", words)


def test_generation_never_emits_the_unknown_marker():
    vocab = CharVocab.from_text("ab")
    model = build_model("lstm", (5,), units=4, n_classes=vocab.size, vocab_size=vocab.size, embedding_dim=2)
    bias = model.layers[-1].bias
    bias.assign(np.array([10.0, 0.0, 0.0], "float32"))  # the marker is by far the most likely
    for temperature in (0.0, 1.0, 3.0):
        assert "\ufffd" not in generate(model, vocab, 5, "ab", length=30, temperature=temperature)[2:]


def test_generation_refuses_a_model_that_gives_only_the_unknown_marker():
    vocab = CharVocab.from_text("ab")
    model = build_model("lstm", (5,), units=4, n_classes=vocab.size, vocab_size=vocab.size, embedding_dim=2)
    model.layers[-1].bias.assign(np.array([200.0, 0.0, 0.0], "float32"))  # the others underflow to exactly 0
    for temperature in (0.0, 1.0):
        with pytest.raises(RunError, match="no character a probability above 0"):
            generate(model, vocab, 5, "ab", length=3, temperature=temperature)


@pytest.mark.parametrize("temperature", [float("inf"), float("nan"), -1.0, "1"])
def test_a_temperature_that_is_not_a_finite_number_is_refused(temperature):
    with pytest.raises(ConfigError, match="The temperature must be a finite number, 0 or more") as error:
        sample_index(np.array([0.0, 0.5, 0.5]), temperature, np.random.default_rng(0))
    assert len(str(error.value).splitlines()) == 1


def test_sampling_skips_ids_whose_probability_is_not_a_number():
    probs = np.array([0.0, np.nan, 0.3, 0.7])
    assert sample_index(probs, 0, np.random.default_rng(0)) == 3  # argmax alone would pick the NaN
    assert {sample_index(probs, 5.0, np.random.default_rng(seed)) for seed in range(50)} == {2, 3}
    assert sample_index(probs, 1e-300, np.random.default_rng(0)) == 3  # a tiny temperature is greedy, not NaN


def test_keras_reasons_are_cut_at_a_word():
    from models.inference import first_words

    reason = first_words(ValueError("word " * 100 + "\nsecond line"))
    assert reason.endswith("word…") and len(reason) <= 161 and "second" not in reason
    assert first_words(ValueError("\x1b[1mDimensions must be equal\x1b[0m\n\nmore")) == "Dimensions must be equal"


@pytest.fixture
def keras_builds(monkeypatch) -> list:
    """Every model Keras is asked to build: a refusal from the archive alone leaves it empty."""
    calls = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *args, **kwargs: calls.append(args))
    return calls


def rewrite_archive(run: Path, compression=zipfile.ZIP_STORED, **replaced: bytes) -> None:
    """model.keras with members replaced (config_json=..., weights=...) and packed with `compression`."""
    path = run / "model.keras"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members.update({{"config_json": "config.json", "weights": "model.weights.h5"}[k]: v for k, v in replaced.items()})
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    rehash(run, "model.keras")


def weights_with_first(run: Path, array: np.ndarray) -> bytes:
    """model.weights.h5 of the run with its first weight replaced by `array`, really stored."""
    with zipfile.ZipFile(run / "model.keras") as archive:
        old_bytes = archive.read("model.weights.h5")
    forged = io.BytesIO()
    with h5py.File(io.BytesIO(old_bytes), "r") as old, h5py.File(forged, "w") as new:
        names = []
        old.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
        new.create_dataset(names[0], data=array)
        for name in names[1:]:
            new.create_dataset(name, data=old[name][()])
    return forged.getvalue()


EIGHT_MIB = np.zeros(2**21, "float32")  # stored in full; a 4-unit model and its optimizer need a few KB


@pytest.mark.parametrize(
    "forge, words",
    [
        # 8 MiB of zeros deflated to 8 KB: the 1 GiB of the probe is the same file with more zeros
        (
            lambda run: rewrite_archive(run, zipfile.ZIP_DEFLATED, weights=weights_with_first(run, EIGHT_MIB)),
            "is compressed, which Keras never does",
        ),
        # stored as Keras stores it, so the file is as large as what it holds: still more than the config needs
        (
            lambda run: rewrite_archive(run, weights=weights_with_first(run, EIGHT_MIB)),
            "its weights file is 8.0 MiB, more than 117 parameters need",
        ),
        # a kernel of another shape, the file small: the layers hold other numbers than the config gives
        (
            lambda run: rewrite_archive(run, weights=weights_with_first(run, np.zeros((200, 16), "float32"))),
            "its layers' weights hold 3,313 numbers where its config gives 117",
        ),
    ],
)
def test_weights_larger_than_the_config_gives_are_refused_before_keras_builds_anything(run, keras_builds, forge, words):
    forge(run)
    refused(run, "model.keras is refused", words)
    assert keras_builds == []


def grow_units(config, units=4000, rebuilt=False):
    """The recurrent layer of `config` made `units` wide; `rebuilt`: the head's build shape to match."""
    layers = config["config"]["layers"]
    layers[1]["config"]["units"] = units
    if rebuilt:
        layers[2]["build_config"]["input_shape"] = [None, units]


def forged_count(run: Path, params: int) -> None:
    edit_info(run, lambda info: info["model"].__setitem__("trainable_params", params))


@pytest.mark.parametrize(
    "forge, words",
    [
        # the probe's edit: 2.2 GB and minutes of Keras building a 4000-unit LSTM before the head refused it
        (
            lambda run: edit_model_config(run, grow_units),
            "builds its Dense layer for [None, 4] though it gets [None, 4000]",
        ),
        (
            lambda run: edit_model_config(run, lambda c: grow_units(c, 6, rebuilt=True)),
            "does not match run.json (its config gives 223 parameters, run.json 117)",
        ),
        # run.json forged to agree: more than any model this lab loads
        (
            lambda run: (edit_model_config(run, lambda c: grow_units(c, rebuilt=True)), forged_count(run, 64052001)),
            "asks for 64,052,001 parameters, more than the 4,194,304 this lab loads",
        ),
        # within the bound and agreeing with run.json, but its weights are a 4-unit model's
        (
            lambda run: (edit_model_config(run, lambda c: grow_units(c, 6, rebuilt=True)), forged_count(run, 223)),
            "its layers' weights hold 117 numbers where its config gives 223",
        ),
        (lambda run: edit_model_config(run, lambda c: grow_units(c, 0)), "gives 0 as a number of units"),
        (lambda run: edit_model_config(run, lambda c: grow_units(c, True)), "gives True as a number of units"),
        (
            lambda run: edit_model_config(
                run, lambda c: c["config"]["layers"][0]["config"].__setitem__("batch_shape", [None, 10, 2, 10**9])
            ),
            "reads inputs of shape",
        ),
    ],
)
def test_a_config_larger_than_its_weights_or_run_json_is_refused_before_keras_builds_anything(
    run, keras_builds, forge, words
):
    forge(run)
    refused(run, "model.keras", words)
    assert keras_builds == []
