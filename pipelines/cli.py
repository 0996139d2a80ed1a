"""What every command shares: options generated from the config dataclasses, a summary table,
one-sentence errors with exit status 2, and a tidy stop on Ctrl-C.

Imports neither TensorFlow nor scikit-learn: `--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import signal
import sys
import threading
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, fields
from pathlib import Path

import numpy as np

from data import ConfigError, LabError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere
TRAINING_THREADS = 1


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probing) kept off the terminal.

    Those lines bypass TF_CPP_MIN_LOG_LEVEL; silencing file descriptor 2 for the import is the
    only switch. Python errors still surface: they are raised after stderr is restored.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import absl.logging
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe also prints once, on first use
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    tf.get_logger().setLevel("ERROR")  # retracing notices for each new model are expected here
    absl.logging.set_verbosity(absl.logging.ERROR)
    # One thread per op: these models' matrices are too small to share. Compiled fit steps ran 15-20%
    # faster than with the machine's 2, op-by-op ones as fast, with the same weights to the bit
    # (bench/bench_threads.py). The inter-op pool keeps its default: with one thread there, Keras' loop of
    # several batches per call ran 40% slower (bench/bench_compiled_parts.py). A Ray worker sets its own.
    try:
        tf.config.threading.set_intra_op_parallelism_threads(TRAINING_THREADS)
    except RuntimeError:
        pass  # TensorFlow already ran ops in this process (a command called from a test, say): keep its pools


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence (no usage dump) and exit status 2."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help).\n")


def none_or(kind: type) -> Callable[[str], object]:
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__  # so argparse says "invalid float value"
    return parse


def option_type(hint) -> Callable[[str], object]:
    """How the command line reads one value of a config field with this type hint."""
    if isinstance(hint, types.UnionType):  # e.g. float | None: the word "none" gives None
        return none_or(next(a for a in typing.get_args(hint) if a is not type(None)))
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0]
    return hint


def add_config_options(group, config_class: type, names: Iterable[str]) -> None:
    """One --option per documented field, defaulting to "not given" so the dataclass default applies."""
    hints = typing.get_type_hints(config_class)
    specs = {spec.name: spec for spec in fields(config_class)}
    for name in names:
        spec = specs[name]
        if "help" not in spec.metadata:
            continue
        kwargs: dict = {"dest": name, "default": argparse.SUPPRESS, "help": describe(spec)}
        kwargs["type"] = option_type(hints[name])
        if "choices" in spec.metadata:
            kwargs["choices"] = spec.metadata["choices"]
        if typing.get_origin(hints[name]) is list:
            kwargs.update(nargs="+", metavar=name.upper())
        group.add_argument("--" + name.replace("_", "-"), **kwargs)


def add_task_options(
    parser: argparse.ArgumentParser, base: type, classes: dict[str, type], skip=(), title: str = "--task {}"
) -> None:
    """The options of `base` in one group, then each further option once, in a group titled with
    every task that has it (e.g. `--length` under "--task adding, copy")."""
    shared = [spec.name for spec in fields(base)]
    add_config_options(parser.add_argument_group("every task"), base, [n for n in shared if n not in skip])
    owners: dict[str, list[str]] = {}  # option -> the tasks that have it
    first_class: dict[str, type] = {}
    for task, config_class in classes.items():
        for spec in fields(config_class):
            if spec.name not in shared:
                owners.setdefault(spec.name, []).append(task)
                first_class.setdefault(spec.name, config_class)
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, tasks in owners.items():
        groups.setdefault(tuple(tasks), []).append(name)
    for tasks, names in groups.items():
        add_config_options(parser.add_argument_group(title.format(", ".join(tasks))), first_class[names[0]], names)


def describe(spec: Field) -> str:
    default = spec.default_factory() if spec.default_factory is not MISSING else spec.default
    shown = " ".join(default) if isinstance(default, list) else default
    if shown is None:
        shown = "none"  # the word the option itself takes, as in --clipnorm none
    if isinstance(shown, str) and not shown.isprintable():
        shown = repr(shown)  # a newline in a default prompt, say
    text = spec.metadata["help"]
    if "default" not in text:
        text += f" (default: {shown})"
    return text.replace("%", "%%")  # argparse formats help with %


def add_jit_compile_option(parser: argparse.ArgumentParser) -> None:
    """--jit-compile for the commands that train a set budget (remedies, defaults), worded as train's."""
    from pipelines.tasks.config import TrainConfig

    spec = next(spec for spec in fields(TrainConfig) if spec.name == "jit_compile")
    parser.add_argument("--jit-compile", default=spec.default, choices=spec.metadata["choices"], help=describe(spec))


def given_options(args: argparse.Namespace, config_class: type, task: str, exclude: Iterable[str] = ()) -> dict:
    """The fields of `config_class` given on the command line; an option of another task is an error."""
    known = {spec.name for spec in fields(config_class)}
    values = {key: value for key, value in vars(args).items() if key not in exclude}
    wrong = sorted(set(values) - known)
    if wrong:
        raise ConfigError(
            f"--{wrong[0].replace('_', '-')} does not apply to {task} runs: see --help for their options."
        )
    return values


NUMBER_ROOM = 4  # characters a run's name leaves for the "-2", "-3"... of a name already taken


def auto_folder(
    root: str | Path, base: str, *, resume: bool, overwrite: bool, configs_for: Callable[[str], list]
) -> str:
    """The experiment a run not given --name trains into: `base` if that folder is free (or with
    --overwrite, as with --name); else a fresh base-2, base-3, ..., said in one line, so a second run
    never meets the first's folder. With --resume, the newest of base, base-2, ... that holds a run of
    these very options (`configs_for(name)`: the configs the run would train there), else base, so the
    same command with --resume continues an interrupted run whatever number it got."""
    if overwrite:
        return base
    existing = numbered_folders(root, base)
    if resume:  # never a new number: where nothing of these options was begun, the store says why at base
        begun = next((name for name in reversed(existing) if trained_with(configs_for(name))), base)
        if begun != base:
            print(f"resuming {Path(root, begun)}, the latest {base} of these options (give --name to choose)")
        return begun
    if not is_taken(Path(root, base)):
        return base
    fresh = f"{base}-{max((number_of(name, base) for name in existing), default=1) + 1}"
    print(
        f"{Path(root, base)} exists; saving this run as {Path(root, fresh)} (give --name to choose; "
        "if it is interrupted, the same command with --resume continues it)"
    )
    return fresh


def is_taken(folder: Path) -> bool:
    """Whether a folder holds anything (an empty one, such as a refused run may leave, is free)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return True
    return folder.is_dir() and any(folder.iterdir())


def numbered_folders(root: str | Path, base: str) -> list[str]:
    """base and base-2, base-3, ... under root, oldest first. A name's own options never end in a bare
    number (units64, not 64), so base-2 is always a second run of base."""
    pattern = re.compile(re.escape(base) + r"(-[0-9]+)?")
    try:
        names = [entry.name for entry in Path(root).iterdir() if pattern.fullmatch(entry.name)]
    except OSError:  # no runs folder yet
        return []
    return sorted(names, key=lambda name: number_of(name, base))


def number_of(name: str, base: str) -> int:
    return int(name[len(base) + 1 :] or 1)


def trained_with(configs: list) -> bool:
    """Whether these experiments (a run's, or a sweep's trials) were begun with these very options, so
    --resume may continue them: at least one holds saved options, and the store would resume each."""
    from models.cells import CELLS
    from models.experiment_store import stored_options

    requests = [config.request(resume=True) for config in configs]
    try:
        begun = [request for request in requests if stored_options(request.path, CELLS) is not None]
        for request in begun:
            request.check()
    except LabError:
        return False
    return bool(begun)


def print_table(table, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    shown = Table(title=title)
    for column in table.columns:
        shown.add_column(str(column), justify="left" if column == "model" else "right")
    for _, row in table.iterrows():
        shown.add_row(*(format_value(value) for value in row))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped or captured output: do not squeeze columns to 80
    console.print(shown)


def format_value(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return "—"
    if isinstance(value, (float, np.floating)):
        return f"{int(value)}" if float(value).is_integer() and abs(value) < 1e9 else f"{value:.4g}"
    return str(value)


RESUMABLE = "finished runs are intact and no half-written run was left; rerun with --resume to continue."


def command(
    build_parser: Callable[[], argparse.ArgumentParser],
    execute: Callable,
    *,
    interrupted: str = RESUMABLE,
    resumable: bool = True,
) -> Callable[..., int]:
    """A command's `main(argv=None) -> exit status`, for `python -m` and for in-process tests.
    `interrupted` is what Ctrl-C (or SIGTERM) tells the user about the state left behind; `resumable`
    whether the command has --resume (what a full or read-only disk's sentence advises)."""

    def main(argv: list[str] | None = None) -> int:
        return run_command(build_parser(), execute, argv, interrupted, resumable)

    return main


def run_command(
    parser: argparse.ArgumentParser, execute: Callable, argv=None, interrupted: str = RESUMABLE, resumable=True
) -> int:
    """Parse, then run: the project's errors, and the file system's (a full or read-only disk, a path
    nothing can be created in), become one line on stderr and exit status 2; any other exception is a bug
    and keeps its traceback. A command imports TensorFlow itself, once it needs it
    (`import_tensorflow_quietly`), so parsing and refusing bad options answer at once."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2), already printed
        return int(stop.code or 0)
    previous = _stop_on_sigterm()
    try:
        return execute(args) or 0
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # every write is atomic: what was saved before it is intact
        print(f"error: {os_error_sentence(error, resumable)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: {interrupted}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def os_error_sentence(error: OSError, resumable: bool = True) -> str:
    """One sentence for a file-system failure: what happened, where if known, and what to do. Writes are
    atomic and a cell's training state is replaced only by a complete one, so --resume continues from
    the last epoch that finished."""
    reason = (error.strerror or error.__class__.__name__).rstrip(".")
    where = f" ({error.filename})" if error.filename else ""
    then = ", then rerun (with --resume, training continues from its last finished epoch)" if resumable else ""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"No space is left on the disk{where}: free some space{then}."
    if error.errno == errno.EROFS:
        return f"The file system is read-only{where}: choose another --out or make it writable{then}."
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"Permission denied{where}: check the permissions or choose another folder{then}."
    return f"{reason}{where}: check the path and the disk{then}."


def _stop_on_sigterm():
    """Let SIGTERM (a scheduler or `kill`) stop a command the way Ctrl-C does: tidily, with a message."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)
