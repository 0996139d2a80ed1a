"""The task registry: every command and dashboard page finds a task here, never by branching on it.

A new task is one module beside these (its config, preparation, baselines and evaluation) plus a
data generator in data/, registered with one line below.
"""

from __future__ import annotations

from data import ConfigError
from pipelines.tasks.adding import AddingTask
from pipelines.tasks.base import Task
from pipelines.tasks.config import TrainConfig, config_from_dict
from pipelines.tasks.copy import CopyTask
from pipelines.tasks.stock import StockTask
from pipelines.tasks.text import TextTask

TASKS: dict[str, Task] = {task.name: task for task in (StockTask(), TextTask(), AddingTask(), CopyTask())}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"Unknown task {name!r}: choose one of {', '.join(TASKS)}.")
    return TASKS[name]


def task_of(config: TrainConfig) -> Task:
    return get_task(config.task)


def config_from_saved(values: dict) -> TrainConfig:
    """Rebuild a config from run.json's "config" (its "cell", if any, is the caller's to read)."""
    if not isinstance(values, dict):
        raise ConfigError("The saved config is not a JSON object: give the run.json of a finished run.")
    task = get_task(str(values.get("task")))
    return config_from_dict(task.config_class, {key: v for key, v in values.items() if key != "cell"})
