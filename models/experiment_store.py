"""The experiment store: an experiment folder holds one run per cell, the comparison table, the
predictions of every cell merged into one table, experiment.json (the options every cell shares and
the tables' checksums) and, for sweeps, the trials and their summary.

Only this module knows the file names of an experiment folder; every table is written atomically
through one writer, one process at a time (a lock file), and every failure to read is a RunError.
Imports no Keras.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from data import ConfigError, LabError, RunError, atomic_write
from data.strict_json import strict_loads
from models.cells import CELLS
from models.run_checks import check_model_archive
from models.run_store import (
    GRADIENTS,
    MODEL,
    PREDICTIONS,
    is_finished_run,
    probe_layer_of,
    read_gradients,
    read_run_info,
    verify_files,
)

COMPARISON, MERGED_PREDICTIONS, TRIALS, SWEEP_SUMMARY = "comparison.csv", PREDICTIONS, "trials.csv", "sweep.csv"
INFO = "experiment.json"  # written last: the shared options and the checksums of the tables
EXPERIMENT_FORMAT = "vanishing-gradient-lab/experiment-1"
BACKUPS = ".backup"  # per-cell training state kept only until the cell's run is saved
TRAINING_STATE = "state.npz"
LOCK = ".lock"
NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")
MAX_NAME = 100  # characters; well under the 255 bytes a folder name may have
MAX_DEPTH = 2  # an experiment, or a sweep's trial inside its sweep folder
NOT_SHARED = ("cells", "out", "name", "tensorboard")  # options that may differ between the cells of one experiment


@dataclass
class Experiment:
    """A loaded experiment: its tables, and the run.json (and optionally gradient log) of each finished cell."""

    path: Path
    comparison: pd.DataFrame  # one row per cell and baseline; "model" names it
    predictions: pd.DataFrame | None = None  # test-split predictions of every cell and baseline
    runs: dict[str, dict] = field(default_factory=dict)  # cell -> run.json
    gradients: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # cell -> gradient log

    def probe_layer(self, cell: str) -> str:
        return probe_layer_of(self.runs[cell])


def check_name(name: str) -> str:
    """An experiment name is a plain folder name (a sweep nests its trials one level down)."""
    parts = str(name).split("/")
    if len(str(name)) > MAX_NAME or len(parts) > MAX_DEPTH or not all(NAME_PART.fullmatch(p) for p in parts):
        raise ConfigError(
            f"The experiment name {name!r} is not a plain folder name: use at most {MAX_NAME} letters, digits, "
            "'.', '-', '_', '+' and '=' (a letter or digit first)."
        )
    return str(name)


def experiment_path(root: str | Path, name: str) -> Path:
    """The folder of experiment `name` under `root`, refused if it would lie anywhere else."""
    path = Path(root, *check_name(name).split("/"))
    if not path.resolve().is_relative_to(Path(root).resolve()):  # e.g. a symlink inside root
        raise RunError(f"{path} resolves outside {root}: remove the link or choose another --name.")
    return path


def check_writable(root: str | Path) -> None:
    """Refuse an --out that cannot hold experiments before anything trains (a file, a read-only folder)."""
    root = Path(root)
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir():
        raise RunError(f"--out {root} is inside {existing}, which is not a folder: give a folder for the runs.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunError(f"--out {root} cannot be written (no permission on {existing}): choose a folder you can write.")


def run_path(experiment: Path, cell: str) -> Path:
    return experiment / cell


def backup_path(experiment: Path, cell: str) -> Path:
    """Where a cell's training state lives while it trains, so an interrupted run can resume."""
    return experiment / BACKUPS / cell


def training_state_path(experiment: Path, cell: str) -> Path:
    return backup_path(experiment, cell) / TRAINING_STATE


def saved_gradient_log(experiment: Path, cell: str) -> dict[str, np.ndarray]:
    """The gradient log of a cell's saved run, unverified (a progress display's quick look)."""
    from models.gradient_log import load_gradient_log

    path = run_path(experiment, cell) / GRADIENTS
    try:
        return load_gradient_log(path)
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} cannot be read ({exc.__class__.__name__}): retrain the run.") from exc


def finished_cells(experiment: Path, cells) -> list[str]:
    return [cell for cell in cells if is_finished_run(run_path(experiment, cell))]


@dataclass
class CellProgress:
    """Where one cell of an experiment stands: finished, or epochs done so far (with its log)."""

    finished: bool
    epochs_done: int = 0
    log: dict[str, np.ndarray] = field(default_factory=dict)


def training_progress(experiment: Path, cells) -> dict[str, CellProgress]:
    """Each cell's progress, read from the store while another process trains (never blocks it)."""
    from models.training_state import peek_training_state

    progress = {}
    for cell in cells:
        if is_finished_run(run_path(experiment, cell)):
            progress[cell] = CellProgress(True)
            continue
        state = peek_training_state(training_state_path(experiment, cell))
        progress[cell] = CellProgress(False, state.epochs_done, state.log) if state else CellProgress(False)
    return progress


def trial_name(sweep: str, trial: str) -> str:
    """The experiment name of one trial of a sweep (its folder inside the sweep's)."""
    return f"{sweep}/{trial}"


def split_trial(name: str) -> tuple[str, str | None]:
    """(sweep, trial) of a trial's experiment name; (name, None) for an experiment of its own."""
    sweep, _, trial = name.partition("/")
    return sweep, trial or None


def value_trial_name(sweep: str, option: str, value, seed: int) -> str:
    """The experiment name of a sweep's trial of one option value and seed."""
    return trial_name(sweep, f"{option}-{value}-seed{seed}")


@dataclass
class Group:
    """An experiment of its own, or a sweep with its trials (experiment names, in natural order)."""

    name: str
    trials: list[str]  # experiment names; [name] for a plain experiment

    @property
    def is_sweep(self) -> bool:
        return self.trials != [self.name]

    def label(self) -> str:
        return f"{self.name} (sweep, {len(self.trials)} trials)" if self.is_sweep else self.name

    def trial_labels(self) -> list[str]:
        """The trials as a sweep's page lists them (without the sweep's name)."""
        return [split_trial(trial)[1] or trial for trial in self.trials]

    def trial(self, label: str) -> str:
        """The experiment name of the trial listed as `label`."""
        return self.trials[self.trial_labels().index(label)]


def experiment_groups(root: str | Path) -> list[Group]:
    """Experiments under root, each sweep's trials grouped under the sweep."""
    found: dict[str, list[str]] = {}
    for name in list_experiments(root):
        found.setdefault(split_trial(name)[0], []).append(name)
    return [Group(name, sorted(trials, key=natural_order)) for name, trials in found.items()]


def natural_order(name: str) -> list:
    """'length-6' before 'length-10': numbers inside names compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def check_replaceable(experiment: Path, cell: str) -> None:
    """Only a run of this project may be replaced: a folder of anything else is never deleted."""
    folder = run_path(experiment, cell)
    if folder.is_symlink() or (folder.exists() and _saved_run_json(folder) is None):
        raise RunError(f"{folder} exists but is not a saved run: move it out of the way, or choose another --name.")


def _saved_run_json(folder: Path) -> dict | None:
    """run.json of a run saved by any version of this project (earlier formats included), else None."""
    try:
        info = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    ours = isinstance(info, dict) and str(info.get("format", "")).startswith("vanishing-gradient-lab/run-")
    return info if ours and isinstance(info.get("config"), dict) else None


def shared_options(config: dict) -> dict:
    """The options every cell of one experiment must share."""
    return {key: value for key, value in config.items() if key not in NOT_SHARED and key != "cell"}


def stored_options(experiment: Path, cells) -> dict | None:
    """The shared options the experiment was trained with: experiment.json's, else a finished run's."""
    info = read_experiment_info(experiment)
    if info is not None:
        return info["options"]
    for cell in cells:
        info = _saved_run_json(run_path(experiment, cell))
        if info is not None:
            return shared_options(info["config"])
    return None


def describe_difference(stored: dict, wanted: dict) -> str:
    """The first option on which two configs differ, as '--units 32 there, 64 here'."""
    for key in sorted(set(stored) | set(wanted)):
        if stored.get(key) != wanted.get(key):
            return f"--{key.replace('_', '-')} {stored.get(key)} there, {wanted.get(key)} here"
    return "no difference"


def read_experiment_info(experiment: Path) -> dict | None:
    path = experiment / INFO
    if not path.is_file():
        return None
    try:
        info = strict_loads(path.read_text())
        if info.get("format") != EXPERIMENT_FORMAT or not isinstance(info.get("options"), dict):
            raise ValueError("not an experiment file")
        if not isinstance(info.get("files"), dict):
            raise ValueError("no files")
    except (OSError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path} is damaged ({exc.__class__.__name__}): retrain the experiment.") from exc
    return info


def write_experiment_info(experiment: Path, options: dict) -> None:
    """experiment.json: the shared options, and the checksums of the tables written so far."""
    files = {
        name: _sha256(experiment / name) for name in (COMPARISON, MERGED_PREDICTIONS) if (experiment / name).is_file()
    }
    info = {"format": EXPERIMENT_FORMAT, "options": options, "files": files}
    with atomic_write(experiment / INFO) as handle:
        json.dump(info, handle, indent=2)


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@contextmanager
def experiment_lock(experiment: Path) -> Iterator[None]:
    """Hold the experiment for one process (an OS file lock, so one left by a killed process is free
    again): a second writer is refused with a sentence, the same process may take it again (the
    default runs hold all their folders while each trains), and folders this creates are removed
    again if left empty."""
    created = [p for p in (experiment, *experiment.parents) if not p.exists()]
    experiment.mkdir(parents=True, exist_ok=True)
    path = experiment / LOCK
    lock = FileLock(path, timeout=0, is_singleton=True, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        _remove_empty(created)
        owner = _lock_owner(path)
        raise RunError(
            f"{experiment} is being written by another training"
            + (f" (process {owner})" if owner else "")
            + ": wait for it to finish, or choose another --name."
        ) from None
    except BaseException:
        _remove_empty(created)
        raise
    try:
        if lock.lock_counter == 1:
            path.write_text(str(os.getpid()))  # for the refusal's sentence only: the OS lock is the lock
        yield
    finally:
        if lock.lock_counter == 1:
            path.unlink(missing_ok=True)  # while still held: filelock retries a lock on an unlinked file
        lock.release()
        _remove_empty(created)


@dataclass(frozen=True)
class ExperimentRequest:
    """One call's wish to train `cells` into experiment `name` under `root` with these options (a
    config as a dict; `defaults` are the defaults of every option, for experiments saved before an
    option existed). The store decides what may be trained: `check` refuses early, `open` holds the
    experiment and hands out a writer."""

    root: str | Path
    name: str
    cells: tuple[str, ...]
    config: dict
    defaults: dict
    overwrite: bool = False
    resume: bool = False

    @property
    def path(self) -> Path:
        return experiment_path(self.root, self.name)

    @property
    def options(self) -> dict:
        return shared_options(self.config)

    def check(self) -> list[str]:
        """The cells this call trains, after refusing anything that would mix or destroy runs: an --out
        that cannot be written, a folder that is not a run, cells already trained (without --overwrite
        or --resume), or options that differ from those the experiment's other cells were trained with."""
        check_writable(self.root)
        experiment, wanted = self.path, self.options
        for cell in self.cells:
            check_replaceable(experiment, cell)
        existing = finished_cells(experiment, self.cells)
        if existing and not (self.overwrite or self.resume):
            raise RunError(
                f"{experiment} already holds runs for {', '.join(existing)}: pass --resume to keep them and train "
                "the rest, --overwrite to replace them, or choose another --name."
            )
        stored = self._with_defaults(stored_options(experiment, CELLS))
        if stored is not None and stored != wanted:
            others = [c for c in finished_cells(experiment, CELLS) if c not in self.cells or not self.overwrite]
            if others:
                raise ConfigError(
                    f"{experiment} holds runs trained with other options ({describe_difference(stored, wanted)}): "
                    "repeat its options to add or resume cells, or choose another --name."
                )
        if self.resume:
            from models.training_state import read_state_options

            for cell in self.cells:
                saved = self._with_defaults(read_state_options(training_state_path(experiment, cell)))
                if saved is not None and saved != wanted:
                    raise ConfigError(
                        f"The interrupted {cell} run in {experiment} was trained with other options "
                        f"({describe_difference(saved, wanted)}): repeat them to resume, or pass --overwrite."
                    )
            return [cell for cell in self.cells if cell not in existing]
        return list(self.cells)

    def _with_defaults(self, stored: dict | None) -> dict | None:
        """Saved options with the defaults of options added since they were saved (an experiment from
        before --init was trained with today's default, orthogonal), so they compare like for like."""
        if stored is None:
            return None
        return {**{key: self.defaults[key] for key in self.options if key in self.defaults}, **stored}

    @contextmanager
    def open(self) -> Iterator[ExperimentWriter]:
        """Hold the experiment, check again (now it is ours) and write its options first."""
        with experiment_lock(self.path):
            todo = self.check()
            write_experiment_info(self.path, self.options)
            yield ExperimentWriter(self.path, self.options, todo)


@dataclass(frozen=True)
class ExperimentWriter:
    """What a training may write into the experiment it holds: where each cell keeps its training
    state and saves its run, and the tables, written last."""

    path: Path
    options: dict
    todo: list[str]  # the cells to train; the others of the request are kept as they are

    def run_folder(self, cell: str) -> Path:
        return run_path(self.path, cell)

    def state_file(self, cell: str) -> Path:
        return training_state_path(self.path, cell)

    def discard_state(self, cell: str) -> None:
        discard_backup(self.path, cell)

    def saved_metrics(self, cell: str) -> dict:
        return read_run_info(run_path(self.path, cell))["metrics"]

    def earlier_rows(self, cells) -> pd.DataFrame:
        """The rows of `cells` trained into this experiment by other calls, so adding or resuming cells
        never drops them: from the saved table, else from each run's own metrics."""
        finished = [cell for cell in cells if is_finished_run(run_path(self.path, cell))]
        saved = earlier_rows(self.path, finished)
        rows = [] if saved is None else saved.to_dict("records")
        known = {row["model"] for row in rows}
        rows += [{"model": cell, **self.saved_metrics(cell)} for cell in finished if cell not in known]
        return pd.DataFrame(rows)

    def finish(self, comparison: pd.DataFrame) -> None:
        save_experiment(self.path, comparison, self.options)


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or gone): keep it and its parents


def discard_backup(experiment: Path, cell: str) -> None:
    """Remove a cell's training state, and the backups folder once it is empty."""
    shutil.rmtree(backup_path(experiment, cell), ignore_errors=True)
    folder = experiment / BACKUPS
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def write_table(path: Path, table: pd.DataFrame) -> None:
    """The one writer of an experiment's tables: atomic, whole numbers written without '.0'."""
    table = table.copy()
    for column in table.select_dtypes("float"):  # counts share a column with NaN for baselines
        values = table[column].dropna()
        if len(values) and (values == values.round()).all() and (values.abs() < 2**53).all():
            table[column] = table[column].astype("Int64")
    with atomic_write(path) as handle:
        table.to_csv(handle, index=False)


def save_experiment(experiment: Path, comparison: pd.DataFrame, options: dict) -> None:
    """Write the comparison table, the predictions of its runs merged into one table, and
    experiment.json last (so its checksums cover what was written)."""
    write_table(experiment / COMPARISON, comparison)
    tables = [
        pd.read_csv(run_path(experiment, cell) / PREDICTIONS)
        for cell in comparison["model"]
        if (run_path(experiment, cell) / PREDICTIONS).is_file()
    ]
    if tables:
        write_table(experiment / MERGED_PREDICTIONS, merge_on_shared_columns(tables))
    write_experiment_info(experiment, options)


def earlier_rows(experiment: Path, cells) -> pd.DataFrame | None:
    """The comparison rows of `cells` from the table already saved (kept when other cells are added)."""
    try:
        table = load_experiment(experiment).comparison
    except RunError:
        return None
    return table[table["model"].astype(str).isin(list(cells))]


def merge_on_shared_columns(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Outer-join tables on the columns they all have (date, actual, baselines...), keeping the rest."""
    shared = [column for column in tables[0].columns if all(column in table for table in tables)]
    return functools.reduce(lambda left, right: left.merge(right, on=shared, how="outer"), tables)


def save_sweep(folder: Path, trials: pd.DataFrame, summary: pd.DataFrame) -> None:
    write_table(folder / TRIALS, trials)
    write_table(folder / SWEEP_SUMMARY, summary)


def sweep_files(folder: Path) -> tuple[Path, Path]:
    """Where a sweep's trial table and summary are (for messages that point the user to them)."""
    return folder / TRIALS, folder / SWEEP_SUMMARY


def is_sweep(folder: Path) -> bool:
    return (folder / SWEEP_SUMMARY).is_file()


def load_sweep(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sweep's trial table (one row per value, seed and cell) and its summary over seeds."""
    folder = Path(folder)
    try:
        trials, summary = pd.read_csv(folder / TRIALS), pd.read_csv(folder / SWEEP_SUMMARY)
        if "cell" not in trials or "cell" not in summary:
            raise ValueError("no cell column")
    except (OSError, ValueError) as exc:
        raise RunError(f"The sweep tables in {folder} cannot be read ({exc}): run the sweep again.") from exc
    return trials, summary


def experiment_archive(root: str | Path, name: str) -> bytes:
    """Experiment (or sweep) `name` as zip bytes: its saved files only (no lock, no training states,
    no links), under a folder of its name. A file with another name on disk (a hard link) is refused:
    it may be a file from anywhere on the same disk, which the zip would hand out."""
    import io
    import zipfile

    folder = experiment_path(root, name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            inside = path.relative_to(folder)
            hidden = any(part.startswith(".") for part in inside.parts)
            elsewhere = not path.resolve().is_relative_to(folder.resolve())  # through a linked folder
            if path.is_symlink() or not path.is_file() or hidden or elsewhere:
                continue
            # opened without following a link or waiting on a pipe: the file packed is the one counted
            with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as handle:
                status = os.fstat(handle.fileno())
                if not stat.S_ISREG(status.st_mode):
                    continue
                if status.st_nlink > 1:
                    raise RunError(
                        f"{path} is a hard link ({status.st_nlink} names for one file), so it may be a file from "
                        f"outside {name}: nothing was packed; replace it with a copy of its own or remove it."
                    )
                member = zipfile.ZipInfo.from_file(path, Path(folder.name, inside), strict_timestamps=False)
                member.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(member, "w") as packed:
                    shutil.copyfileobj(handle, packed)
    return buffer.getvalue()


def delete_experiment(root: str | Path, name: str) -> None:
    """Delete experiment (or sweep) `name` under `root`: only a folder of this project's runs, never a
    path outside root or one being written (the experiment, or any trial of a sweep, which a training
    holds on its own), and atomically (renamed away first, then removed)."""
    folder = experiment_path(root, name)
    if folder.is_symlink() or not folder.is_dir() or not ((folder / COMPARISON).is_file() or is_sweep(folder)):
        raise RunError(f"{folder} is not an experiment of this lab: nothing was deleted.")
    trials = [  # a sweep's trials; an experiment's run folders are named after cells and take no lock
        path
        for path in sorted(folder.iterdir())
        if path.is_dir() and not path.is_symlink() and not path.name.startswith(".") and path.name not in CELLS
    ]
    with ExitStack() as held:
        for part in (folder, *trials):  # held until the folder is renamed away: no training starts meanwhile
            try:
                held.enter_context(experiment_lock(part))
            except RunError:
                owner = _lock_owner(part / LOCK)
                raise RunError(
                    f"{part} is being written by a training" + (f" (process {owner})" if owner else "") + ": "
                    f"wait for it to finish or cancel it, then delete {name}; nothing was deleted."
                ) from None
        doomed = folder.with_name(f".deleting-{folder.name}-{os.getpid()}")
        os.replace(folder, doomed)
    shutil.rmtree(doomed)


def list_experiments(root: str | Path) -> list[str]:
    """Names of every experiment under `root` (sweep trials nest inside their sweep's folder)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = (path.parent.relative_to(root) for path in root.rglob(COMPARISON))
    return sorted(str(name) for name in found if not any(part.startswith(".") for part in name.parts))


def load_experiment(path: str | Path, *, with_gradients: bool = False) -> Experiment:
    """Read an experiment folder, verifying the tables and every run against their checksums;
    anything missing, damaged or tampered with is one RunError sentence."""
    path = Path(path)
    info = read_experiment_info(path)
    if info is None:
        runs = sorted(path.glob("*/run.json"))
        rebuild = (
            f"python -m pipelines.train --config {runs[0]} --out {path.parent} --name {path.name} --resume"
            if runs
            else "the command that trained it"
        )
        raise RunError(
            f"{path} has no experiment.json, so its tables cannot be verified: rebuild them from its runs with "
            f"`{rebuild}`, or retrain the experiment."
        )
    tables = [name for name in (COMPARISON, MERGED_PREDICTIONS) if (path / name).exists()]
    unlisted = [name for name in tables if name not in info["files"]]
    if unlisted:
        raise RunError(f"{unlisted[0]} in {path} is not in its experiment.json (added since): retrain the experiment.")
    for name, digest in info["files"].items():
        if (
            name not in (COMPARISON, MERGED_PREDICTIONS)
            or not (path / name).is_file()
            or _sha256(path / name) != digest
        ):
            raise RunError(f"{name} in {path} changed since it was saved (checksum mismatch): retrain the experiment.")
    try:
        comparison = pd.read_csv(path / COMPARISON)
        if "model" not in comparison:
            raise ValueError("no model column")
        merged = path / MERGED_PREDICTIONS
        experiment = Experiment(path, comparison, pd.read_csv(merged) if merged.is_file() else None)
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} has no readable comparison table ({exc}): retrain the experiment.") from exc
    for cell in comparison["model"].astype(str):
        if cell not in CELLS:
            continue  # a baseline row (a name that is no cell never becomes a path)
        run = run_path(path, cell)
        if run.is_symlink():
            raise RunError(f"{run} is a link to another folder: refusing {path}; retrain the experiment.")
        if not is_finished_run(run):
            continue  # a cell still training
        try:
            info = read_run_info(run)
            verify_files(run, info)
            check_model_archive(run / MODEL, info)  # never loaded here, but a page must not list code as a run
            experiment.runs[cell] = info
            if with_gradients:
                experiment.gradients[cell] = read_gradients(
                    run, probe_layer=probe_layer_of(info), metrics=info["metrics"]
                )
        except LabError as exc:
            raise RunError(f"Cannot read {path}: {exc}") from exc
    return experiment
