"""Train SimpleRNN, LSTM and GRU side by side on identical data, evaluate them beside the task's
baselines, and save one run per cell under runs/<experiment>/<cell>/.

Usage: python -m pipelines.train --task stock|text|adding|copy [options]   (see --help)
"""

from __future__ import annotations

import stat
import sys
from dataclasses import replace
from pathlib import Path

from data import ConfigError
from data.strict_json import strict_loads
from models.experiment_store import MAX_NAME
from pipelines.cli import (
    NUMBER_ROOM,
    OneLineParser,
    add_task_options,
    auto_folder,
    command,
    given_options,
    import_tensorflow_quietly,
    print_table,
)
from pipelines.tasks import TASKS, config_from_saved, get_task
from pipelines.tasks.config import TrainConfig, values_without

COMMAND_FLAGS = ("task", "config", "overwrite", "resume", "quiet")
MAX_CONFIG_BYTES = 1_000_000  # a run.json is a few KB; its gradient log and model are files of their own


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.train", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--task", choices=list(TASKS), help="; ".join(f"{name}: {task.summary}" for name, task in TASKS.items())
    )
    parser.add_argument(
        "--config", help="repeat a run exactly from its run.json: the cell it trained, unless --cells says otherwise"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing runs of the same name")
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted experiment from its last completed epoch"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_task_options(parser, TrainConfig, {name: task.config_class for name, task in TASKS.items()})
    return parser


def saved_config(path: Path) -> dict:
    """The "config" of a run.json, with cells = the run's cell and the data it actually used.

    Its `out` is never used: where runs are written is the caller's --out alone. Only a regular file
    of at most MAX_CONFIG_BYTES is read (never a device, a pipe or a folder), as strict JSON."""
    info = read_run_json(path)
    try:
        config = info["config"]
        if not isinstance(config, dict):
            raise TypeError("config is not an object")
    except (KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not the run.json of a finished run ({exc.__class__.__name__}): give the run.json inside a run folder."
        ) from exc
    config = values_without(config, "out", "tensorboard")  # where to write is this command's to say, never the file's
    if "cell" in config:
        config = {**values_without(config, "cell"), "cells": [config["cell"]]}
    task = TASKS.get(str(config.get("task")))
    data = (info.get("preprocessing") or {}).get("data") if isinstance(info.get("preprocessing"), dict) else None
    return task.replay(config, data) if task is not None and isinstance(data, dict) else config


def read_run_json(path: Path):
    """The JSON of a run.json given with --config, refused with one sentence before anything large is read."""
    finished = "give the run.json inside a run folder"
    try:
        kind = path.stat()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(
            f"{path} is not the run.json of a finished run ({exc.__class__.__name__}): {finished}."
        ) from exc
    if not stat.S_ISREG(kind.st_mode):
        raise ConfigError(f"{path} is not a regular file (a device, a pipe or a folder): {finished}.")
    if kind.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path} holds {kind.st_size:,} bytes, more than the {MAX_CONFIG_BYTES:,} a run.json may have: {finished}."
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)  # a file that grew since stat is still cut here
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path} holds more than the {MAX_CONFIG_BYTES:,} bytes a run.json may have: {finished}.")
        return strict_loads(data.decode("utf-8"))
    except RecursionError as exc:
        raise ConfigError(f"{path} nests its JSON too deeply to be a run.json: {finished}.") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"{path} is not the run.json of a finished run ({exc.__class__.__name__}): {finished}."
        ) from exc


def config_from_args(args) -> TrainConfig:
    if args.config:
        base = saved_config(Path(args.config))
        if args.task and args.task != base.get("task"):
            raise ConfigError(f"--task {args.task} contradicts the config's task {base.get('task')}: drop one of them.")
    elif args.task:
        base = {"task": args.task}
    else:
        raise ConfigError(f"Say which task to train: --task {', --task '.join(TASKS)} (or --config run.json).")
    config_class = get_task(str(base.get("task"))).config_class
    values = {**base, **given_options(args, config_class, str(base.get("task")), exclude=COMMAND_FLAGS)}
    try:
        return config_from_saved(values)
    except ConfigError as error:
        if not args.config:
            raise
        raise ConfigError(f"{args.config}: {error}") from error


def named(config: TrainConfig, args) -> TrainConfig:
    """The config with its experiment's name: --name (or the --config file's) as given, else what
    distinguishes the run (adding-T100-units64), in a fresh numbered folder if that one is taken."""
    if config.name is not None:
        return config
    base = config.descriptive_name(MAX_NAME - NUMBER_ROOM)
    name = auto_folder(
        config.out,
        base,
        resume=args.resume,
        overwrite=args.overwrite,
        configs_for=lambda name: [replace(config, name=name)],
    )
    return replace(config, name=name)


def execute(args) -> int:
    config = named(config_from_args(args), args)
    # runs already there, another --out: refused in a second, before TensorFlow takes its 10-20 s to load
    config.request(overwrite=args.overwrite, resume=args.resume).check()
    import_tensorflow_quietly()
    from pipelines.experiment import run_experiment
    from pipelines.progress import progress_unless

    with progress_unless(args.quiet) as progress:
        result = run_experiment(config, overwrite=args.overwrite, resume=args.resume, progress=progress)
    print_table(result.table, f"{config.experiment_name()}: held-back test split")
    for note in result.notes:
        print(f"note: {note}")
    print(f"saved: {', '.join(str(p) for p in result.runs.values())}")
    return 0


main = command(build_parser, execute)


if __name__ == "__main__":
    sys.exit(main())
