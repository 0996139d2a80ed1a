"""The remedies experiment: every answer to vanishing gradients the literature names, trained on the
adding problem (T = 100) and the copy task (T = 50) at one budget and five seeds, in one table per task.

Usage: python -m pipelines.remedies [--tasks adding copy] [--seeds 0 1 2 3 4] [--resume] [--workers 2]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.experiment_store import (
    MAX_NAME,
    check_writable,
    experiment_lock,
    experiment_path,
    run_path,
    save_sweep,
    sweep_files,
    trial_name,
)
from models.run_store import read_history
from pipelines.cli import (
    NUMBER_ROOM,
    OneLineParser,
    add_jit_compile_option,
    auto_folder,
    command,
    import_tensorflow_quietly,
    print_table,
)
from pipelines.tasks import TASKS, get_task
from pipelines.tasks.config import joined_name, name_part
from pipelines.trials import Parallel, Trial, add_parallel_options, parallel_of, report_failures, train_trials


@dataclass(frozen=True)
class Remedy:
    name: str  # the table's row and the trial folders' prefix
    cell: str
    options: dict  # what differs from BUDGET
    about: str  # one line for the table's readers


# Every row trains on the same sequences, epochs, batch size and units: the default sweep's budget (Adam 3e-3,
# clipping at norm 1, 8 epochs, chrono gates for the LSTM), under which the LSTM solves the adding problem
# at T = 200 and 400 on every seed of the search. The first table (docs/remedies.md) used 6 epochs of Adam 1e-2.
BUDGET = {
    "epochs": 8,
    "samples": 10_000,
    "batch_size": 32,
    "units": 32,
    "learning_rate": 3e-3,
    "clipnorm": 1.0,
    "gate_init": "chrono",
}
LENGTHS = {name: task.remedy_length for name, task in TASKS.items() if task.remedy_length is not None}
REMEDIES = (
    Remedy("simple_rnn", "simple_rnn", {"clipnorm": None}, "no remedy: orthogonal weights at gain 1, no clipping"),
    Remedy("clipping", "simple_rnn", {"gain": 2.0}, "gain 2 (gradients explode) with clipping at norm 1"),
    Remedy("tbptt-20", "simple_rnn", {"tbptt": 20}, "truncated back-propagation: the gradient stops every 20 steps"),
    Remedy("penalty", "simple_rnn", {"penalty": 1.0}, "Pascanu et al.'s gradient-norm penalty, weight 1"),
    Remedy("irnn", "simple_rnn", {"init": "irnn", "learning_rate": 1e-3}, "identity weights with ReLU, Adam 1e-3"),
    Remedy("esn", "esn", {}, "a fixed reservoir (spectral radius 0.95), ridge readout"),
    Remedy("lstm", "lstm", {}, "the gated cell with a memory (chrono-initialised gates)"),
    Remedy("gru", "gru", {}, "the lighter gated cell"),
)
FOLDER = "remedies-{task}-T{length}"
DEFAULT_SEEDS = [0, 1, 2, 3, 4]


def trial_configs(
    task: str, seeds: list[int], remedies=REMEDIES, out: str = "runs", folder: str | None = None, **budget
) -> list[tuple]:
    """(remedy, seed, config) of every trial of one task in `folder` (default: the task's FOLDER), each
    validated before anything trains."""
    config_class = get_task(task).config_class
    folder = folder or FOLDER.format(task=task, length=LENGTHS[task])
    found = []
    for remedy in remedies:
        for seed in seeds:
            options = {**BUDGET, **budget, "length": LENGTHS[task], **remedy.options}
            name = trial_name(folder, f"{remedy.name}-seed{seed}")
            found.append((remedy, seed, config_class(cells=[remedy.cell], seed=seed, name=name, out=out, **options)))
    return found


def run_remedies(
    task: str,
    seeds: list[int],
    *,
    remedies=REMEDIES,
    out="runs",
    folder: str | None = None,
    resume=False,
    overwrite=False,
    progress=None,
    parallel: Parallel | None = None,
    **budget,
):
    """Train every remedy x seed of one task (trials already saved are read back with `resume`), save
    the trial table and the summary in the task's remedies folder (`folder`, default FOLDER), of the
    trials that succeeded."""
    from pipelines.sweep import SweepResult, summarise

    chosen = trial_configs(task, seeds, remedies, out=out, folder=folder, **budget)
    trials = [Trial(f"{remedy.name} seed {seed}", config) for remedy, seed, config in chosen]
    folder = experiment_path(out, folder or FOLDER.format(task=task, length=LENGTHS[task]))
    headline = get_task(task).headline
    rows, notes, failed = [], [], []
    with experiment_lock(folder):
        outcomes = train_trials(trials, parallel, resume=resume, overwrite=overwrite, progress=progress)
        for (remedy, seed, config), trial, outcome in zip(chosen, trials, outcomes, strict=True):
            notes += outcome.notes
            if outcome.table is None:
                failed.append(trial.label)
                continue
            metrics = outcome.table.set_index("model").loc[remedy.cell].to_dict()
            run = run_path(experiment_path(out, config.experiment_name()), remedy.cell)
            metrics["seconds_per_epoch"] = seconds_per_epoch(run)  # not a metric: wall time
            rows.append(
                {
                    "remedy": remedy.name,
                    "seed": seed,
                    "cell": remedy.cell,
                    "task": task,
                    "length": LENGTHS[task],
                    **metrics,
                }
            )
        table = pd.DataFrame(rows)
        summary = table
        if len(table):
            summary = summarise(table, "remedy", headline).merge(extras(table), on="remedy")
            save_sweep(folder, table, summary)
    return SweepResult(summary, notes, failed)


def seconds_per_epoch(run: Path) -> float:
    """Mean wall time of the run's epochs, validation included (history.csv's "seconds"; an esn has one row)."""
    history = read_history(run)
    return float(history["seconds"].mean()) if "seconds" in history else float("nan")


def extras(trials: pd.DataFrame) -> pd.DataFrame:
    """What the remedies table adds to a sweep's summary: the horizon at the first record, time per
    epoch, trained parameters and (for the esn) the memory capacity."""
    grouped = trials.groupby("remedy", sort=False)
    columns = {
        "first_horizon_mean": ("first_gradient_horizon", "mean"),
        "seconds_per_epoch": ("seconds_per_epoch", "mean"),
        "params": ("params", "max"),
    }
    if "memory_capacity" in trials:
        columns["memory_capacity"] = ("memory_capacity", "mean")
    return grouped.agg(**columns).reset_index()


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.remedies", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tasks", nargs="+", choices=list(LENGTHS), default=list(LENGTHS), help="tasks (default: both)"
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"seeds per remedy (default: {' '.join(map(str, DEFAULT_SEEDS))})",
    )
    parser.add_argument("--epochs", type=int, default=BUDGET["epochs"], help=f"epochs (default: {BUDGET['epochs']})")
    parser.add_argument(
        "--samples", type=int, default=BUDGET["samples"], help=f"sequences per trial (default: {BUDGET['samples']})"
    )
    parser.add_argument("--out", default="runs", help="folder that holds the experiments (default: runs)")
    add_jit_compile_option(parser)
    parser.add_argument("--resume", action="store_true", help="keep the trials already saved and train the rest")
    parser.add_argument("--overwrite", action="store_true", help="retrain trials already saved")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_parallel_options(parser)
    return parser


def folder_of(task: str, args, budget: dict) -> str:
    """remedies-<task>-T<length>, then the budget and seeds where they differ from the defaults
    (remedies-adding-T100-epochs2-seeds0-1), in a fresh numbered folder if that one is taken (with
    --resume: the newest one holding these trials' options): a second run never mixes its trials and
    tables into the first's."""
    tags = [f"{key}{budget[key]}" for key in ("epochs", "samples") if budget[key] != BUDGET[key]]
    if args.seeds != DEFAULT_SEEDS:
        tags.append("seeds" + name_part(args.seeds))
    longest = max(len(f"/{remedy.name}-seed{seed}") for remedy in REMEDIES for seed in args.seeds)
    base = joined_name(FOLDER.format(task=task, length=LENGTHS[task]), tags, MAX_NAME - NUMBER_ROOM - longest)

    def configs_for(name: str) -> list:
        return [config for _, _, config in trial_configs(task, args.seeds, out=args.out, folder=name, **budget)]

    return auto_folder(args.out, base, resume=args.resume, overwrite=args.overwrite, configs_for=configs_for)


def execute(args) -> int:
    from pipelines.sweep import check_sweep_seeds

    check_sweep_seeds(args.seeds, len(REMEDIES))  # the sweep's own check: each seed valid, once, not too many
    budget = {"epochs": args.epochs, "samples": args.samples, "jit_compile": args.jit_compile}
    for task in args.tasks:
        trial_configs(task, args.seeds, out=args.out, **budget)  # a bad option fails here, before any training
    check_writable(args.out)
    parallel = parallel_of(args)
    folders = {task: folder_of(task, args, budget) for task in args.tasks}  # before TensorFlow loads
    if parallel is None:  # on Ray, only the workers train
        import_tensorflow_quietly()
    from pipelines.progress import progress_unless

    failed = []
    for task in args.tasks:
        with progress_unless(args.quiet) as progress:
            result = run_remedies(
                task,
                args.seeds,
                out=args.out,
                folder=folders[task],
                resume=args.resume,
                overwrite=args.overwrite,
                progress=progress,
                parallel=parallel,
                **budget,
            )
        if len(result.summary):
            title = f"remedies on {task}, T = {LENGTHS[task]}: {args.epochs} epochs, seeds {args.seeds}"
            print_table(result.summary, title)
        for note in result.notes:
            print(f"note: {note}")
        folder = experiment_path(args.out, folders[task])
        if len(result.summary):
            print(f"saved: {sweep_files(folder)[1]} and one run folder per finished trial")
        failed += [f"{task} {label}" for label in result.failed]
    return report_failures(failed, len(args.tasks) * len(REMEDIES) * len(args.seeds))


main = command(build_parser, execute)

if __name__ == "__main__":
    sys.exit(main())
