"""Independent trials (a sweep's, the remedies') trained in parallel on Ray: a local Ray started in
this process, or an existing cluster. One Ray task per trial, with a fixed share of threads; a trial
that fails or whose worker dies is retried once (resuming from its last saved epoch), and reported
if it fails again.

Ray schedules; this module only submits, waits and collects: given the trials' configs, it answers
each one's table (None if it failed) and notes, which pipelines.trials (the module that imports this
one, never the other way) labels. Each trial writes its runs into the experiment store itself
(atomically, under its own lock), so on a cluster --out must be a folder every node sees at the same path.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from data import LabError, RunError
from models.faults import fault_point
from pipelines.cli import import_tensorflow_quietly
from pipelines.tasks.config import TrainConfig

PASSED_ENV = ("VGL_",)  # the project's own settings (and test hooks) reach every worker
# A cluster's head answers a TCP connection at once: nothing answering within this is not a cluster.
REACH_SECONDS = 5
# Ray's own attempts to join a cluster, bounded: by default 20 attempts of 41 s each (a 5 s connection,
# 5 s for its event channel, 30 s waiting for the cluster's ID), 14 minutes before it gives up. The
# first two are read once, when Ray is first imported; the attempts when it connects.
RAY_CONNECT_BOUNDS = {
    "RAY_gcs_rpc_server_connect_timeout_s": "5",
    "RAY_py_gcs_connect_timeout_s": "10",
    "RAY_gcs_server_port_wait_time_s": "1",  # one attempt
}
LOCALHOST = ("localhost", "127.0.0.1", "::1")  # Ray joins these at this machine's own address
RAY_LOG_PREFIX = re.compile(r"^\[[^\]]*\] [\w.]+:\d+: ")  # "[2026-12-01 12:37:08,429 W 4872 4872] gcs_client.cc:210: "


def default_threads(workers: int) -> int:
    """Each local trial's share of this machine's cores (at least one)."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_trials(
    configs: list[TrainConfig],
    *,
    workers: int | None,
    threads: int | None = None,
    address: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress=None,
) -> list[tuple[pd.DataFrame | None, list[str]]]:
    """Train every trial (one per config) on Ray, at most `workers` at once, each with `threads`
    intra-op threads; return each trial's table (None if it failed) and notes, in the configs' order.
    Uses the Ray this process is already connected to, else starts a local one (or joins `address`)
    and stops it again at the end."""
    threads = threads or (1 if address else default_threads(workers or 1))
    with connection_bounds(address):
        import ray  # here, not at the top: the plain path (and --help) never loads Ray

        started_here = not ray.is_initialized()
        if started_here:
            connect(address, None if address else (workers or 1) * threads)
    in_flight = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    remote = ray.remote(train_trial).options(
        num_cpus=threads,
        max_retries=0,  # the retry is ours, so the summary can say which trials needed one
        runtime_env={"env_vars": {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV)}},
    )
    board = Board(len(configs), progress)
    results: list[tuple[pd.DataFrame | None, list[str]] | None] = [None] * len(configs)
    failures: dict[int, str] = {}
    waiting = list(range(len(configs)))
    running: dict = {}  # Ray object ref -> trial index
    try:
        while waiting or running:
            while waiting and len(running) < in_flight:
                index = waiting.pop(0)
                # A retry resumes from the failed attempt's last epoch; not under --overwrite, where
                # resuming would keep a stale run the failed attempt had not replaced yet.
                again = index in failures and not overwrite
                running[remote.remote(configs[index], overwrite, resume or again, threads)] = index
            board.show(running=len(running))
            (ready, *_), _ = ray.wait(list(running), num_returns=1)
            index = running.pop(ready)
            try:
                table, notes = ray.get(ready)
            except ray.exceptions.RayError as error:
                reason, refused = describe_failure(error)
                if index not in failures and not refused:
                    failures[index] = reason
                    waiting.insert(0, index)  # retried at once
                    continue
                attempts = "was refused" if refused else "failed twice"
                note = f"{attempts} ({reason}); it is not in the tables: rerun with --resume to train it."
                results[index] = (None, [note])
                board.failed += 1
                continue
            if index in failures:
                notes = [f"the first attempt failed ({failures[index]}); the retry succeeded.", *notes]
            results[index] = (table, notes)
            board.done += 1
    finally:
        for ref in running:  # Ctrl-C: a cluster would otherwise go on training
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()
    board.show(running=0)
    return results


@contextmanager
def connection_bounds(address: str | None) -> Iterator[None]:
    """Ray's attempts to join the cluster at `address` bounded (RAY_CONNECT_BOUNDS, unless set), for
    this process's connection only: a local Ray started later keeps Ray's defaults."""
    added = {} if address is None else {k: v for k, v in RAY_CONNECT_BOUNDS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def connect(address: str | None, num_cpus: int | None) -> None:
    """Start a local Ray with `num_cpus` CPUs, or join the cluster at `address`: refused at once if
    nothing answers there, within Ray's bounded attempts otherwise, and quietly (Ray's own lines
    about each failed attempt are not shown)."""
    import ray  # only on the Ray path

    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    said: list[str] = []  # the last line Ray's native side wrote while joining (an auth token missing...)
    try:
        if address is None:  # "local": a new instance, even if RAY_ADDRESS or `ray start` names another
            ray.init(address="local", num_cpus=num_cpus, **quiet)
        else:
            check_reachable(address)
            with captured_stderr(said):  # Ray's C++ side prints a warning per attempt, unasked
                ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as error:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        if said:
            cause = f"{cause}: {said[-1]}"
        if address is None:
            raise RunError(
                f"Could not start a local Ray ({cause}): run with --workers 1 to train here without Ray."
            ) from None
        raise RunError(
            f"Could not reach the Ray cluster at {address} ({cause}): check the address (`ray status` on the head "
            "node shows it; a cluster started with token authentication also needs RAY_AUTH_MODE=token and its "
            "token here), or drop --ray-address to run here."
        ) from None


def check_reachable(address: str) -> None:
    """A ConnectionError at once if nothing accepts a connection at `address` (host:port, maybe after
    ray://), where Ray would retry for minutes. Ray joins a local name at this machine's own address,
    so both are tried. An address that is not host:port is left to Ray to refuse."""
    import ray  # only on the Ray path

    host, _, port = address.split("://", 1)[-1].rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or address in ("auto", "local"):
        return
    hosts = [host, ray.util.get_node_ip_address()] if host in LOCALHOST else [host]
    reasons = []
    for candidate in hosts:
        try:
            socket.create_connection((candidate, int(port)), timeout=REACH_SECONDS).close()
            return
        except OSError as error:
            reasons.append(f"{candidate}:{port}: {error.strerror or type(error).__name__}")
    raise ConnectionError(f"nothing answers at {', '.join(reasons)}")


@contextmanager
def captured_stderr(last: list[str]) -> Iterator[None]:
    """This process's standard error (the file descriptor, so native code's lines too) kept from the
    terminal; its last line, without Ray's log prefix, appended to `last`."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode(errors="replace").strip().splitlines()
            if lines:
                last.append(RAY_LOG_PREFIX.sub("", lines[-1]).strip()[:300])


def train_trial(config: TrainConfig, overwrite: bool, resume: bool, threads: int) -> tuple[pd.DataFrame, list[str]]:
    """One trial, in a Ray worker: its share of threads, then the same run_experiment as the plain path."""
    share_threads(threads)
    experiment = Path(config.out)
    if not experiment.is_dir():  # a cluster node that does not share the driver's --out
        raise RunError(f"--out {config.out} is not a folder on this node: on a cluster, --out must be a shared folder.")
    fault_point(f"trial {config.experiment_name()}")
    from pipelines.experiment import run_experiment  # loads TensorFlow, which importing this module must not

    result = run_experiment(config, overwrite=overwrite, resume=resume)
    return result.table, result.notes


def share_threads(threads: int) -> None:
    """Fix this worker's TensorFlow intra-op pool before its first op. A worker reused for a later
    trial already has them (TensorFlow cannot change them once running)."""
    import_tensorflow_quietly()
    import tensorflow as tf  # loaded quietly just above (importing this module must not load it)

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)  # inter-op: see import_tensorflow_quietly
    except RuntimeError:
        pass  # already initialised by an earlier trial in this worker


def describe_failure(error: Exception) -> tuple[str, bool]:
    """One clause for a failed attempt (the trial's own error sentence, or that its worker died), and
    whether the trial was refused as bad input: the same input would be refused again, so no retry."""
    import ray  # only on the Ray path

    if isinstance(error, ray.exceptions.WorkerCrashedError):
        return "its worker died", False
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, LabError):
        return str(cause), True
    first_line = next(iter(str(cause).strip().splitlines()), "")
    return f"{type(cause).__name__}: {first_line}".rstrip(": "), False


class Board:
    """Trials done / running / failed, on one progress bar (when there is a terminal to show it on)."""

    def __init__(self, total: int, progress):
        self.total, self.progress, self.done, self.failed = total, progress, 0, 0
        self.task = progress.add_task("trials", total=total, status="") if progress is not None else None

    def show(self, running: int) -> None:
        if self.progress is not None:
            status = f"done {self.done}, running {running}, failed {self.failed}"
            self.progress.update(self.task, completed=self.done + self.failed, status=status)
