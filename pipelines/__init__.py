"""Pipelines: train cells side by side, evaluate against baselines, sweep, predict.

Each module with a `main` is a command: `python -m pipelines.<name> --help`. The tasks live in
pipelines/tasks/, one module each, found through its registry.
"""
