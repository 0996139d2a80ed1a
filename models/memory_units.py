"""Which LSTM units hold a remembered value, and what their forget gates do meanwhile: the per-unit
evidence for "the forget gate keeps the memory", from the layer's own cell run step by step.

A unit whose cell state follows the value can hold it itself (its forget gate near 1 all the way, so
the product of its forget gates, the share of its state that survives, stays near 1) or mirror it (its
state is rewritten every step from the units that hold it, through the recurrent weights, with a
forget gate well below 1). Correlation alone cannot tell them apart; the retention does.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

FOLLOWS = 0.5  # |correlation| of a unit's cell state with the value for the unit to follow it
HOLDS = 0.5  # share of its cell state a unit keeps from the marked step to the held step (product of f)


@dataclass
class MemoryUnits:
    """Per unit of an LSTM layer: how its cell state follows a value, how much of it the forget gates keep."""

    correlation: np.ndarray  # (units,): corr over sequences of the value and the cell state at `held_at`
    retention: np.ndarray  # (units,): median over sequences of the product of f from the marked step to `held_at`
    forget: np.ndarray  # (units, T): the forget gate per unit and step, averaged over the sequences
    held_at: int  # the step whose cell state is correlated with the value

    @property
    def holders(self) -> np.ndarray:
        """Units that follow the value and keep it in their own cell state."""
        return np.flatnonzero((np.abs(self.correlation) >= FOLLOWS) & (self.retention >= HOLDS))

    @property
    def mirrors(self) -> np.ndarray:
        """Units that follow the value but whose forget gates would have lost it: rewritten each step."""
        return np.flatnonzero((np.abs(self.correlation) >= FOLLOWS) & (self.retention < HOLDS))

    def to_dict(self) -> dict:
        """Plain lists for run.json: the per-unit figures, each holder's forget gate per step, and the mean
        forget gate per step of the other units."""
        others = np.setdiff1d(np.arange(len(self.correlation)), self.holders)
        return {
            "held_at": self.held_at,
            "correlation": self.correlation.round(4).tolist(),
            "retention": self.retention.round(4).tolist(),
            "holders": self.holders.tolist(),
            "mirrors": self.mirrors.tolist(),
            "holder_forget": self.forget[self.holders].round(5).tolist(),
            "other_forget": self.forget[others].mean(axis=0).round(5).tolist() if len(others) else [],
        }


def lstm_traces(layer: keras.layers.LSTM, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cell state c_t and forget gate f_t of every unit at every step, (batch, T, units) each, from the
    layer's own cell (inference mode): Keras orders an LSTM's gate weights i, f, c, o."""
    import tensorflow as tf

    cell = layer.cell
    inputs = tf.convert_to_tensor(inputs, dtype="float32")
    states = [tf.cast(s, inputs.dtype) for s in cell.get_initial_state(batch_size=inputs.shape[0])]
    cells, forgets = [], []
    for t in range(inputs.shape[1]):
        x_t = inputs[:, t]
        z = tf.matmul(x_t, cell.kernel) + tf.matmul(states[0], cell.recurrent_kernel)
        if cell.use_bias:
            z = z + cell.bias
        forgets.append(cell.recurrent_activation(z[:, cell.units : 2 * cell.units]))
        _, states = cell.call(x_t, states, training=False)
        states = list(states)
        cells.append(states[1])
    return np.stack([c.numpy() for c in cells], axis=1), np.stack([f.numpy() for f in forgets], axis=1)


def memory_units(
    model: keras.Model, x: np.ndarray, value: np.ndarray, marked_at: np.ndarray, held_at: int
) -> MemoryUnits | None:
    """For the model's first layer if it is an LSTM fed the raw sequences: each unit's correlation, over the
    sequences `x`, of `value` (what must be remembered, read at step `marked_at` of each sequence) with
    its cell state at step `held_at`; the retention of each unit's forget gates in between; and its
    forget gates over the sequence. None for another model."""
    from models.unroll import chain_layers

    first = chain_layers(model)[0]
    if not isinstance(first, keras.layers.LSTM):
        return None
    cell_states, forget = lstm_traces(first, x)
    held = cell_states[:, held_at].astype(float)
    value = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        covariance = ((held - held.mean(axis=0)) * (value - value.mean())[:, None]).mean(axis=0)
        correlation = np.nan_to_num(covariance / (held.std(axis=0) * value.std()))
    steps = np.arange(forget.shape[1])
    kept = (steps[None, :] > np.asarray(marked_at)[:, None]) & (steps[None, :] <= held_at)  # after the mark
    retention = np.median(np.exp((np.log(np.maximum(forget, 1e-30)) * kept[:, :, None]).sum(axis=1)), axis=0)
    return MemoryUnits(correlation, retention, forget.mean(axis=0).T, held_at)
