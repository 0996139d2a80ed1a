"""Pipelines: train cells side by side, evaluate against baselines, sweep, predict.

Each module with a `main` is a command: `python -m pipelines.<name> --help`.
"""

from pipelines.cli import import_tensorflow_quietly

import_tensorflow_quietly()  # before any command module imports Keras
