"""The checks a run folder from elsewhere must pass before anything of it is used: model.keras read
as a zip without loading it (no code, no zip bomb, no weight that declares more than it stores, no
object a model of this lab does not hold) and run.json's preprocessing against the model's shape.

Keras' safe_mode is the second line of defence, at load time. Imports no Keras until a model loads.
"""

from __future__ import annotations

import math
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
# Unpacked sizes: a recurrent model here is a few MB and a gradient log a few, so more is a zip
# bomb. Python's zipfile stops at a member's declared size, so the declared sum bounds what is read.
MAX_MODEL_BYTES = 2 * 2**30


def check_preprocessing(run_dir: Path, preprocessing: dict, model: keras.Model) -> None:
    """run.json's preprocessing must fit its model (windows of one price as long as the model's
    input, a vocabulary as wide as its output), so a forged value is refused, never allocated."""
    inputs, outputs = tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:])
    try:
        check_fits(preprocessing, inputs, outputs)
    except (LabError, ValueError, TypeError, KeyError) as exc:
        raise RunError(f"run.json in {run_dir} does not fit its model ({first_words(exc)}): retrain the run.") from exc


def check_model_archive(path: Path, info: dict | None = None) -> None:
    """Read model.keras without loading anything: refuse a zip bomb, a weights file whose arrays
    declare more than they store, any object that a model of this lab does not hold (a Lambda, a
    function, a class from outside Keras) and, given run.json, a model of another cell (swapped in
    from another run), so neither load_run nor a page that only lists runs trusts such a file.
    Keras' safe_mode is the second line of defence at load time."""
    try:
        refuse_zip_bomb(path, MAX_MODEL_BYTES)
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if members != MODEL_MEMBERS:
                odd = sorted(members - MODEL_MEMBERS) or sorted(MODEL_MEMBERS - members)
                raise ValueError(f"{odd[0]!r} {'in' if odd[0] in members else 'missing from'} the archive")
            config = strict_loads(archive.read("config.json"))
            objects = set(_objects(config))
            _refuse_weight_bomb(archive)
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
        raise ValueError(f"it would unpack to {declared / 2**20:.0f} MiB")


def _refuse_weight_bomb(archive: zipfile.ZipFile) -> None:
    """Keras allocates each weight array at its declared shape before reading it, so a dataset
    that declares gigabytes and stores nothing exhausts memory from a file of a few KB
    (CVE-2026-0897; Keras 3.15.1 still allocates one declaring under 4 GiB). Keras writes every weight
    whole and uncompressed, so a genuine dataset stores at least what it declares; links and
    external or virtual datasets would read other files."""
    import h5py

    with archive.open("model.weights.h5") as handle, h5py.File(handle, "r") as weights:
        links = []  # gathered first: an exception raised inside h5py's visit loses its message
        weights.visititems_links(lambda name, link: links.append((name, link)))
        for name, link in links:
            if not isinstance(link, h5py.HardLink):
                raise ValueError(f"its weights link {name} to elsewhere")
            item = weights[name]
            if not isinstance(item, h5py.Dataset):
                continue
            if item.dtype.kind not in "biuf" or item.external or item.is_virtual:
                raise ValueError(f"its weight {name} is not an array stored in the file")
            declared = math.prod(item.shape) * item.dtype.itemsize
            if item.id.get_storage_size() < declared:
                raise ValueError(f"its weight {name} declares {declared} bytes but stores fewer")


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
