"""A hook for the fault tests: stop a training at a named point (an epoch's end, a run's save window)
so a test can interrupt or kill it exactly there. Does nothing unless VGL_TEST_PAUSE_AT names the point.
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
