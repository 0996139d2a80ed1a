"""The classic vanishing-gradient experiments: vary one setting (sequence length, recurrent gain,
clipping...) across cells and seeds, at an equal training budget, and tabulate what happens.

Usage: python -m pipelines.sweep --task adding --over length --values 10 25 50 100 --seeds 0 1 2 [--workers 2]
"""

from __future__ import annotations

import sys
import typing
from dataclasses import dataclass, fields, replace

import pandas as pd

from data import ConfigError
from models.experiment_store import (
    MAX_NAME,
    check_writable,
    experiment_lock,
    experiment_path,
    save_sweep,
    sweep_files,
    value_trial_name,
)
from pipelines.cli import (
    NUMBER_ROOM,
    OneLineParser,
    add_task_options,
    auto_folder,
    command,
    given_options,
    import_tensorflow_quietly,
    option_type,
    print_table,
)
from pipelines.tasks import TASKS, get_task, task_of
from pipelines.tasks.config import TrainConfig, check_seed, joined_name, name_part, option_tag
from pipelines.trials import Parallel, Trial, add_parallel_options, parallel_of, report_failures, train_trials

COMMAND_FLAGS = (
    "task",
    "over",
    "values",
    "seeds",
    "overwrite",
    "resume",
    "quiet",
    "workers",
    "threads_per_trial",
    "ray_address",
)
DEFAULT_SEEDS = [0, 1, 2]
MAX_VALUES = 100  # values of one sweep
MAX_SEEDS = 100  # seeds per value
MAX_TRIALS = 1_000  # values x seeds: each trial trains every cell


def sweepable(config_class: type) -> dict[str, typing.Callable[[str], object]]:
    """The settings a sweep may vary for a task (fields marked sweep=True), with how to read a value."""
    hints = typing.get_type_hints(config_class)
    return {spec.name: option_type(hints[spec.name]) for spec in fields(config_class) if spec.metadata.get("sweep")}


@dataclass
class SweepResult:
    summary: pd.DataFrame
    notes: list[str]  # diverged trials, retried trials and trials that failed
    failed: list[str]  # the labels of trials that failed (Ray only; the plain path stops at the first)


def trials_of(config: TrainConfig, over: str, values: list, seeds: list[int]) -> list[Trial]:
    """Every (value, seed) of a sweep as its own experiment, in the sweep's folder."""
    base = config.experiment_name()
    return [
        Trial(
            f"{over}={value} seed={seed}",
            replace(config, **{over: value}, seed=seed, name=value_trial_name(base, over, value, seed)),
        )
        for value in values
        for seed in seeds
    ]


def run_sweep(
    config: TrainConfig,
    over: str,
    values: list,
    seeds: list[int],
    *,
    overwrite=False,
    resume=False,
    progress=None,
    parallel: Parallel | None = None,
) -> SweepResult:
    """Train every cell for every value x seed while holding the sweep's folder, one after another or
    on Ray, then save the trial table (one row per value, seed and cell, in that order) and its
    summary. With `resume`, trials already saved are read back, not trained again. A diverged trial
    is a result: saved with NaN metrics and noted; a trial that fails on Ray is named in `failed`
    and left out of the tables, and the sweep goes on."""
    trials = trials_of(config, over, values, seeds)
    with experiment_lock(experiment_path(config.out, config.experiment_name())):
        outcomes = train_trials(trials, parallel, overwrite=overwrite, resume=resume, progress=progress)
        return save_sweep_tables(config, over, trials, outcomes)


def save_sweep_tables(config: TrainConfig, over: str, trials: list[Trial], outcomes: list) -> SweepResult:
    """The trial table (one row per value, seed and cell, in that order) and its summary, saved in the
    sweep's folder (whose lock the caller holds), from the trials that succeeded."""
    rows = [
        {over: getattr(trial.config, over), "seed": trial.config.seed, "cell": cell, **metrics}
        for trial, outcome in zip(trials, outcomes, strict=True)
        if outcome.table is not None
        for cell, metrics in outcome.table.set_index("model").loc[config.cells].iterrows()
    ]
    table = pd.DataFrame(rows)
    summary = table
    if len(table):
        summary = summarise(table, over, task_of(config).headline)
        save_sweep(experiment_path(config.out, config.experiment_name()), table, summary)
    notes = [note for outcome in outcomes for note in outcome.notes]
    failed = [trial.label for trial, outcome in zip(trials, outcomes, strict=True) if outcome.table is None]
    return SweepResult(summary, notes, failed)


def solved_seeds(solved: pd.Series) -> int:
    """How many seeds solved the task (a diverged trial's NaN counts as not)."""
    return int(solved.fillna(False).astype(bool).sum())


def summarise(trials: pd.DataFrame, over: str, headline: str) -> pd.DataFrame:
    """Mean and spread over seeds of the headline metric, the gradient horizons and the largest gradient
    norm (columns that trials saved by an earlier version lack are left out)."""
    grouped = trials.groupby([over, "cell"], sort=False, dropna=False)  # clipnorm "none" is NaN: keep it
    columns = {
        f"{headline}_mean": (headline, "mean"),
        f"{headline}_std": (headline, "std"),
        "horizon_mean": ("gradient_horizon", "mean"),
        "peak_reach_mean": ("peak_gradient_reach", "mean"),
        "solved_reach_mean": ("solved_gradient_reach", "mean"),  # over the seeds that solved it
        "decay_mean": ("gradient_decay", "mean"),
        "max_grad_norm": ("max_global_grad_norm", "max"),
        "solved": ("solved", solved_seeds),
        "seeds": ("seed", "count"),
    }
    return grouped.agg(**{name: spec for name, spec in columns.items() if spec[0] in trials}).reset_index()


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=list(TASKS), default="adding", help="the task to sweep (default: adding)")
    every = sorted({name for task in TASKS.values() for name in sweepable(task.config_class)})
    parser.add_argument("--over", required=True, choices=every, help="the setting to vary")
    parser.add_argument("--values", nargs="+", required=True, help="its values ('none' turns clipping off)")
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"seeds per value (default: {' '.join(map(str, DEFAULT_SEEDS))})",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing runs of the same name")
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted sweep: trials already saved are not retrained"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_parallel_options(parser)
    add_task_options(parser, TrainConfig, {name: task.config_class for name, task in TASKS.items()}, skip=("seed",))
    return parser


def plan(args) -> tuple[TrainConfig, list, Parallel | None]:
    """The base config, the values to sweep and how to run the trials, checked before anything trains."""
    config_class = get_task(args.task).config_class
    given = given_options(args, config_class, args.task, exclude=COMMAND_FLAGS)
    readers = sweepable(config_class)
    if args.over not in readers:
        raise ConfigError(
            f"Cannot sweep over {args.over!r} for --task {args.task}: choose one of {', '.join(readers)}."
        )
    if args.over in given:
        raise ConfigError(
            f"--{args.over.replace('_', '-')} is what the sweep varies: give its values with --values only."
        )
    values = sweep_values(args.over, args.values, readers[args.over])
    check_sweep_seeds(args.seeds, len(values))
    config = config_class(**given)
    if config.name is None:
        config = replace(config, name=sweep_name(config, args, values))
    experiment_path(config.out, config.experiment_name())  # a bad --name fails here, not after training
    trials_of(config, args.over, values, args.seeds)  # each trial's config and name checks itself, before any training
    check_writable(config.out)
    return config, values, parallel_of(args)


def sweep_name(config: TrainConfig, args, values: list) -> str:
    """sweep-<task>-<setting>-<its values>, then every other option given a value other than its
    default (sweep-adding-length-10-25-50-100-units64), in a fresh numbered folder if that one is
    taken (with --resume: the newest one holding these trials' options)."""
    tags = [option_tag(config, spec) for spec in config.changed_options()]
    if args.seeds != DEFAULT_SEEDS:
        tags.append("seeds" + name_part(args.seeds))
    # room for the number and for the longest trial folder inside it
    trials = [value_trial_name("", args.over, value, seed) for value in values for seed in args.seeds]
    limit = MAX_NAME - NUMBER_ROOM - max(map(len, trials))
    base = joined_name(f"sweep-{args.task}-{args.over}", [name_part(values), *tags], limit)

    def configs_for(name: str) -> list[TrainConfig]:
        return [trial.config for trial in trials_of(replace(config, name=name), args.over, values, args.seeds)]

    return auto_folder(config.out, base, resume=args.resume, overwrite=args.overwrite, configs_for=configs_for)


def sweep_values(over: str, given: list[str], read) -> list:
    """The values as the option reads them, each once: "1" and "1.0" are the same gain, so the second
    would overwrite the first's trial; refused before anything trains."""
    if len(given) > MAX_VALUES:
        raise ConfigError(
            f"--values gives {len(given):,} values, more than the {MAX_VALUES} a sweep may have: split it into several sweeps."
        )
    try:
        values = [read(v) for v in given]
    except ValueError as exc:
        raise ConfigError(f"--values for {over} must be numbers or none: got {' '.join(given)}.") from exc
    for i, value in enumerate(values):
        same = next((j for j in range(i) if values[j] == value), None)
        if same is not None:
            raise ConfigError(
                f"--values gives {over} = {'none' if value is None else value} twice ({given[same]} and {given[i]}): name each value once."
            )
    return values


def check_sweep_seeds(seeds: list[int], values: int) -> None:
    """Each seed a seed NumPy can take, once, and not more trials than a sweep may have."""
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(
            f"--seeds gives {len(seeds):,} seeds, more than the {MAX_SEEDS} a sweep may have: give fewer."
        )
    for seed in seeds:
        check_seed(seed, "--seeds")
    repeated = next((seed for i, seed in enumerate(seeds) if seed in seeds[:i]), None)
    if repeated is not None:
        raise ConfigError(f"--seeds gives the seed {repeated} twice: name each seed once.")
    if values * len(seeds) > MAX_TRIALS:
        raise ConfigError(
            f"{values} values x {len(seeds)} seeds make {values * len(seeds):,} trials, more than the {MAX_TRIALS:,} "
            "a sweep may have: give fewer values or seeds."
        )


def execute(args) -> int:
    config, values, parallel = plan(args)
    if parallel is None:  # on Ray, only the workers train: this process need not load TensorFlow (~5 s)
        import_tensorflow_quietly()
    from pipelines.progress import progress_unless

    folder = experiment_path(config.out, config.experiment_name())
    with progress_unless(args.quiet) as progress:
        result = run_sweep(
            config,
            args.over,
            values,
            args.seeds,
            overwrite=args.overwrite,
            resume=args.resume,
            progress=progress,
            parallel=parallel,
        )
    seeds = " ".join(map(str, args.seeds))
    if len(result.summary):
        print_table(result.summary, f"sweep over {args.over}: {args.task}, {config.epochs} epochs, seeds {seeds}")
    for note in result.notes:
        print(f"note: {note}")
    trials_file, summary_file = sweep_files(folder)
    if len(result.summary):
        print(f"saved: {summary_file}, {trials_file} and one run folder per finished trial")
    return report_failures(result.failed, len(values) * len(args.seeds))


main = command(build_parser, execute)


if __name__ == "__main__":
    sys.exit(main())
