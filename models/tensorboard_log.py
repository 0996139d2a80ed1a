"""TensorBoard summaries of the GradientLogger's records, written with TensorFlow's own `tf.summary.write`.

The summaries carry the metadata of TensorBoard's scalar, histogram and image plugins (the same
protos `tf.summary.scalar`, `.histogram` and `.image` write), so `tensorboard --logdir DIR` shows
them; but writing needs only TensorFlow, not the tensorboard package (which `tf.summary.scalar`
imports). Nothing here draws random numbers or changes a record.
"""

from __future__ import annotations

import numpy as np

from models.gradient_log import EPOCH, STEP, X_GRAD, gradient_reaches, h_grad_key

HEATMAP_TAG = "gradient_heatmap/{layer}"  # rows: records (the latest last); columns: steps back, 0 = the last step
REACH_TAG = "reach/{layer}"  # the farthest step back still holding 1% of the last step's gradient
STEP_BACK_TAG = "h_grad_norm/{layer}/step_back_{k}"
WEIGHT_GRAD_TAG = "weight_grad/{path}"  # histogram of a trainable variable's gradient on the probe
HEATMAP_ROWS = 256  # the heatmap shows at most this many latest records
HEATMAP_WIDTH = 256  # pixels a heatmap aims at across its steps (each cell a square of 1 to 16 pixels)
HISTOGRAM_BUCKETS = 30  # as tf.summary.histogram's default
# Viridis at 0, 1/4, 1/2, 3/4 and 1, interpolated linearly into a 256-colour table.
_VIRIDIS_ANCHORS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)
COLOURS = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, 5), _VIRIDIS_ANCHORS[:, c]) for c in range(3)], axis=1
).astype(np.uint8)


def steps_back_shown(steps: int) -> list[int]:
    """The steps back whose gradient norm gets a scalar of its own: 0, 1, 2, 5, 10, 20, 50, ... below T."""
    shown, scale = [0], 1
    while True:
        for k in (1 * scale, 2 * scale, 5 * scale):
            if k >= steps:
                return shown
            shown.append(k)
        scale *= 10


def heatmap_image(norms: np.ndarray) -> np.ndarray:
    """A (records, T) array of ||dL/dh_t|| as a uint8 RGB image: one row per record (the latest
    HEATMAP_ROWS), one column per step back (0, the last step, at the left), log10 of the norm
    coloured viridis-like from its smallest (dark) to its largest (yellow) finite value in the image;
    a norm of 0, inf or NaN is black. Each cell is a square of 1 to 16 pixels."""
    norms = np.asarray(norms, dtype=float)[-HEATMAP_ROWS:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(norms)
    finite = np.isfinite(logs)
    image = np.zeros(norms.shape + (3,), np.uint8)
    if finite.any():
        low, high = logs[finite].min(), logs[finite].max()
        scaled = (logs[finite] - low) / (high - low) if high > low else np.zeros(finite.sum())
        image[finite] = COLOURS[np.round(scaled * 255).astype(int)]
    cell = max(1, min(16, HEATMAP_WIDTH // norms.shape[1]))
    return np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)


def histogram_buckets(values, buckets: int = HISTOGRAM_BUCKETS) -> np.ndarray:
    """(k, 3) float64 rows of (left edge, right edge, count), TensorBoard's histogram format; the
    values that are not finite are left out."""
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.zeros((0, 3))
    low, high = values.min(), values.max()
    if low == high:
        return np.array([[low, high, float(values.size)]])
    counts, edges = np.histogram(values, bins=buckets, range=(low, high))
    return np.stack([edges[:-1], edges[1:], counts.astype(float)], axis=1)


def _metadata(plugin: str):
    from tensorflow.core.framework import summary_pb2

    # Every plugin's data proto at version 0 serializes to no bytes.
    return summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin))


def write_scalar(tag: str, value, step: int) -> None:
    import tensorflow as tf

    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=_metadata("scalars"))


def write_histogram(tag: str, values, step: int) -> None:
    import tensorflow as tf

    buckets = tf.constant(histogram_buckets(values), tf.float64)
    tf.summary.write(tag, buckets, step=step, metadata=_metadata("histograms"))


def write_image(tag: str, image: np.ndarray, step: int) -> None:
    """One uint8 (height, width, 3) image, as tf.summary.image stores it: width, height, PNG."""
    import tensorflow as tf

    height, width = image.shape[:2]
    png = tf.io.encode_png(tf.constant(image, tf.uint8))
    data = tf.stack([tf.constant(str(width)), tf.constant(str(height)), png])
    tf.summary.write(tag, data, step=step, metadata=_metadata("images"))


def write_record(
    writer, row: dict, history: dict[str, np.ndarray], layers: list[str], gradients: dict[str, np.ndarray]
) -> None:
    """Write one GradientLogger record at its training step: every number of the row as a scalar (loss,
    horizons, decays, weight and global gradient norms), the reach, ||dL/dh_t|| a few steps back as
    scalars, each profile over time as a histogram (log10 of the gradient norms, the gate means as
    they are), each layer's heatmap over the records so far (`history`: the layer's h_grad_norm rows),
    and a histogram of each trainable variable's gradient on the probe (`gradients`: path -> array)."""
    step = int(row[STEP])
    with writer.as_default():
        for key, value in row.items():
            if key in (STEP, EPOCH):
                continue
            if np.ndim(value) == 0:
                write_scalar(key, value, step)
            elif key.startswith("h_grad_norm/") or key == X_GRAD:
                with np.errstate(divide="ignore"):
                    write_histogram(key + "/log10", np.log10(np.asarray(value, float)), step)
            else:  # gate means over time
                write_histogram(key, value, step)
        for layer in layers:
            norms = np.asarray(row[h_grad_key(layer)], float)
            write_scalar(REACH_TAG.format(layer=layer), gradient_reaches(norms[None])[0], step)
            for k in steps_back_shown(len(norms)):
                write_scalar(STEP_BACK_TAG.format(layer=layer, k=k), norms[-1 - k], step)
            write_image(HEATMAP_TAG.format(layer=layer), heatmap_image(history[layer]), step)
        for path, gradient in gradients.items():
            write_histogram(WEIGHT_GRAD_TAG.format(path=path), gradient, step)
    writer.flush()
