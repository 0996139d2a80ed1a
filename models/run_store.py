"""The run store: one self-describing folder per trained cell, written atomically, loaded safely.

A run folder holds model.keras, run.json (config, metrics, preprocessing, the probe layer, versions
and a SHA-256 of every file), history.csv, gradients.npz and, for forecasts, predictions.csv.
"""

from __future__ import annotations

import hashlib
import json
import platform
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
from models.gradient_log import load_gradient_log, save_gradient_log
from models.inference import forecast, generate, scaling_of, text_setup_of

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
    overwrite: bool = False,
) -> Path:
    """Write a run folder atomically: everything goes into a hidden temporary folder beside it,
    run.json last, and only then is it renamed into place. An interrupted save leaves no folder
    that `load_run` accepts. `outputs` holds what a run produced besides metrics (text samples)."""
    from models.builder import count_params
    from models.unroll import recurrent_layers

    run_dir = Path(run_dir)
    if run_dir.exists() and not overwrite:
        raise RunError(f"A run already exists at {run_dir}: choose another name or pass overwrite=True (--overwrite).")
    rnns = recurrent_layers(model)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
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
            },
            "epochs_completed": len(history_frame),
            "versions": library_versions(),
            "files": {name: _sha256(tmp / name) for name in files},
        }
        (tmp / INFO).write_text(json.dumps(info, indent=2, default=_json_default))
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
    if not run_dir.is_dir():
        raise RunError(f"No run folder at {run_dir}: check the path (runs live under runs/<experiment>/<cell>/).")
    if not info_path.is_file():
        raise RunError(f"{run_dir} has no run.json, so it is not a finished run: retrain it or pick another folder.")
    try:
        info = json.loads(info_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunError(f"{info_path} is not valid JSON: the run is damaged; retrain it.") from exc
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
    if missing:
        raise RunError(f"{info_path} lacks {', '.join(missing)}: the run is damaged; retrain it.")
    return info


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
    if MODEL not in info["files"]:
        raise RunError(f"run.json in {run_dir} lists no model.keras: the run is damaged; retrain it.")
    model = _load_model_safely(run_dir / MODEL)
    expected_shape = info["model"]["input_shape"]
    if list(model.inputs[0].shape[1:]) != expected_shape or count_params(model) != info["model"]["trainable_params"]:
        raise RunError(
            f"model.keras in {run_dir} does not match run.json (input shape or parameter count): retrain the run."
        )
    predictions_path = run_dir / PREDICTIONS
    return Run(
        path=run_dir,
        model=model,
        config=info["config"],
        metrics=info["metrics"],
        preprocessing=info["preprocessing"],
        history=read_history(run_dir),
        gradients=read_gradients(run_dir),
        predictions=pd.read_csv(predictions_path) if predictions_path.is_file() else None,
        info=info,
    )


def verify_files(run_dir: Path, info: dict) -> None:
    """Every file run.json lists is present and unchanged since the run was saved."""
    for name, digest in info["files"].items():
        path = run_dir / name
        if not path.is_file():
            raise RunError(f"{run_dir} lacks {name}, which run.json lists: the run is incomplete; retrain it.")
        if _sha256(path) != digest:
            raise RunError(
                f"{name} in {run_dir} changed since the run was saved (checksum mismatch): refusing to load it; retrain the run."
            )


def read_history(run_dir: str | Path) -> pd.DataFrame:
    """The per-epoch losses of a run (history.csv)."""
    try:
        return pd.read_csv(Path(run_dir) / HISTORY, index_col="epoch")
    except (OSError, ValueError) as exc:
        raise RunError(f"history.csv in {run_dir} cannot be read ({exc.__class__.__name__}): retrain the run.") from exc


def read_gradients(run_dir: str | Path) -> dict[str, np.ndarray]:
    """The gradient log of a run (gradients.npz), refused if unreadable or ragged."""
    try:
        gradients = load_gradient_log(Path(run_dir) / GRADIENTS)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise RunError(
            f"gradients.npz in {run_dir} cannot be read ({exc.__class__.__name__}): retrain the run."
        ) from exc
    if gradients and len({len(v) for v in gradients.values()}) != 1:
        raise RunError(f"gradients.npz in {run_dir} has arrays of different lengths: the run is damaged; retrain it.")
    return gradients


def _load_model_safely(path: Path) -> keras.Model:
    import keras

    if not zipfile.is_zipfile(path):
        raise RunError(f"{path} is not a Keras archive (truncated or corrupt): retrain the run.")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError/TypeError/KeyError/OSError for bad archives
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else exc.__class__.__name__
        raise RunError(
            f"{path} could not be loaded safely ({reason}): it may need custom code or be damaged; retrain the run."
        ) from exc
