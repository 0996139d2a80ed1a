"""Models: the cell builder, the GradientLogger callback, the run store and the experiment store.

Everything here is plain Keras on the TensorFlow backend; saved models need no custom code.
Names load on first use, so reading runs and experiments never starts TensorFlow.
"""

import importlib

_WHERE = {
    "CELLS": "models.cells",
    "BACKPROP_CELLS": "models.cells",
    "build_model": "models.builder",
    "count_params": "models.builder",
    "set_forget_bias": "models.builder",
    "GradientLogger": "models.gradient_logger",
    "decay_factor": "models.gradient_log",
    "gradient_horizon": "models.gradient_log",
    "load_gradient_log": "models.gradient_log",
    "Run": "models.run_store",
    "RunError": "models.run_store",
    "load_run": "models.run_store",
    "read_run_info": "models.run_store",
    "save_run": "models.run_store",
    "Experiment": "models.experiment_store",
    "list_experiments": "models.experiment_store",
    "load_experiment": "models.experiment_store",
    "recurrent_layers": "models.unroll",
    "unroll_layer": "models.unroll",
    "unrolled_forward": "models.unroll",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
