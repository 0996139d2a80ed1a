"""The one seam for the fault tests: a training stops at a named point (a batch, an epoch's end, a
run's save window) so a test can interrupt or kill it exactly there, or a sweep's worker ends abruptly.

Off unless an environment variable names the point: VGL_TEST_PAUSE_AT (with VGL_TEST_PAUSE_FILE, which
receives the process id once paused) or VGL_TEST_CRASH_AT (with VGL_TEST_CRASH_FILE, counting attempts,
and VGL_TEST_CRASH_TIMES, default 1). Batch points ("epoch E batch B") are a Keras callback that exists
only while one is named, so no production batch passes through this module.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_SECONDS = 120  # long enough for any test to act; the test kills the process well before


def fault_point(point: str) -> None:
    """At `point`: pause (write this process id to VGL_TEST_PAUSE_FILE, then wait to be interrupted or
    killed) or crash (end the process as a killed worker would, the first VGL_TEST_CRASH_TIMES times),
    as the environment names it; otherwise nothing."""
    if os.environ.get("VGL_TEST_PAUSE_AT") == point:
        Path(os.environ["VGL_TEST_PAUSE_FILE"]).write_text(str(os.getpid()))
        time.sleep(PAUSE_SECONDS)
    if os.environ.get("VGL_TEST_CRASH_AT") == point:
        counter = Path(os.environ["VGL_TEST_CRASH_FILE"])
        attempts = len(counter.read_text().split()) if counter.exists() else 0
        if attempts < int(os.environ.get("VGL_TEST_CRASH_TIMES", "1")):
            with counter.open("a") as handle:
                handle.write(f"{os.getpid()}\n")
            os._exit(1)


def batch_fault_callbacks() -> list:
    """A Keras callback that reaches the batch point the environment names, or none at all."""
    if not os.environ.get("VGL_TEST_PAUSE_AT", "").startswith("epoch "):
        return []
    import keras

    class BatchFaults(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._epoch, self._last_batch = epoch, -1

        def on_train_batch_end(self, batch, logs=None):
            for done in range(self._last_batch + 1, batch + 1):  # one call may end several batches
                fault_point(f"epoch {self._epoch} batch {done}")
            self._last_batch = batch

    return [BatchFaults()]
