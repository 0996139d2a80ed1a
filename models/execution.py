"""How a model's steps run: compiled by XLA or op by op. `choose_execution` is the `--jit-compile auto`
rule measured by bench/bench_compiled.py; `compile_model` and `xla_function` apply a choice, the first
being the one place that lets XLA compile under TensorFlow's op determinism, which Keras refuses.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from models.tf_internals import op_determinism_lifted

JIT_COMPILE = ("auto", "on", "off")

# What XLA saves per training step and per time step, in milliseconds, on this 2-core CPU with one thread
# per op pool (as training runs): from bench/bench_compiled.py on 2026-12-01, 84 shapes of batch 16-256,
# T = 50-400 and 32-128 units, where XLA was faster on every one (1.01x to 5.1x) and the saving grew with
# T and hardly with the batch. Per cell, by units up to the key: the lower quartile of saving / T, so
# that `auto` compiles only where the saving surely repays the compile. Wider layers were not measured.
SAVED_MS_PER_TIME_STEP = {
    "simple_rnn": {32: 0.027, 64: 0.016, 128: 0.016},
    "lstm": {32: 0.05, 64: 0.05, 128: 0.02},
    "gru": {32: 0.07, 64: 0.07, 128: 0.07},
}
# What compiling costs a training once, in seconds: the training step at the full and the last, smaller
# batch, the validation and prediction steps and the gradient probe. One epoch of 8 batches through the
# pipeline took 2.0-2.5 s longer compiled than op by op, for each cell at T = 10 and 100 (BENCHMARKS.md).
COMPILE_SECONDS = 3.0
# The custom step of --tbptt and --penalty (the layer's own cells in a while loop, two gradients): with
# one intra-op thread, XLA ran it 2.0x faster at T = 100 and 1.8x slower at T = 400
# (bench/bench_compiled_parts.py), so `auto` compiles it up to T = 100, where it saves ~0.05 ms a step.
CUSTOM_STEP_MAX_T = 100
CUSTOM_STEP_SAVED_MS_PER_TIME_STEP = 0.05


@dataclass(frozen=True)
class Execution:
    """Whether a cell's steps are compiled by XLA, and why (shown in the progress display)."""

    compiled: bool
    why: str

    @property
    def label(self) -> str:
        return "XLA" if self.compiled else "op by op"


def choose_execution(
    setting: str,
    *,
    cell: str,
    units: int,
    time_steps: int,
    layers: int,
    batches: int,
    on_gpu: bool,
    custom_step: bool = False,
) -> Execution:
    """`--jit-compile` resolved for one cell's training of `batches` steps over sequences of `time_steps`.

    auto: on a CPU, XLA when the time it saves (SAVED_MS_PER_TIME_STEP x time steps x layers x batches)
    exceeds what compiling costs (COMPILE_SECONDS); the same config always resolves the same way, so the
    same seed gives the same bits. The esn (no training step) and layers wider than measured run op by
    op; the custom step of --tbptt and --penalty (`custom_step`) has its own measured limit. On a GPU, Keras runs LSTM and GRU on cuDNN's fused kernel, which XLA cannot compile, and nothing
    was measured for the rest: auto keeps op by op there.
    """
    if setting == "off":
        return Execution(False, "--jit-compile off")
    if setting == "on":
        return Execution(True, "--jit-compile on")
    if on_gpu:
        return Execution(False, "auto: on a GPU the cuDNN kernels run op by op (XLA cannot compile them)")
    if custom_step:
        if time_steps > CUSTOM_STEP_MAX_T:
            return Execution(False, f"auto: the custom step ran slower compiled at T > {CUSTOM_STEP_MAX_T}")
        per_time_step = CUSTOM_STEP_SAVED_MS_PER_TIME_STEP
    else:
        measured = SAVED_MS_PER_TIME_STEP.get(cell, {})
        widths = [width for width in measured if width >= units]
        if not widths:
            return Execution(False, f"auto: op by op (nothing measured compiled for {cell} with {units} units)")
        per_time_step = measured[min(widths)]
    saved = per_time_step * time_steps * layers * batches / 1000
    if saved > COMPILE_SECONDS:
        return Execution(
            True, f"auto: XLA saves ~{saved:.0f} s over {batches} steps; compiling costs ~{COMPILE_SECONDS:.0f} s"
        )
    return Execution(
        False, f"auto: {batches} steps at T = {time_steps} save less than compiling costs (~{COMPILE_SECONDS:.0f} s)"
    )


def probe_compiled(setting: str) -> bool:
    """Whether the pipeline compiles the GradientLogger's probe: only under --jit-compile on. With one
    intra-op thread a compiled record took 7-13 ms instead of 12-25 at T = 100 and about as long at
    T = 400 (bench/bench_compiled_parts.py), while compiling costs ~0.6 s more than tracing: at the
    lab's ~20 records a training, it does not pay."""
    return setting == "on"


def compile_model(model, compiled: bool) -> bool:
    """Set whether `model`'s train, test and predict steps are compiled by XLA; return whether they are.

    Keras refuses `jit_compile=True` (with a warning, falling back to op by op) whenever op determinism
    is on, "since not all ops are supported by XLA with determinism enabled". That is about GPU kernels:
    on a CPU the compiled step is deterministic (two fits from one seed give the same bits, checked in
    tests/test_execution.py). So the determinism flag is lifted for the moment Keras checks, and only
    that check: a model Keras cannot compile for another reason (a layer that runs cuDNN, say) is still
    refused, and this returns False.
    """
    if not compiled:
        model.jit_compile = False
        return False
    with op_determinism_lifted(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`")
        model.jit_compile = True
    return bool(model.jit_compile)


def xla_function(function, compiled: bool):
    """`function` as a TensorFlow graph, compiled by XLA when `compiled` (the custom training step of
    --tbptt and --penalty, the GradientLogger's probe). A graph that XLA cannot compile raises when it
    is first called, not here."""
    import tensorflow as tf

    return tf.function(function, reduce_retracing=True, jit_compile=compiled)


def on_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))
