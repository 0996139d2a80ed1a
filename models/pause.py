"""Hooks for the fault tests: stop a training at a named point (an epoch's end, a run's save window)
so a test can interrupt or kill it exactly there, or end a sweep's worker abruptly. Each does nothing
unless its environment variable names the point.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_SECONDS = 120  # long enough for any test to act; the test kills the process well before


def pause_for_tests(point: str) -> None:
    """At `point`, write this process id to VGL_TEST_PAUSE_FILE and wait (to be interrupted or killed)."""
    if os.environ.get("VGL_TEST_PAUSE_AT") != point:
        return
    Path(os.environ["VGL_TEST_PAUSE_FILE"]).write_text(str(os.getpid()))
    time.sleep(PAUSE_SECONDS)


def crash_for_tests(point: str) -> None:
    """At `point`, end this process abruptly (as a killed worker would) the first VGL_TEST_CRASH_TIMES
    times (default once), counting attempts in VGL_TEST_CRASH_FILE. Does nothing unless
    VGL_TEST_CRASH_AT names the point."""
    if os.environ.get("VGL_TEST_CRASH_AT") != point:
        return
    counter = Path(os.environ["VGL_TEST_CRASH_FILE"])
    attempts = len(counter.read_text().split()) if counter.exists() else 0
    if attempts < int(os.environ.get("VGL_TEST_CRASH_TIMES", "1")):
        with counter.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        os._exit(1)
