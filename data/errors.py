"""The project's one error family: every failure it expects raises a LabError whose message is one
sentence saying what is wrong and how to fix it. Commands print it and exit 2; anything else is a bug.
"""


class LabError(Exception):
    """Base of every error this project raises on purpose, described in one actionable sentence."""


class DataError(LabError):
    """Bad or unavailable input data: a malformed CSV, an unknown ticker, an empty corpus..."""


class ConfigError(LabError):
    """An option that cannot work: a size below 1, an unknown cell, an option of another task..."""


class RunError(LabError):
    """A run or experiment folder that cannot be written, found or trusted."""
