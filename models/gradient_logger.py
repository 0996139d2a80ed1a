"""GradientLogger: a Keras callback that records how the gradient flows back through time.

Keras gives callbacks no gradients, so on a fixed probe batch it unrolls each recurrent layer's
own cell and takes dL/dh_t, dL/dx_t, weight-gradient norms and LSTM gate means with GradientTape.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from models.gradient_log import (
    EPOCH,
    GLOBAL_GRAD,
    LOSS,
    STEP,
    X_GRAD,
    activation_slope_key,
    decay_factor,
    decay_key,
    gate_key,
    gate_unit_key,
    gradient_horizon,
    h_grad_key,
    horizon_key,
    recurrent_norm_key,
    save_gradient_log,
    weight_grad_key,
)
from models.tensorboard_log import HEATMAP_ROWS, write_record
from models.tf_internals import distribute_strategy_of

_GRADIENT = "gradient:"  # probe outputs of the variables' gradients, for TensorBoard; never in the log


class GradientLogger(keras.callbacks.Callback):
    """Logs back-propagation-through-time gradients on a probe batch during `model.fit`.

    Every `every_n_batches` training batches and at the end of each epoch it records, into
    `logger.log` (a dict of numpy arrays, one row per record):
    `step`, `epoch`, `loss`; `h_grad_norm/<layer>` (records, T) = ||dL/dh_t||;
    `x_grad_norm` (records, T) = ||dL/dx_t|| at the input of the first recurrent layer;
    `weight_grad_norm/<variable path>` and `global_grad_norm` (before any clipping);
    `gate_mean/<lstm layer>/{forget,input,output}` (records, T); `horizon/<layer>` and
    `decay/<layer>` (records,). The probe runs in inference mode (no dropout). Fitting the same
    model again (epoch by epoch, say) continues the log, with `step` counting on; a new model
    starts a fresh log; `restore(log)` continues a saved log after an interruption.

    Args:
        probe_x: a fixed batch of inputs, e.g. the first 64 validation windows.
        probe_y: their targets.
        every_n_batches: record cadence in training batches; 0 records only at epoch ends.
            Defaults to `100`.
        probe_weights: weights of the probe loss, shaped like the loss per sample (or per sample
            and step, for a per-step head), as Keras' sample_weight: e.g. 1 only on the steps that
            need memory, so L is the loss on what must be remembered. Defaults to `None` (the mean).
        truncate_every: K when the model is trained by truncated back-propagation through time
            (`--tbptt K`): the probe stops the gradient between chunks of K steps as training
            does, so the log shows the gradient the optimizer gets. Defaults to `None`.
        jit_compile: compile the probe with XLA: True, False, or "auto" to do as the model's own
            training step (`model.jit_compile`). Compiling costs ~0.6 s more than tracing, once; a
            record at T = 100 is then about 2x faster (bench/bench_compiled_parts.py). Defaults to `"auto"`.
        log_dir: also write each record there for TensorBoard (`tensorboard --logdir DIR`), at its
            training step: every scalar of the record (loss, `horizon/<layer>`, decays, weight and global
            gradient norms), `reach/<layer>`, `h_grad_norm/<layer>/step_back_<k>` for k = 0, 1, 2, 5,
            10, ...; the image `gradient_heatmap/<layer>` (records x steps back, log10 ||dL/dh_t||);
            histograms of each profile over time and of each trainable variable's gradient on the probe
            (`weight_grad/<variable path>`). Needs TensorFlow only (models/tensorboard_log.py); the log and
            the training are the same with it or without. Defaults to `None`.
        tensorboard_dir: the earlier name of `log_dir`. Defaults to `None`.

    Example:

    ```python
    logger = GradientLogger(x_val[:64], y_val[:64])
    model.fit(x, y, epochs=5, callbacks=[logger])
    logger.log["horizon/lstm_1"]   # how far back the gradient reaches, per record
    logger.save("gradients.npz")
    ```
    """

    def __init__(
        self,
        probe_x,
        probe_y,
        every_n_batches: int = 100,
        tensorboard_dir: str | None = None,
        probe_weights=None,
        truncate_every: int | None = None,
        jit_compile: bool | str = "auto",
        log_dir: str | Path | None = None,
    ):
        super().__init__()
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"GradientLogger needs the TensorFlow backend (this is {keras.backend.backend()!r}): set KERAS_BACKEND=tensorflow."
            )
        if every_n_batches < 0:
            raise ValueError(f"every_n_batches must be 0 (epoch ends only) or positive, got {every_n_batches}.")
        self.probe_x = np.asarray(probe_x)
        self.probe_y = np.asarray(probe_y)
        if len(self.probe_x) != len(self.probe_y) or len(self.probe_x) == 0:
            raise ValueError(
                f"The probe batch needs as many targets as inputs and at least one of each (got {len(self.probe_x)} and {len(self.probe_y)})."
            )
        self.probe_weights = None if probe_weights is None else np.asarray(probe_weights, dtype="float32")
        if self.probe_weights is not None and (
            self.probe_weights.shape != self.probe_y.shape[: self.probe_weights.ndim] or not self.probe_weights.any()
        ):
            raise ValueError(
                f"probe_weights has shape {self.probe_weights.shape}: it needs the leading shape of the targets ({self.probe_y.shape}) and a weight above 0."
            )
        if log_dir is not None and tensorboard_dir is not None and str(log_dir) != str(tensorboard_dir):
            raise ValueError(f"log_dir {log_dir!r} and tensorboard_dir {tensorboard_dir!r} differ: pass log_dir alone.")
        if truncate_every is not None and truncate_every < 1:
            raise ValueError(f"truncate_every must be None or at least 1, got {truncate_every}.")
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f'jit_compile must be True, False or "auto", got {jit_compile!r}.')
        self.jit_compile = jit_compile
        self.truncate_every = truncate_every
        self.every_n_batches = every_n_batches
        self.log_dir = None if log_dir is None and tensorboard_dir is None else str(log_dir or tensorboard_dir)
        self._records: list[dict[str, np.ndarray | float]] = []
        self._batches_seen = 0
        self._epoch_start = 0  # batches seen when the current epoch began
        self._logged_model = None  # the model the records are of
        self._restored = False
        self._probe_fn = None
        self._layers: list[str] = []  # names of the recurrent layers the probe unrolls
        self._simple_layers: list = []  # the SimpleRNN layers among them
        self._writer = None

    # --- Keras callback hooks ------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # Fitting the same model again (epoch by epoch, say) continues its log; a new model starts
        # a fresh one, unless `restore` just handed over the log of the training it continues.
        if self.model is not self._logged_model:
            if not self._restored:
                self._records, self._batches_seen = [], 0
            self._logged_model, self._restored = self.model, False
            self._probe_fn = self._build_probe(self.model)
        self._epoch = 0
        if self.log_dir is not None and self._writer is None:  # one event file for every fit of this logger
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self._batches_seen

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the epoch's last batch done: with steps_per_execution > 1, Keras calls this once
        # for several batches, so the count follows it rather than the calls.
        before, self._batches_seen = self._batches_seen, self._epoch_start + batch + 1
        if self.every_n_batches and self._batches_seen // self.every_n_batches > before // self.every_n_batches:
            self.record()

    def on_epoch_end(self, epoch, logs=None):
        # Skip the duplicate when the cadence just recorded this very batch.
        if not self._records or self._records[-1][STEP] != self._batches_seen:
            self.record()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    @property
    def tensorboard_dir(self) -> str | None:
        """The earlier name of `log_dir`."""
        return self.log_dir

    def close(self) -> None:
        """Close the TensorBoard event file (a later fit opens a new one); everything is flushed after each record anyway."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- recording ---------------------------------------------------------------------------

    def record(self) -> None:
        """Take one record now (also usable outside fit, after `on_train_begin`)."""
        if self._probe_fn is None:
            self._probe_fn = self._build_probe(self.model)
        weights = np.ones(1, "float32") if self.probe_weights is None else self.probe_weights
        out = {k: v.numpy() for k, v in self._run_probe(self.probe_x, self.probe_y, weights).items()}
        gradients = {k[len(_GRADIENT) :]: out.pop(k) for k in list(out) if k.startswith(_GRADIENT)}
        row: dict[str, np.ndarray | float] = {STEP: self._batches_seen, EPOCH: self._epoch, LOSS: float(out.pop(LOSS))}
        row.update(out)
        for layer in self._layers:
            row[horizon_key(layer)] = gradient_horizon(out[h_grad_key(layer)])
            row[decay_key(layer)] = decay_factor(out[h_grad_key(layer)])
        for layer in self._simple_layers:  # what the weights predict for the decay (with the activation slope)
            kernel = layer.cell.recurrent_kernel.numpy()
            finite = np.isfinite(kernel).all()  # a diverged training leaves NaN weights: no SVD of those
            row[recurrent_norm_key(layer.name)] = float(np.linalg.norm(kernel, 2)) if finite else float("nan")
        self._records.append(row)
        if self._writer is not None:  # after the record is taken; draws no random numbers
            history = {layer: [r[h_grad_key(layer)] for r in self._records[-HEATMAP_ROWS:]] for layer in self._layers}
            write_record(self._writer, row, history, self._layers, gradients)

    def _run_probe(self, *args) -> dict:
        """The probe, or under a tf.distribute strategy (--distribute) the probe run by each replica on
        the whole probe batch (a distributed variable has a gradient only inside a replica), of which
        the first replica's is kept: they are the same computation on identical weights."""
        strategy = distribute_strategy_of(self.model)  # None unless built under a strategy
        if strategy is None:
            return self._probe_fn(*args)
        per_replica = strategy.run(self._probe_fn, args=args)
        return {key: strategy.experimental_local_results(value)[0] for key, value in per_replica.items()}

    @property
    def log(self) -> dict[str, np.ndarray]:
        """Every record so far, stacked: one array per key, one row per record."""
        if not self._records:
            return {}
        return {key: np.asarray([r[key] for r in self._records]) for key in self._records[0]}

    def restore(self, log: dict[str, np.ndarray]) -> None:
        """Continue the log of an interrupted training (as saved from `log`): the next fit, of the
        model that training resumes, appends to it and counts batches on from its last step."""
        keys = list(log)
        self._records = [{key: log[key][i] for key in keys} for i in range(len(log[STEP]) if keys else 0)]
        self._batches_seen = int(log[STEP][-1]) if self._records else 0
        self._logged_model, self._restored = None, True

    def save(self, path: str | Path) -> Path:
        """Write `log` to an .npz file atomically (a crash never leaves half a file)."""
        return save_gradient_log(self.log, path)

    # --- internals ----------------------------------------------------------------------------

    def _build_probe(self, model):
        import tensorflow as tf

        from models.execution import xla_function
        from models.unroll import recurrent_layers, unrolled_forward

        rnns = recurrent_layers(model)
        if not rnns:
            raise ValueError(
                f"Model {model.name!r} has no SimpleRNN, LSTM or GRU layer, so there is no gradient through time to log."
            )
        expected = tuple(model.inputs[0].shape[1:])
        if tuple(self.probe_x.shape[1:]) != expected:
            raise ValueError(
                f"The probe batch has shape {tuple(self.probe_x.shape[1:])} per sample but the model expects {expected}: pass windows shaped like the training inputs."
            )
        steps = self.probe_x.shape[1]
        batch = self.probe_x.shape[0]
        dtype = model.inputs[0].dtype if model.inputs[0].dtype in ("float16", "float32", "float64") else "float32"
        if not isinstance(model, keras.Sequential) and not _is_chain(model, self.probe_x):
            raise ValueError(
                f"Model {model.name!r} is not a single chain of layers that GradientLogger can unroll: use a Sequential stack or a functional chain."
            )
        loss_fn = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
        if loss_fn is None:
            raise ValueError("GradientLogger needs a compiled model (call model.compile with a loss first).")
        first_width = _input_width(rnns[0])
        self._layers = [layer.name for layer in rnns]
        simple = [layer for layer in rnns if isinstance(layer, keras.layers.SimpleRNN)]
        self._simple_layers = simple
        variables = model.trainable_variables
        weighted = self.probe_weights is not None
        truncate = self.truncate_every
        with_gradients = self.log_dir is not None  # each variable's gradient itself, for TensorBoard alone

        def probe(x, y, weights):
            probes = {layer.name: tf.zeros((steps, batch, layer.cell.units), dtype=dtype) for layer in rnns}
            input_probe = tf.zeros((batch, steps, first_width), dtype=dtype)
            with tf.GradientTape() as tape:
                tape.watch(list(probes.values()) + [input_probe])
                forward = unrolled_forward(model, x, probes, input_probe, with_gates=True, truncate_every=truncate)
                per_item = loss_fn(y, forward.prediction)  # per sample, or per sample and step
                if weighted:
                    weights = tf.cast(weights, per_item.dtype)
                    for _ in range(per_item.shape.rank - weights.shape.rank):  # per-sample weights, per-step loss
                        weights = weights[..., None]
                    weights = tf.broadcast_to(weights, tf.shape(per_item))
                    loss = tf.reduce_sum(per_item * weights) / tf.reduce_sum(weights)
                else:
                    loss = tf.reduce_mean(per_item)
            grads = tape.gradient(loss, [list(probes.values()), input_probe, variables])
            h_grads, x_grad, w_grads = grads
            out = {LOSS: loss, X_GRAD: tf.norm(x_grad, axis=[0, 2])}
            for layer, g in zip(rnns, h_grads, strict=True):
                out[h_grad_key(layer.name)] = tf.norm(g, axis=[1, 2])  # (T,) over batch and units
            w_norms = []
            for var, g in zip(variables, w_grads, strict=True):
                norm = tf.norm(g) if g is not None else tf.constant(0.0)
                out[weight_grad_key(var.path)] = norm
                if with_gradients and g is not None:
                    out[_GRADIENT + var.path] = tf.convert_to_tensor(g)
                w_norms.append(norm)
            out[GLOBAL_GRAD] = tf.sqrt(tf.add_n([n * n for n in w_norms]))
            for name, gates in forward.gates.items():
                for gate, values in gates.items():
                    out[gate_key(name, gate)] = values
                out[gate_unit_key(name, "forget")] = forward.forget_per_unit[name]
            for layer in simple:
                slope = activation_slope(layer.cell.activation, forward.hidden[layer.name])
                if slope is not None:
                    out[activation_slope_key(layer.name)] = slope
            return out

        compiled = model.jit_compile if self.jit_compile == "auto" else self.jit_compile
        return xla_function(probe, bool(compiled))


def activation_slope(activation, hidden):
    """Mean derivative of a SimpleRNN activation along the probe, from its outputs h; None for an
    activation whose derivative h does not give."""
    import tensorflow as tf

    from models.unroll import activation_derivative

    slopes = activation_derivative(activation, hidden)
    return None if slopes is None else tf.reduce_mean(slopes)


def _is_chain(model, x) -> bool:
    """A functional model qualifies if calling its layers in order reproduces its output."""
    from models.unroll import unrolled_forward

    try:
        ours = unrolled_forward(model, x).prediction.numpy()
    except Exception:  # a merge layer called on a single input, say: not a chain
        return False
    theirs = model(x, training=False).numpy()
    return ours.shape == theirs.shape and np.allclose(ours, theirs, atol=1e-4, rtol=1e-3)


def _input_width(first_rnn) -> int:
    """Feature width of the sequence entering the first recurrent layer (its kernel's fan-in)."""
    return int(first_rnn.cell.kernel.shape[0])
