"""What every command shares: options generated from the config dataclasses, one-sentence
errors with exit status 2, and a tidy stop on Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import fields

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probing) kept off the terminal.

    Those lines bypass TF_CPP_MIN_LOG_LEVEL; silencing file descriptor 2 for the import is the
    only switch. Python errors still surface: they are raised after stderr is restored.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe also prints once, on first use
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence (no usage dump) and exit status 2."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help).\n")


def none_or(kind: type) -> Callable[[str], object]:
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__  # so argparse says "invalid float value"
    return parse


def add_config_options(parser: argparse.ArgumentParser, config_class, exclude: tuple[str, ...] = ("task",)) -> None:
    """One --option per dataclass field, defaulting to "not given" so the dataclass default applies."""
    hints = typing.get_type_hints(config_class)
    for spec in fields(config_class):
        if spec.name in exclude or "help" not in spec.metadata:
            continue
        flag = "--" + spec.name.replace("_", "-")
        if any(flag in action.option_strings for action in parser._actions):
            continue
        hint = hints[spec.name]
        kwargs: dict = {"dest": spec.name, "default": argparse.SUPPRESS, "help": describe(spec)}
        if "choices" in spec.metadata:
            kwargs["choices"] = spec.metadata["choices"]
        if typing.get_origin(hint) is list:
            kwargs.update(nargs="+", metavar=spec.name.upper())
        elif isinstance(hint, types.UnionType):
            kwargs["type"] = none_or(next(a for a in typing.get_args(hint) if a is not type(None)))
        else:
            kwargs["type"] = hint
        parser.add_argument(flag, **kwargs)


def describe(spec) -> str:
    default = spec.default_factory() if callable(getattr(spec, "default_factory", None)) else spec.default
    shown = " ".join(default) if isinstance(default, list) else default
    text = (
        spec.metadata["help"] if "default" in spec.metadata["help"] else f"{spec.metadata['help']} (default: {shown})"
    )
    return text.replace("%", "%%")  # argparse formats help with %


def run_command(main: Callable[[], int | None]) -> typing.NoReturn:
    """Run a command's main: known errors become one line on stderr and exit status 2."""
    import absl.logging
    import tensorflow as tf

    from data import DataError
    from models import RunError

    tf.get_logger().setLevel("ERROR")  # retracing notices for each new model are expected here
    absl.logging.set_verbosity(absl.logging.ERROR)

    try:
        code = main() or 0
    except (DataError, RunError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished runs are intact and no half-written run was left; rerun with --resume to continue.",
            file=sys.stderr,
        )
        code = 130
    sys.exit(code)
