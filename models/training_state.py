"""A cell's training state between epochs, in one .npz written atomically: weights, optimizer slots,
history and gradient log, so an interrupted training resumes exactly where its last epoch ended.

Plain arrays only (no pickle); the options it was trained with are kept to refuse a resume that
would mix two configurations.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data import RunError, atomic_write

if TYPE_CHECKING:
    import keras

STATE_FORMAT = "vanishing-gradient-lab/training-state-1"
META, WEIGHT, SLOT, HISTORY, LOG = "meta", "weight/", "slot/", "history/", "log/"


@dataclass
class TrainingState:
    epochs_done: int = 0
    history: list[dict] = field(default_factory=list)  # one row of Keras logs per finished epoch
    log: dict[str, np.ndarray] = field(default_factory=dict)  # the GradientLogger's records so far
    options: dict = field(default_factory=dict)  # the config it was trained with


def save_training_state(path: Path, model: keras.Model, state: TrainingState) -> None:
    """Write the state after an epoch: one file, one rename, so a kill never leaves half of one."""
    arrays = {
        META: np.array(json.dumps({"format": STATE_FORMAT, "epochs_done": state.epochs_done, "options": state.options}))
    }
    arrays |= {f"{WEIGHT}{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    arrays |= {f"{SLOT}{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)}
    history = pd.DataFrame(state.history)
    arrays |= {f"{HISTORY}{column}": history[column].to_numpy(dtype=float) for column in history}
    arrays |= {f"{LOG}{key}": value for key, value in state.log.items()}
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_training_state(path: Path, model: keras.Model) -> TrainingState:
    """Restore `model` (weights and optimizer) from a saved state and return the rest of it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = _meta(arrays.pop(META))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise damaged(path, exc) from exc
    weights = _numbered(arrays, WEIGHT)
    slots = _numbered(arrays, SLOT)
    model.optimizer.build(model.trainable_variables)
    expected = [tuple(w.shape) for w in model.get_weights()], [tuple(v.shape) for v in model.optimizer.variables]
    if ([w.shape for w in weights], [s.shape for s in slots]) != expected:
        raise RunError(f"The saved training state {path} belongs to another model: {START_AGAIN}.")
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, slots, strict=True):
        variable.assign(value)
    history = pd.DataFrame({key[len(HISTORY) :]: v for key, v in arrays.items() if key.startswith(HISTORY)})
    log = {key[len(LOG) :]: v for key, v in arrays.items() if key.startswith(LOG)}
    return TrainingState(meta["epochs_done"], history.to_dict("records"), log, meta["options"])


START_AGAIN = "delete it to train that cell from its first epoch, then rerun with --resume"


def damaged(path: Path, exc: BaseException) -> RunError:
    return RunError(f"The saved training state {path} is unreadable ({exc.__class__.__name__}): {START_AGAIN}.")


def _meta(stored: np.ndarray) -> dict:
    """The state's meta record, checked: an object of this format, whole epochs done and options an
    object (a state written by anything else is a ValueError, as damaged JSON is)."""
    meta = json.loads(str(stored))
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise ValueError("not a training state")
    epochs = meta.get("epochs_done")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError("epochs_done is not a whole number")
    if not isinstance(meta.setdefault("options", {}), dict):
        raise ValueError("options is not an object")
    return meta


def read_state_options(path: Path) -> dict | None:
    """The options a saved state was trained with, without loading any model: None if there is none;
    a state that is there but damaged is refused with one sentence (resuming would fail on it later)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return _meta(archive[META])["options"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise damaged(path, exc) from exc


def peek_training_state(path: Path) -> TrainingState | None:
    """Epochs done, history and gradient log of a state still being trained, without a model (for
    progress displays); None while it is unreadable (absent, being replaced, or damaged)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = _meta(archive[META])
            history = {key[len(HISTORY) :]: archive[key] for key in archive.files if key.startswith(HISTORY)}
            log = {key[len(LOG) :]: archive[key] for key in archive.files if key.startswith(LOG)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    return TrainingState(meta["epochs_done"], pd.DataFrame(history).to_dict("records"), log, {})


def _numbered(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    count = sum(key.startswith(prefix) for key in arrays)
    return [arrays[f"{prefix}{i}"] for i in range(count)]
