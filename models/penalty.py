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
    Its gradient stays finite where the carried gradient is 0 and where g_{k+1} has all but vanished.
    """
    g_next = tf.stop_gradient(tf.transpose(h_grads, [1, 0, 2]))[:, 1:]  # (batch, T-1, units): g_{k+1}
    slope = activation_derivative(cell.activation, hidden[:, 1:])
    if slope is None:
        raise ValueError("The gradient penalty knows the tanh, relu and linear activations only.")
    # The ratio does not depend on the size of g_{k+1}, which may have vanished to 1e-30: scale each step's
    # g_{k+1} to norm 1 first (by its largest entry, then its norm), so no square underflows float32.
    largest = tf.reduce_max(tf.abs(g_next), axis=[0, 2], keepdims=True)
    reached = largest > 0
    unit = g_next / tf.where(reached, largest, 1.0)
    unit = unit / tf.where(reached, tf.norm(unit, axis=[0, 2], keepdims=True), 1.0)
    carried = tf.einsum("btu,vu->btv", unit * slope, cell.recurrent_kernel)  # g_{k+1} dh_{k+1}/dh_k, scaled
    ratio = tf.sqrt(tf.reduce_sum(tf.square(carried), axis=[0, 2]) + 1e-12)  # + 1e-12: a finite gradient at 0
    reached = tf.reshape(reached, [-1])
    terms = tf.where(reached, tf.square(ratio - 1.0), 0.0)
    return tf.reduce_sum(terms) / tf.maximum(tf.reduce_sum(tf.cast(reached, terms.dtype)), 1.0)
