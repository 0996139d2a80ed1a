"""The checks a run folder from elsewhere must pass before anything of it is used: model.keras read
as a zip without loading it (no code, no zip bomb, no weight that declares more than it stores, no
object a model of this lab does not hold, no config larger than its weights, run.json or the largest
model this lab loads) and run.json's preprocessing against the model's shape.

Keras' safe_mode is the second line of defence, at load time. Imports no Keras until a model loads.
"""

from __future__ import annotations

import math
import reprlib
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from data import LabError, RunError
from data.strict_json import strict_loads
from models.cells import CELL_LAYER_CLASSES, CELL_TABLE
from models.inference import check_fits, first_words

if TYPE_CHECKING:
    import keras

CODE_LAYERS = ("Lambda", "TFSMLayer")  # Keras layers whose config carries code to run
# Every object a model of models/builder.py holds, and nothing else: config.json can name any Keras
# class or function (a keras.utils function as an activation loads without complaint), so the
# archive is read against this list before Keras sees it. Each cell's layer comes from models/cells.py.
MODEL_OBJECTS = {
    ("keras", "Sequential"),
    ("keras", "DTypePolicy"),
    ("keras.optimizers", "Adam"),
    *(("keras.layers", name) for name in ("InputLayer", "Embedding", "Dense", *CELL_LAYER_CLASSES)),
    *(("keras.initializers", name) for name in ("GlorotUniform", "Identity", "Orthogonal", "RandomUniform", "Zeros")),
}
# What model.save writes. An assets/ folder would make Keras unpack files to disk, a path we never need.
MODEL_MEMBERS = {"metadata.json", "config.json", "model.weights.h5"}
# The largest model this lab loads: 2^22 parameters (16 MiB of float32), an LSTM of about 1,000 units;
# the lab's runs use 16 to 128. A model is built (its initializers run) before its weights are read,
# so a config asking for more costs minutes and gigabytes before anything could be checked.
MAX_PARAMS = 2**22
MAX_CONFIG_BYTES = 2**20  # a model's config.json is a few KB
# What model.weights.h5 may hold beyond the layers' own numbers: Adam's two slots (three with amsgrad)
# and its step and learning rate, each number at most 8 bytes, plus HDF5's own bookkeeping.
OPTIMIZER_COPIES, OPTIMIZER_SCALARS, H5_OVERHEAD = 3, 16, 2**20
RECURRENT_BLOCKS = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}  # weight blocks per recurrent cell


def weights_bytes(params: int) -> int:
    """The most a weights file of a model of `params` parameters and its optimizer can hold."""
    return ((1 + OPTIMIZER_COPIES) * params + OPTIMIZER_SCALARS) * 8 + H5_OVERHEAD


# Unpacked sizes: a recurrent model here is a few MB, so more is a zip bomb (the largest model, its
# config and metadata). Python's zipfile stops at a member's declared size, so the declared sum bounds
# what is read.
MAX_MODEL_BYTES = weights_bytes(MAX_PARAMS) + 2 * MAX_CONFIG_BYTES


def check_preprocessing(run_dir: Path, preprocessing: dict, model: keras.Model) -> None:
    """run.json's preprocessing must fit its model (windows of one price as long as the model's
    input, a vocabulary as wide as its output), so a forged value is refused, never allocated."""
    inputs, outputs = tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:])
    try:
        check_fits(preprocessing, inputs, outputs)
    except RunError as exc:  # damaged whatever the model: a scaler of NaN, of infinity, of scale 0
        message = str(exc)
        raise RunError(f"run.json in {run_dir}: {message[:1].lower()}{message[1:]}") from exc
    except (LabError, ValueError, TypeError, KeyError) as exc:
        raise RunError(f"run.json in {run_dir} does not fit its model ({first_words(exc)}): retrain the run.") from exc


def check_model_archive(path: Path, info: dict | None = None) -> None:
    """Read model.keras without loading anything: refuse a zip bomb, any object that a model of this
    lab does not hold (a Lambda, a function, a class from outside Keras), a config asking for more
    parameters than this lab loads, a weights file holding other numbers than its config's layers
    (or declaring more than it stores) and, given run.json, a model of another cell or another size
    (swapped in from another run), so neither load_run nor a page that only lists runs trusts such a
    file. Keras' safe_mode is the second line of defence at load time."""
    try:
        refuse_zip_bomb(path, MAX_MODEL_BYTES)
        with zipfile.ZipFile(path) as archive:
            members = {member.filename: member for member in archive.infolist()}
            if set(members) != MODEL_MEMBERS or len(members) != len(archive.infolist()):
                odd = sorted(set(members) - MODEL_MEMBERS) or sorted(MODEL_MEMBERS - set(members)) or ["a member"]
                raise ValueError(f"{odd[0]!r} {'in' if odd[0] in members else 'missing from'} the archive")
            for member in members.values():  # Keras stores each member whole: its size on disk bounds it
                if member.compress_type != zipfile.ZIP_STORED or member.compress_size != member.file_size:
                    raise ValueError(f"its {member.filename} is compressed, which Keras never does")
            if members["config.json"].file_size > MAX_CONFIG_BYTES:
                raise ValueError(f"its config.json is {members['config.json'].file_size / 2**20:.0f} MiB")
            config = strict_loads(archive.read("config.json"))
            objects = set(_objects(config))
    except Exception as exc:  # any failure to parse a file from elsewhere is the file's fault
        raise RunError(f"{path} is refused ({first_words(exc)}): retrain the run.") from exc
    runs_code = sorted((m, n) for m, n in objects if not (m == "keras" or m.startswith("keras.")) or n in CODE_LAYERS)
    if runs_code or not objects <= MODEL_OBJECTS:
        module, name = (runs_code or sorted(objects - MODEL_OBJECTS))[0]
        why = "which can run code" if runs_code else "which no model of this lab holds"
        raise RunError(
            f"{path} could not be loaded safely (it holds {module}.{name}, {why}): refusing it; retrain the run."
        )
    cell = (info or {}).get("config", {}).get("cell")
    names = {name for _, name in objects}
    if isinstance(cell, str) and cell in CELL_TABLE and CELL_TABLE[cell].layer not in names:
        raise RunError(f"{path} holds no {CELL_TABLE[cell].layer} layer though run.json says {cell}: retrain the run.")
    try:
        params, trainable, input_shape = config_weights(config)
    except Exception as exc:
        raise RunError(f"{path} is refused (its config {first_words(exc)}): retrain the run.") from exc
    if params > MAX_PARAMS:
        raise RunError(
            f"{path} is refused (its config asks for {params:,} parameters, more than the {MAX_PARAMS:,} this lab "
            "loads, an LSTM of about 1,000 units): retrain the run with fewer --units or --layers."
        )
    model = (info or {}).get("model", {})
    for what, ours, theirs in (
        ("parameters", trainable, "trainable_params"),
        ("input shape", input_shape, "input_shape"),
    ):
        if theirs in model and model[theirs] != ours:
            raise RunError(
                f"{path} does not match run.json (its config gives {ours} {what}, run.json "
                f"{reprlib.repr(model[theirs])}): retrain the run."
            )
    try:
        if members["model.weights.h5"].file_size > weights_bytes(params):
            raise ValueError(
                f"its weights file is {members['model.weights.h5'].file_size / 2**20:,.1f} MiB, more than "
                f"{params:,} parameters need"
            )
        with zipfile.ZipFile(path) as archive:
            _refuse_weight_bomb(archive, params)
    except Exception as exc:  # any failure to parse a file from elsewhere is the file's fault
        raise RunError(f"{path} is refused ({first_words(exc)}): retrain the run.") from exc


def config_weights(config: dict) -> tuple[int, int, list[int]]:
    """(weights, trainable weights, input shape) of a model config as this lab's builders write it
    (an input, maybe an Embedding, recurrent layers, a Dense head), counted from its numbers alone
    before Keras builds anything. A ValueError names what does not add up: a layer built for another
    input than the one before it gives, a size that is not a whole number of at least 1."""
    model = config["config"]
    layers = model["layers"]
    if config.get("class_name") != "Sequential" or not layers or layers[0].get("class_name") != "InputLayer":
        raise ValueError("is not a Sequential model starting with its input")
    batch_shape = layers[0]["config"]["batch_shape"]
    shape = [_size(size, "an input size") for size in batch_shape[1:]]
    if batch_shape[0] is not None or not 1 <= len(shape) <= 2:
        raise ValueError(f"reads inputs of shape {reprlib.repr(batch_shape)}")
    for built in (config.get("build_config", {}).get("input_shape"), model.get("build_input_shape")):
        if built is not None and built != batch_shape:
            raise ValueError(f"is built for {reprlib.repr(built)} though its input is {batch_shape}")
    params = trainable = 0
    frozen = model.get("trainable") is False
    for layer in layers[1:]:
        kind, settings = layer.get("class_name"), layer["config"]
        built = (layer.get("build_config") or {}).get("input_shape")
        if built is not None and built != [None, *shape]:
            raise ValueError(f"builds its {kind} layer for {reprlib.repr(built)} though it gets {[None, *shape]}")
        if kind == "Embedding" and len(shape) == 1:
            width = _size(settings["output_dim"], "an embedding size")
            weights = _size(settings["input_dim"], "a vocabulary size") * width
            shape = [*shape, width]
        elif kind in RECURRENT_BLOCKS and len(shape) == 2:
            units = _size(settings["units"], "a number of units")
            blocks = RECURRENT_BLOCKS[kind] * units
            bias = (2 if kind == "GRU" and settings.get("reset_after", True) else 1) * blocks
            weights = (shape[-1] + units) * blocks + bias * bool(settings.get("use_bias", True))
            shape = [shape[0], units] if settings.get("return_sequences") else [units]
        elif kind == "Dense":
            units = _size(settings["units"], "a number of units")
            weights = shape[-1] * units + units * bool(settings.get("use_bias", True))
            shape = [*shape[:-1], units]
        else:
            raise ValueError(f"has a {kind} layer where its input has shape {shape}")
        params += weights
        trainable += 0 if frozen or settings.get("trainable") is False else weights
    return params, trainable, [int(size) for size in batch_shape[1:]]


def _size(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"gives {reprlib.repr(value)} as {what}")
    return value


def _objects(config):
    """Every (module, class_name) a Keras config names, at any depth, as text (a forger may put
    anything there)."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield str(config.get("module", "keras")), str(config["class_name"])
        for value in config.values():
            yield from _objects(value)
    elif isinstance(config, list):
        for value in config:
            yield from _objects(value)


def refuse_zip_bomb(path: Path, limit: int) -> None:
    """Refuse an archive whose members declare more bytes than `limit` before extracting any."""
    if path.is_symlink():
        raise ValueError("a link")
    with zipfile.ZipFile(path) as archive:
        declared = sum(member.file_size for member in archive.infolist())
    if declared > limit:
        raise ValueError(
            f"it would unpack to {declared / 2**20:,.0f} MiB, more than the {limit / 2**20:,.0f} MiB allowed"
        )


def _refuse_weight_bomb(archive: zipfile.ZipFile, params: int) -> None:
    """Keras allocates each weight array at its declared shape before reading it, so a dataset
    that declares gigabytes and stores nothing exhausts memory from a file of a few KB
    (CVE-2026-0897; Keras 3.15.1 still allocates one declaring under 4 GiB). Keras writes every weight
    whole and uncompressed, so a genuine dataset stores at least what it declares; links and
    external or virtual datasets would read other files. The layers' arrays hold exactly the `params`
    numbers their config gives, the optimizer's at most its slots of them."""
    import h5py

    layer_numbers = numbers = 0
    with archive.open("model.weights.h5") as handle, h5py.File(handle, "r") as weights:
        links = []  # gathered first: an exception raised inside h5py's visit loses its message
        weights.visititems_links(lambda name, link: links.append((name, link)))
        for name, link in links:
            if not isinstance(link, h5py.HardLink):
                raise ValueError(f"its weights link {name} to elsewhere")
            item = weights[name]
            if not isinstance(item, h5py.Dataset):
                continue
            if item.dtype.kind not in "biuf" or item.dtype.itemsize > 8 or item.external or item.is_virtual:
                raise ValueError(f"its weight {name} is not an array stored in the file")
            count = math.prod(item.shape)
            declared = count * item.dtype.itemsize
            if item.id.get_storage_size() < declared:
                raise ValueError(f"its weight {name} declares {declared} bytes but stores fewer")
            numbers += count
            layer_numbers += count if name.startswith("layers/") else 0
    if layer_numbers != params:
        raise ValueError(f"its layers' weights hold {layer_numbers:,} numbers where its config gives {params:,}")
    if numbers > (1 + OPTIMIZER_COPIES) * params + OPTIMIZER_SCALARS:
        raise ValueError(f"its weights file holds {numbers:,} numbers, more than {params:,} parameters need")


def load_model_safely(path: Path, info: dict | None = None) -> keras.Model:
    import keras

    if not zipfile.is_zipfile(path):
        raise RunError(f"{path} is not a Keras archive (truncated or corrupt): retrain the run.")
    check_model_archive(path, info)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError/TypeError/KeyError/OSError for bad archives
        raise RunError(
            f"{path} could not be loaded safely ({first_words(exc)}): it may need custom code or be damaged; retrain the run."
        ) from exc
