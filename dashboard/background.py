"""Trainings the dashboard starts: each is a pipeline command in its own process (so the server never
loads TensorFlow and a cancel is the same SIGTERM the command handles like Ctrl-C), one per name.

The jobs live as long as the server; pages read progress from the experiment store, not from here.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent  # commands run from the project folder


@dataclass
class Job:
    """A pipeline command running in the background, with the last lines it wrote to stderr."""

    name: str
    command: list[str]
    process: subprocess.Popen
    started: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    ended: float | None = None  # when the process exited (monotonic), so the elapsed time stops there
    about: dict = field(default_factory=dict)  # what the page needs to show its progress
    errors: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def status(self) -> str:
        if self.running:
            return "running"
        if self.cancelled:
            return "cancelled"
        return "finished" if self.process.returncode == 0 else "failed"

    def reason(self) -> str:
        """The command's own last line on stderr (its one-sentence error), if it failed."""
        lines = [line for line in self.errors if line.strip()]
        return lines[-1].strip() if lines else f"exit status {self.process.returncode}"

    def cancel(self) -> None:
        """SIGTERM: the command saves the epoch it finished and stops (resumable later)."""
        if self.running:
            self.cancelled = True
            self.process.send_signal(signal.SIGTERM)

    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, Job]:
    return {}


def job(name: str) -> Job | None:
    return _jobs().get(name)


def start(name: str, module: str, arguments: list[str], about: dict | None = None) -> Job:
    """Run `python -m module arguments...` unless a job of that name is already running."""
    existing = job(name)
    if existing is not None and existing.running:
        return existing
    command = [sys.executable, "-m", module, *arguments]
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    started = Job(name, command, process, about=about or {})
    threading.Thread(target=_collect, args=(started,), daemon=True).start()
    _jobs()[name] = started
    return started


def _collect(running: Job) -> None:
    for line in running.process.stderr:  # drained continuously, so a chatty command never blocks on a full pipe
        running.errors.append(line)
    running.process.wait()  # stderr closes as the process exits
    running.ended = time.monotonic()
