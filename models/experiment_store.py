"""The experiment store: an experiment folder holds one run per cell, the comparison table, the
predictions of every cell merged into one table and, for sweeps, the trials and their summary.

Only this module knows the file names of an experiment folder; every table is written atomically
through one writer, and every failure to read one is a RunError. Imports no Keras.
"""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data import ConfigError, LabError, RunError, atomic_write
from models.run_store import PREDICTIONS, is_finished_run, probe_layer_of, read_gradients, read_run_info

COMPARISON, MERGED_PREDICTIONS, TRIALS, SWEEP_SUMMARY = "comparison.csv", PREDICTIONS, "trials.csv", "sweep.csv"
BACKUPS = ".backup"  # per-cell training state kept only until the cell's run is saved
NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")


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


def experiment_path(root: str | Path, name: str) -> Path:
    """The folder of experiment `name` under `root`; the name may nest with '/' but never leave root."""
    parts = str(name).split("/")
    if not all(NAME_PART.fullmatch(part) for part in parts):
        raise ConfigError(
            f"The experiment name {name!r} is not a plain folder name: use letters, digits, '.', '-', '_' "
            "and '=' (not first), optionally nested with '/'."
        )
    return Path(root, *parts)


def run_path(experiment: Path, cell: str) -> Path:
    return experiment / cell


def backup_path(experiment: Path, cell: str) -> Path:
    """Where a cell's training state lives while it trains, so an interrupted run can resume."""
    return experiment / BACKUPS / cell


def finished_cells(experiment: Path, cells: list[str]) -> list[str]:
    return [cell for cell in cells if is_finished_run(run_path(experiment, cell))]


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


def save_experiment(experiment: Path, comparison: pd.DataFrame) -> None:
    """Write the comparison table and, when its runs saved predictions, all of them merged into one."""
    write_table(experiment / COMPARISON, comparison)
    tables = [
        pd.read_csv(run_path(experiment, cell) / PREDICTIONS)
        for cell in comparison["model"]
        if (run_path(experiment, cell) / PREDICTIONS).is_file()
    ]
    if tables:
        write_table(experiment / MERGED_PREDICTIONS, merge_on_shared_columns(tables))


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


def list_experiments(root: str | Path) -> list[str]:
    """Names of every experiment under `root` (sweep trials nest inside their sweep's folder)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = (path.parent.relative_to(root) for path in root.rglob(COMPARISON))
    return sorted(str(name) for name in found if not any(part.startswith(".") for part in name.parts))


def load_experiment(path: str | Path, *, with_gradients: bool = False) -> Experiment:
    """Read an experiment folder; anything missing or damaged is one RunError sentence."""
    path = Path(path)
    try:
        comparison = pd.read_csv(path / COMPARISON)
        if "model" not in comparison:
            raise ValueError("no model column")
        merged = path / MERGED_PREDICTIONS
        experiment = Experiment(path, comparison, pd.read_csv(merged) if merged.is_file() else None)
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} has no readable comparison table ({exc}): retrain the experiment.") from exc
    for cell in comparison["model"].astype(str):
        run = run_path(path, cell)
        if not is_finished_run(run):
            continue  # a baseline row, or a cell still training
        try:
            experiment.runs[cell] = read_run_info(run)
            if with_gradients:
                experiment.gradients[cell] = read_gradients(run)
        except LabError as exc:
            raise RunError(f"Cannot read {path}: {exc}") from exc
    return experiment
