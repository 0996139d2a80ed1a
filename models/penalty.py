"""The gradient-norm penalty of Pascanu, Mikolov & Bengio (2013, eq. 9): a loss term that keeps
||dL/dh_k|| from shrinking as it is carried back one step, Omega = mean_k (||g_{k+1} dh_{k+1}/dh_k|| / ||g_{k+1}|| - 1)^2.
"""

from __future__ import annotations

import tensorflow as tf

from models.unroll import activation_derivative


def gradient_penalty(cell, hidden, h_grads):
    """Omega for one SimpleRNN layer: `hidden` (batch, T, units) are its outputs h_t, `h_grads`
    (T, batch, units) the loss gradients dL/dh_t, taken as constants (as Pascanu et al. do).

    One step back, h_{k+1} = act(x W + h_k R + b) turns g_{k+1} into (g_{k+1} * act'_{k+1}) R^T.
    Norms are over the whole batch (as in the authors' code); steps whose g_{k+1} is zero (no
    gradient reaches them: beyond a truncation, or before any target) are left out, and Omega is
    the mean over the remaining steps (the paper sums them: the mean keeps one weight for any T).
    """
    g_next = tf.stop_gradient(tf.transpose(h_grads, [1, 0, 2]))[:, 1:]  # (batch, T-1, units): g_{k+1}
    slope = activation_derivative(cell.activation, hidden[:, 1:])
    if slope is None:
        raise ValueError("The gradient penalty knows the tanh, relu and linear activations only.")
    carried = tf.einsum("btu,vu->btv", g_next * slope, cell.recurrent_kernel)  # g_{k+1} dh_{k+1}/dh_k
    next_norm = tf.norm(g_next, axis=[0, 2])
    carried_norm = tf.norm(carried, axis=[0, 2])
    reached = next_norm > 0
    ratio = tf.where(reached, carried_norm / tf.where(reached, next_norm, 1.0), 1.0)
    terms = tf.where(reached, tf.square(ratio - 1.0), 0.0)
    return tf.reduce_sum(terms) / tf.maximum(tf.reduce_sum(tf.cast(reached, terms.dtype)), 1.0)
