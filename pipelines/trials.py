"""Independent trials (a sweep's, the remedies'): each one experiment, trained one after another in
this process (the plain path) or in parallel on Ray (pipelines.ray_trials), with the same outcome.

This module imports pipelines.ray_trials, never the other way: the Ray path takes the trials' configs
and answers each one's table and notes, which become the trials' labelled outcomes here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pandas as pd

from data import ConfigError
from pipelines.ray_trials import run_trials  # imports Ray only when trials run on it
from pipelines.tasks.config import TrainConfig


@dataclass
class Trial:
    label: str  # how the summary and notes name it, e.g. "length=50 seed=1"
    config: TrainConfig


@dataclass
class TrialOutcome:
    table: pd.DataFrame | None  # the trial's comparison table; None if every attempt failed
    notes: list[str] = field(default_factory=list)  # the experiment's notes (a diverged cell) and failures


@dataclass
class Parallel:
    """How to spread trials over Ray (absent: one after another in this process)."""

    workers: int | None  # trials at once (None: as many as the cluster's CPUs allow)
    threads: int | None = None  # intra-op threads per trial (None: this machine's cores / workers)
    address: str | None = None  # an existing Ray cluster (None: a local Ray started here)


def train_trials(
    trials: list[Trial], parallel: Parallel | None, *, overwrite=False, resume=False, progress=None
) -> list[TrialOutcome]:
    """Every trial's outcome, in the trials' order: one after another here, or on Ray."""
    if parallel is None:
        return [run_one(trial, overwrite=overwrite, resume=resume, progress=progress) for trial in trials]
    results = run_trials(
        [trial.config for trial in trials],
        workers=parallel.workers,
        threads=parallel.threads,
        address=parallel.address,
        overwrite=overwrite,
        resume=resume,
        progress=progress,
    )
    return [outcome(trial, table, notes) for trial, (table, notes) in zip(trials, results, strict=True)]


def run_one(trial: Trial, *, overwrite, resume, progress) -> TrialOutcome:
    """One trial in this process (the plain path)."""
    from pipelines.experiment import run_experiment  # loads TensorFlow, which importing this module must not

    result = run_experiment(trial.config, overwrite=overwrite, resume=resume, progress=progress)
    return outcome(trial, result.table, result.notes)


def outcome(trial: Trial, table: pd.DataFrame | None, notes: list[str]) -> TrialOutcome:
    """A trial's outcome, each note naming the trial."""
    return TrialOutcome(table, [f"{trial.label}: {note}" for note in notes])


def report_failures(failed: list[str], total: int) -> int:
    """A command's exit status after its trials: 0, or 1 with one sentence naming the failed ones."""
    if not failed:
        return 0
    print(
        f"error: {len(failed)} of {total} trials failed ({'; '.join(failed)}): the others are saved; "
        "rerun the same command with --resume to train the rest.",
        file=sys.stderr,
    )
    return 1


def add_parallel_options(parser, default_workers: int | None = None) -> None:
    """--workers, --threads-per-trial and --ray-address, for every command that trains many trials."""
    parallel = parser.add_argument_group("parallel trials (Ray)")
    parallel.add_argument(
        "--workers",
        type=int,
        default=default_workers,
        help="trials trained at once: 1 trains them one after another here, more start a local Ray "
        f"(default: {default_workers or 1}, or every CPU of the cluster with --ray-address)",
    )
    parallel.add_argument(
        "--threads-per-trial",
        type=int,
        default=None,
        help="TensorFlow threads of each parallel trial (default: this machine's cores / --workers; 1 on a cluster)",
    )
    parallel.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="send the trials to an existing Ray cluster, e.g. 10.0.0.5:6379 (--out must be a folder every node shares)",
    )


def parallel_of(args) -> Parallel | None:
    """None for the plain path (one trial after another in this process), else how to use Ray."""
    for flag in ("workers", "threads_per_trial"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be at least 1 (got {value}).")
    if args.ray_address is not None and not args.ray_address.strip():
        raise ConfigError("--ray-address is empty: give the cluster's address, e.g. 10.0.0.5:6379.")
    if args.ray_address is None and (args.workers or 1) == 1:
        if args.threads_per_trial is not None:
            raise ConfigError("--threads-per-trial applies to parallel trials: add --workers 2 or more.")
        return None
    return Parallel(args.workers, args.threads_per_trial, args.ray_address)
