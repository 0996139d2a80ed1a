"""Models: the cell builder, the GradientLogger callback and the run store.

Everything here is plain Keras on the TensorFlow backend; saved models need no custom code.
"""

from models.builder import CELLS, build_model, count_params, set_forget_bias
from models.gradient_logger import GradientLogger, decay_factor, gradient_horizon, load_gradient_log
from models.run_store import Run, RunError, load_run, read_run_info, save_run
from models.unroll import recurrent_layers, unroll_layer, unrolled_forward

__all__ = [
    "CELLS",
    "GradientLogger",
    "Run",
    "RunError",
    "build_model",
    "count_params",
    "decay_factor",
    "gradient_horizon",
    "load_gradient_log",
    "load_run",
    "read_run_info",
    "recurrent_layers",
    "save_run",
    "set_forget_bias",
    "unroll_layer",
    "unrolled_forward",
]
