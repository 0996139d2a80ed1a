"""The one error type of the data stage.

Every bad input (a malformed CSV, an unknown ticker, an empty corpus...) raises DataError with
one sentence saying what is wrong and what to do; command lines turn it into exit status 2.
"""


class DataError(ValueError):
    """Bad or unavailable input data, described in one actionable sentence."""
