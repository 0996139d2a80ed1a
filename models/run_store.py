"""The run store: one self-describing folder per trained cell, written atomically, loaded safely.

A run folder holds model.keras, run.json (config, metrics, preprocessing, the probe layer, versions
and a SHA-256 of every file), history.csv, gradients.npz and, for forecasts, predictions.csv.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import reprlib
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data import RunError
from data.strict_json import strict_loads
from models.faults import fault_point
from models.gradient_log import (
    EPOCH,
    GLOBAL_GRAD,
    LOSS,
    STEP,
    gradient_horizons,
    h_grad_key,
    horizon_key,
    load_gradient_log,
    save_gradient_log,
)
from models.inference import first_words, forecast, generate, scaling_of, text_setup_of
from models.run_checks import check_model_archive, check_preprocessing, load_model_safely, refuse_zip_bomb

if TYPE_CHECKING:
    import keras

RUN_FORMAT = "vanishing-gradient-lab/run-2"
MODEL, INFO, HISTORY, GRADIENTS, PREDICTIONS = (
    "model.keras",
    "run.json",
    "history.csv",
    "gradients.npz",
    "predictions.csv",
)
SECTIONS = ("config", "metrics", "preprocessing", "outputs", "model", "files")
RUN_FILES = (MODEL, HISTORY, GRADIENTS, PREDICTIONS)  # what run.json may list, and nothing else
REQUIRED_FILES = (MODEL, HISTORY, GRADIENTS)
MAX_GRADIENT_BYTES = 512 * 2**20
HORIZON_CHECK_VALUES = 2**22  # gradient norms re-checked per slice, so a huge forged log needs no huge copy


@dataclass
class Run:
    """A loaded run: the Keras model and everything needed to use it as it was trained."""

    path: Path
    model: keras.Model
    config: dict
    metrics: dict
    preprocessing: dict
    history: pd.DataFrame
    gradients: dict[str, np.ndarray]
    predictions: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)

    @property
    def probe_layer(self) -> str:
        """The recurrent layer whose gradient must reach back to the earliest inputs (the first)."""
        return probe_layer_of(self.info)

    def forecast(self, prices: pd.DataFrame) -> pd.DataFrame:
        """Forecast every window of `prices` with the run's own scaling (stock runs)."""
        return forecast(self.model, prices, scaling_of(self.preprocessing))

    def generate(self, prompt: str, length: int = 200, temperature: float = 1.0, seed: int = 0) -> str:
        """Continue `prompt` by `length` characters with the run's own vocabulary (text runs)."""
        vocab, seq_len = text_setup_of(self.preprocessing)
        return generate(self.model, vocab, seq_len, prompt, length, temperature, seed)


def probe_layer_of(info: dict) -> str:
    """The layer a run's gradient log summarises, as its run.json records it."""
    return info["model"]["probe_layer"]


def library_versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def save_run(
    run_dir: str | Path,
    model: keras.Model,
    config: dict,
    *,
    metrics: dict | None = None,
    preprocessing: dict | None = None,
    outputs: dict | None = None,
    history: dict | pd.DataFrame | None = None,
    gradients: dict[str, np.ndarray] | None = None,
    predictions: pd.DataFrame | None = None,
    execution: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a run folder atomically: everything goes into a hidden temporary folder beside it,
    run.json last, and only then is it renamed into place. An interrupted save leaves no folder
    that `load_run` accepts. `outputs` holds what a run produced besides metrics (text samples);
    `execution` how its steps ran (compiled by XLA or op by op, and why)."""
    from models.builder import count_params
    from models.unroll import recurrent_layers

    run_dir = Path(run_dir)
    if run_dir.exists() and not overwrite:
        raise RunError(f"A run already exists at {run_dir}: choose another name or pass overwrite=True (--overwrite).")
    rnns = recurrent_layers(model)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    discard_partial_saves(run_dir)
    tmp = run_dir.parent / f".{run_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        model.save(tmp / MODEL)
        history_frame = pd.DataFrame(history if history is not None else {})
        history_frame.index.name = "epoch"
        history_frame.to_csv(tmp / HISTORY)
        save_gradient_log(gradients or {}, tmp / GRADIENTS)
        if predictions is not None:
            predictions.to_csv(tmp / PREDICTIONS, index=False)
        files = sorted(p.name for p in tmp.iterdir())
        info = {
            "format": RUN_FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": config,
            "metrics": metrics or {},
            "preprocessing": preprocessing or {},
            "outputs": outputs or {},
            "model": {
                "name": model.name,
                "input_shape": list(model.inputs[0].shape[1:]),
                "trainable_params": count_params(model),
                "probe_layer": rnns[0].name if rnns else None,
                **({"execution": execution} if execution is not None else {}),
            },
            "epochs_completed": len(history_frame),
            "versions": library_versions(),
            "files": {name: _sha256(tmp / name) for name in files},
        }
        (tmp / INFO).write_text(json.dumps(info, indent=2, default=_json_default))
        fault_point("save")  # the fault tests kill a training exactly here
        if run_dir.exists():
            old = run_dir.parent / f".{run_dir.name}.old-{uuid.uuid4().hex[:8]}"
            run_dir.rename(old)
            tmp.rename(run_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_dir


def discard_partial_saves(run_dir: Path) -> None:
    """Remove what a save killed mid-way left beside `run_dir` (hidden .tmp-/.old- folders of this
    store's own naming); the caller holds the experiment, so no other save is under way."""
    for leftover in run_dir.parent.glob(f".{run_dir.name}.*-*"):
        if leftover.is_dir() and not leftover.is_symlink() and leftover.name.split(".")[-1][:4] in ("tmp-", "old-"):
            shutil.rmtree(leftover, ignore_errors=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def is_finished_run(run_dir: str | Path) -> bool:
    """A folder holds a finished run once its run.json exists (it is written last)."""
    return (Path(run_dir) / INFO).is_file()


def read_run_info(run_dir: str | Path) -> dict:
    """run.json of a finished run, checked for its sections, without loading the model (for listings)."""
    run_dir = Path(run_dir)
    info_path = run_dir / INFO
    if run_dir.is_symlink():
        raise RunError(f"{run_dir} is a link to another folder: open the run folder itself, inside its experiment.")
    if not run_dir.is_dir():
        raise RunError(f"No run folder at {run_dir}: check the path (runs live under runs/<experiment>/<cell>/).")
    if info_path.is_symlink():
        raise RunError(f"run.json in {run_dir} is a link to another file: refusing the run; retrain it.")
    if not info_path.is_file():
        raise RunError(f"{run_dir} has no run.json, so it is not a finished run: retrain it or pick another folder.")
    try:
        info = strict_loads(info_path.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
        raise RunError(f"{info_path} is not valid JSON ({first_words(exc)}): the run is damaged; retrain it.") from exc
    saved_format = info.get("format") if isinstance(info, dict) else None
    if (
        isinstance(saved_format, str)
        and saved_format.startswith("vanishing-gradient-lab/")
        and saved_format != RUN_FORMAT
    ):
        raise RunError(
            f"{run_dir} was saved by an earlier version ({saved_format}, this one reads {RUN_FORMAT}): "
            f"retrain it with `python -m pipelines.train --config {info_path} --overwrite`."
        )
    if saved_format != RUN_FORMAT:
        raise RunError(f"{info_path} is not a Vanishing Gradient Lab run file (format {RUN_FORMAT}): retrain the run.")
    missing = [key for key in SECTIONS if not isinstance(info.get(key), dict)]
    if not missing and not {"input_shape", "trainable_params", "probe_layer"} <= set(info["model"]):
        missing = ["the model description"]
    elif not missing and not _is_layer_name(info["model"]["probe_layer"]):
        missing = ["a probe layer name"]  # it names arrays and goes into messages: one printable line
    if missing:
        raise RunError(f"{info_path} lacks {', '.join(missing)}: the run is damaged; retrain it.")
    return info


def _is_layer_name(name) -> bool:
    """A Keras layer name as save_run records it (None: a model without recurrent layers)."""
    return name is None or (isinstance(name, str) and 0 < len(name) <= 200 and name.isprintable())


def load_run(run_dir: str | Path, *, root: str | Path | None = None) -> Run:
    """Load a run folder, refusing anything damaged, tampered with or outside `root`.

    Every file must match the SHA-256 recorded in run.json, and model.keras is loaded with
    Keras safe_mode on, so a model carrying Lambda or custom code is refused, never executed.
    """
    from models.builder import count_params

    run_dir = Path(run_dir)
    if root is not None and not run_dir.resolve().is_relative_to(Path(root).resolve()):
        raise RunError(f"{run_dir} is outside {root}: load runs from inside the runs folder only.")
    info = read_run_info(run_dir)
    verify_files(run_dir, info)
    model = load_model_safely(run_dir / MODEL, info)
    expected_shape = info["model"]["input_shape"]
    if list(model.inputs[0].shape[1:]) != expected_shape or count_params(model) != info["model"]["trainable_params"]:
        raise RunError(
            f"model.keras in {run_dir} does not match run.json (input shape or parameter count): retrain the run."
        )
    check_preprocessing(run_dir, info["preprocessing"], model)
    _check_probe_layer(run_dir, info, model)
    listed = info["files"]
    return Run(
        path=run_dir,
        model=model,
        config=info["config"],
        metrics=info["metrics"],
        preprocessing=info["preprocessing"],
        history=read_history(run_dir),
        gradients=read_gradients(run_dir, probe_layer=probe_layer_of(info), metrics=info["metrics"]),
        predictions=_read_predictions(run_dir) if PREDICTIONS in listed else None,
        info=info,
    )


def verify_files(run_dir: Path, info: dict) -> None:
    """run.json lists the run's own files only (model, history, gradient log, maybe predictions),
    each a plain file inside the folder, present and unchanged since the run was saved."""
    files = info["files"]
    unknown = sorted(str(name) for name in files if name not in RUN_FILES)
    if unknown:  # never hash a path run.json chooses: that would tell a forger what any file holds
        raise RunError(
            f"run.json in {run_dir} lists {unknown[0]!r}, which is not a run file: the run is damaged; retrain it."
        )
    missing = [name for name in REQUIRED_FILES if name not in files]
    if missing:
        raise RunError(f"run.json in {run_dir} lists no {missing[0]}: the run is damaged; retrain it.")
    with os.scandir(run_dir) as entries:  # a link could lead any read to any file: a run folder holds none
        links = sorted(entry.name for entry in entries if entry.is_symlink())
    if links:
        raise RunError(f"{links[0]!r} in {run_dir} is a link to another file: refusing the run; retrain it.")
    for name, digest in files.items():
        path = run_dir / name
        if not path.is_file():
            raise RunError(f"{run_dir} lacks {name}, which run.json lists: the run is incomplete; retrain it.")
        if _sha256(path) != digest:
            raise RunError(
                f"{name} in {run_dir} changed since the run was saved (checksum mismatch): refusing to load it; retrain the run."
            )


def _check_probe_layer(run_dir: Path, info: dict, model: keras.Model) -> None:
    """The probe layer must be the model's first recurrent layer: the gradient log is checked
    against it, so naming another (or none) would let a forged log through."""
    from models.unroll import recurrent_layers

    rnns = recurrent_layers(model)
    expected = rnns[0].name if rnns else None
    if probe_layer_of(info) != expected:
        raise RunError(
            f"run.json in {run_dir} names {probe_layer_of(info)!r} as the probe layer, not the model's first "
            f"recurrent layer {expected!r}: retrain the run."
        )


def read_history(run_dir: str | Path) -> pd.DataFrame:
    """The per-epoch losses of a run (history.csv)."""
    try:
        return pd.read_csv(Path(run_dir) / HISTORY, index_col="epoch")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RunError(f"history.csv in {run_dir} cannot be read ({exc.__class__.__name__}): retrain the run.") from exc


def _read_predictions(run_dir: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(run_dir / PREDICTIONS)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RunError(
            f"predictions.csv in {run_dir} cannot be read ({exc.__class__.__name__}): retrain the run."
        ) from exc


def read_gradients(
    run_dir: str | Path, *, probe_layer: str | None = None, metrics: dict | None = None
) -> dict[str, np.ndarray]:
    """The gradient log of a run (gradients.npz), refused if unreadable, oversized, ragged or not
    numeric; given the probe layer, also if its arrays are missing or inconsistent (horizons that
    are not the ones its gradient norms give: a forged horizon) or disagree with run.json's metrics."""
    path = Path(run_dir) / GRADIENTS
    where = f"gradients.npz in {run_dir}"
    try:
        refuse_zip_bomb(path, MAX_GRADIENT_BYTES)
        gradients = load_gradient_log(path)
    except Exception as exc:  # any failure to parse a file from elsewhere is the file's fault: BadZipFile,
        # zlib.error, EOFError, a pickled object array, a header declaring terabytes (MemoryError)...
        raise RunError(f"{where} cannot be read ({first_words(exc)}): retrain the run.") from exc
    for key, value in gradients.items():  # a member that is not .npy reads as bytes, not an array
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise RunError(f"{where} holds {key!r} as {kind}, not numbers: the run is damaged; retrain it.")
        if value.ndim == 0:
            raise RunError(
                f"{where} holds {key!r} as a single number, not one per record: the run is damaged; retrain it."
            )
    if len({len(value) for value in gradients.values()}) > 1:
        raise RunError(f"{where} has arrays of different lengths: the run is damaged; retrain it.")
    if probe_layer is None:
        return gradients
    needed = [STEP, EPOCH, LOSS, GLOBAL_GRAD, h_grad_key(probe_layer), horizon_key(probe_layer)]
    missing = [key for key in needed if key not in gradients]
    if missing:
        raise RunError(f"{where} has no {missing[0]} array: the run is damaged; retrain it.")
    norms, horizons = gradients[h_grad_key(probe_layer)], gradients[horizon_key(probe_layer)]
    if norms.ndim != 2 or norms.shape[1] == 0 or horizons.ndim != 1:
        raise RunError(f"{where} has gradient norms of the wrong shape: the run is damaged; retrain it.")
    rows = max(1, HORIZON_CHECK_VALUES // norms.shape[1])
    for start in range(0, len(norms), rows):
        if not np.array_equal(gradient_horizons(norms[start : start + rows]), horizons[start : start + rows]):
            raise RunError(
                f"{where} is inconsistent: its horizons are not those of its gradient norms; retrain the run."
            )
    saved = (metrics or {}).get("gradient_horizon")
    if saved is not None and not len(horizons):
        raise RunError(f"{where} has no records, though run.json gives a gradient horizon: retrain the run.")
    if saved is not None and saved != int(horizons[-1]):  # whole numbers: they equal the recomputed ones
        raise RunError(
            f"{where} does not match run.json (gradient horizon {int(horizons[-1])}, not {reprlib.repr(saved)}): "
            "retrain the run."
        )
    return gradients


def model_summary(run_dir: str | Path) -> pd.DataFrame:
    """The model's layers as a table (class, name, units, activation, input shape), read from
    model.keras's config after the same checks as load_run, without loading Keras."""
    path = Path(run_dir) / MODEL
    check_model_archive(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    layers = config.get("config", {}).get("layers", []) if isinstance(config, dict) else []
    rows = []
    for layer in layers if isinstance(layers, list) else []:
        settings = layer.get("config", {}) if isinstance(layer, dict) else {}
        size = settings.get("units", settings.get("output_dim"))
        rows.append(
            {
                "layer": str(layer.get("class_name", "?")),
                "name": str(settings.get("name", "")),
                "units": None if size is None else str(size),
                "activation": None if settings.get("activation") is None else str(settings.get("activation")),
                "shape": None if settings.get("batch_shape") is None else str(settings["batch_shape"][1:]),
            }
        )
    return pd.DataFrame(rows, columns=["layer", "name", "units", "activation", "shape"])
