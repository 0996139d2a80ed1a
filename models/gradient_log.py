"""The gradient log's format, in one place: the names of its arrays, the one-number summaries of a
profile (gradient horizon, per-step decay), and reading and writing it as plain arrays (.npz).

Imports no Keras, so the dashboard and listings can read logs without starting TensorFlow.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from data.atomic import atomic_write

HORIZON_FRACTION = 1e-2  # the horizon counts steps back while ||dL/dh_t|| >= 1% of ||dL/dh_T||
GATES = ("forget", "input", "output")

STEP, EPOCH, LOSS = "step", "epoch", "loss"  # (records,): training batch, epoch and probe loss
X_GRAD = "x_grad_norm"  # (records, T): ||dL/dx_t|| at the input of the first recurrent layer
GLOBAL_GRAD = "global_grad_norm"  # (records,): norm of every weight gradient together, before clipping


def h_grad_key(layer: str) -> str:
    """(records, T): ||dL/dh_t|| of a recurrent layer."""
    return f"h_grad_norm/{layer}"


def horizon_key(layer: str) -> str:
    """(records,): the gradient horizon of that layer's profile."""
    return f"horizon/{layer}"


def decay_key(layer: str) -> str:
    """(records,): the fitted per-step decay factor of that layer's profile."""
    return f"decay/{layer}"


def gate_key(layer: str, gate: str) -> str:
    """(records, T): mean activation of an LSTM gate (forget, input or output) per time step."""
    return f"gate_mean/{layer}/{gate}"


def gate_unit_key(layer: str, gate: str = "forget") -> str:
    """(records, units): an LSTM gate's activation per unit, averaged over probe samples and steps."""
    return f"gate_unit_mean/{layer}/{gate}"


def recurrent_norm_key(layer: str) -> str:
    """(records,): the largest singular value of a SimpleRNN layer's recurrent kernel W_rec."""
    return f"recurrent_norm/{layer}"


def activation_slope_key(layer: str) -> str:
    """(records,): the mean derivative of a SimpleRNN layer's activation along the probe (1 - h^2 for tanh)."""
    return f"activation_slope/{layer}"


def predicted_decay(log: dict[str, np.ndarray], layer: str) -> np.ndarray | None:
    """What the weights predict for the per-step decay of ||dL/dh_t||: back-propagation multiplies by
    diag(tanh'(.)) W_rec at every step back, estimated as ||W_rec||_2 x mean tanh'. None when the log
    lacks either (gated cells, logs written before they were recorded) or holds them mis-shaped."""
    norm, slope = log.get(recurrent_norm_key(layer)), log.get(activation_slope_key(layer))
    records = len(log.get(STEP, ()))
    if norm is None or slope is None or np.shape(norm) != (records,) or np.shape(slope) != (records,):
        return None
    return np.asarray(norm, dtype=float) * np.asarray(slope, dtype=float)


def weight_grad_key(variable_path: str) -> str:
    """(records,): gradient norm of one weight tensor."""
    return f"weight_grad_norm/{variable_path}"


def gradient_horizon(norms: np.ndarray, fraction: float = HORIZON_FRACTION) -> int:
    """Steps back from the last step before ||dL/dh_t|| first falls below `fraction` x ||dL/dh_T||.

    For norms proportional to a^(T-t) with a < 1 this is floor(log(fraction) / log(a)), capped at T-1.
    """
    return int(gradient_horizons(np.asarray(norms)[None, :], fraction)[0])


def gradient_horizons(norms: np.ndarray, fraction: float = HORIZON_FRACTION) -> np.ndarray:
    """`gradient_horizon` of every row of a (records, T) array at once, so checking a long log
    costs one numpy pass rather than a Python call per record."""
    norms = np.asarray(norms, dtype=float)
    last = norms[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):  # rows ending in 0, inf or NaN are set to 0 below
        lost = ~(norms[:, ::-1] / last >= fraction)  # k steps back; NaN counts as lost
    first_lost = np.where(lost.any(axis=1), lost.argmax(axis=1), norms.shape[1])
    dead = ~np.isfinite(last[:, 0]) | (last[:, 0] == 0)
    return np.where(dead, 0, first_lost - 1)


def gradient_reaches(norms: np.ndarray, fraction: float = HORIZON_FRACTION) -> np.ndarray:
    """For every row of a (records, T) array: the farthest step back whose ||dL/dh_t|| is still at least
    `fraction` x ||dL/dh_T||. Where the norm decays step by step (a SimpleRNN's) this is the horizon; a
    solved LSTM's gradient dips in the middle of the sequence (the steps it learned to ignore) and rises
    again at the marked inputs far back, where the horizon stops at the dip and the reach does not."""
    norms = np.asarray(norms, dtype=float)
    last = norms[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        held = norms[:, ::-1] / last >= fraction  # k steps back; NaN does not hold
    farthest = norms.shape[1] - 1 - np.argmax(held[:, ::-1], axis=1)
    dead = ~np.isfinite(last[:, 0]) | (last[:, 0] == 0)
    return np.where(dead, 0, farthest)


def decay_factor(norms: np.ndarray) -> float:
    """Per-step factor a fitted to ||dL/dh_{T-k}|| ~ c * a^k by least squares on the log norms."""
    norms = np.asarray(norms, dtype=float)[::-1]
    k = np.arange(len(norms))
    keep = np.isfinite(norms) & (norms > 1e-30)
    if keep.sum() < 2:
        return float("nan")
    slope, _ = np.polyfit(k[keep], np.log(norms[keep]), 1)
    return float(np.exp(slope))


def summarize(log: dict[str, np.ndarray], layer: str, solved_loss: float | None = None) -> dict[str, float]:
    """What a comparison table shows of a log: the layer's horizon at the first and the last record;
    its reach (`gradient_reaches`) at the last record, at its peak over training and at the record where
    the probe's loss first fell below `solved_loss` (the task's "solved", if it has one; NaN if never);
    its decay at the last record; and the largest global gradient norm seen during training.

    The horizon at the last record misleads about a solved gated cell: its gradient dips below 1% a few
    steps back and comes back at the inputs it remembers (a solved LSTM at T = 400: horizon 10, reach
    399), and once the loss is small its profile changes again. The reach when the loss fell says how far
    back the error signal arrived as the cell learned; the peak, whether it ever did."""
    horizons = log[horizon_key(layer)]
    reaches = gradient_reaches(log[h_grad_key(layer)])
    solved = solved_record(log, solved_loss)
    return {
        "first_gradient_horizon": int(horizons[0]),
        "gradient_horizon": int(horizons[-1]),
        "gradient_reach": int(reaches[-1]),
        "peak_gradient_reach": int(np.max(reaches)),
        "solved_gradient_reach": float(reaches[solved]) if solved is not None else float("nan"),
        "gradient_decay": float(log[decay_key(layer)][-1]),
        "max_global_grad_norm": float(np.max(log[GLOBAL_GRAD])),
    }


def solved_record(log: dict[str, np.ndarray], solved_loss: float | None) -> int | None:
    """The first record whose probe loss fell below `solved_loss` (None if none did, or no threshold)."""
    if solved_loss is None:
        return None
    solved = np.flatnonzero(log[LOSS] < solved_loss)
    return int(solved[0]) if len(solved) else None


def save_gradient_log(log: dict[str, np.ndarray], path: str | Path) -> Path:
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **log)
    return Path(path)


def logged_layers(log: dict) -> list[str]:
    """The recurrent layers whose gradient norms a log holds, in the order logged."""
    return [key.split("/", 1)[1] for key in log if key.startswith("h_grad_norm/")]


def load_gradient_log(path: str | Path) -> dict[str, np.ndarray]:
    """Read a log written by `GradientLogger.save` (plain arrays, no pickle)."""
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


MAX_UPLOADED_LOG_BYTES = 64 * 2**20  # unpacked; a log of this lab is a few MB, and the page takes files of 10 MB
# What a log from elsewhere may declare, read from its arrays' headers before any is loaded: the charts
# draw at most a few hundred records and a thousand steps of each, one panel per layer.
MAX_LOG_ARRAYS, MAX_LOG_LAYERS, MAX_LOG_RECORDS, MAX_LOG_STEPS = 1024, 16, 100_000, 100_000
HORIZON_ROWS = 4096  # horizons computed this many records at a time, so no float64 copy of a whole log


def read_uploaded_log(data: bytes, name: str = "the file") -> dict[str, np.ndarray]:
    """A log written by `GradientLogger.save` in someone's own code, from its bytes: plain arrays only
    (no pickle), a record step and at least one layer's ||dL/dh_t||, one row per record, each array's
    size read from its header and bounded before any is loaded; anything else is one RunError
    sentence. Horizons missing from the file are computed from the norms."""
    import io
    import zipfile

    from data import RunError

    advice = "save it with GradientLogger.save (or numpy.savez of the logger's log)"
    smaller = "log less often (a larger every_n_batches) or a shorter sequence"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(member.file_size for member in archive.infolist())
            if declared > MAX_UPLOADED_LOG_BYTES:
                raise RunError(
                    f"{name} would unpack to {declared / 2**20:,.0f} MiB, more than the "
                    f"{MAX_UPLOADED_LOG_BYTES / 2**20:.0f} MiB of a gradient log: {smaller}."
                )
            shapes = _declared_shapes(archive)
        _check_declared(shapes, name, smaller)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            log = {key: archive[key] for key in archive.files}
    except RunError:
        raise
    except Exception as exc:  # not a zip, a pickled object array, a damaged member...
        raise RunError(f"{name} is not a gradient log of plain arrays ({exc.__class__.__name__}): {advice}.") from exc
    layers = logged_layers(log)
    if STEP not in log or not layers:
        missing = STEP if STEP not in log else "h_grad_norm/<layer>"
        raise RunError(f"{name} has no {missing} array, so it is not a GradientLogger log: {advice}.")
    for key, value in log.items():
        if value.dtype.kind not in "biuf" or value.ndim == 0 or len(value) != len(log[STEP]):
            raise RunError(f"{name} holds {key!r} as something other than one row of numbers per record: {advice}.")
    for layer in layers:
        norms = log[h_grad_key(layer)]
        if norms.ndim != 2 or norms.shape[1] == 0:
            raise RunError(f"{name} holds h_grad_norm/{layer} with no time steps: {advice}.")
        if horizon_key(layer) not in log:
            parts = [
                gradient_horizons(norms[start : start + HORIZON_ROWS]) for start in range(0, len(norms), HORIZON_ROWS)
            ]
            log[horizon_key(layer)] = np.concatenate(parts) if parts else np.zeros(0, int)
    return log


def _declared_shapes(archive) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array of an .npz as its header declares it (shape, dtype), reading nothing else: a
    ValueError for a member that is not a plain .npy array."""
    if len(archive.infolist()) > MAX_LOG_ARRAYS:
        raise ValueError(f"{len(archive.infolist())} arrays")
    shapes = {}
    for member in archive.infolist():
        if not member.filename.endswith(".npy"):
            raise ValueError(f"{member.filename!r} is not an array")
        with archive.open(member) as handle:
            version = np.lib.format.read_magic(handle)
            read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in read:
                raise ValueError(f"{member.filename!r} is of .npy version {version}")
            shape, _, dtype = read[version](handle)
        if dtype.hasobject:
            raise ValueError(f"{member.filename!r} holds Python objects")
        shapes[member.filename[: -len(".npy")]] = (shape, dtype)
    return shapes


def _check_declared(shapes: dict, name: str, smaller: str) -> None:
    """The sizes a log declares against what a gradient log holds and the charts can show."""
    from data import RunError

    layers = [key for key in shapes if key.startswith("h_grad_norm/")]
    if len(layers) > MAX_LOG_LAYERS:
        raise RunError(
            f"{name} holds the norms of {len(layers)} layers, more than the {MAX_LOG_LAYERS} the page draws: "
            "log a model of fewer recurrent layers."
        )
    declared = sum(math.prod(shape) * dtype.itemsize for shape, dtype in shapes.values())
    if declared > MAX_UPLOADED_LOG_BYTES:  # np.load allocates what a header declares, whatever the file holds
        raise RunError(
            f"{name} declares arrays of {declared / 2**20:,.0f} MiB, more than the "
            f"{MAX_UPLOADED_LOG_BYTES / 2**20:.0f} MiB of a gradient log: {smaller}."
        )
    for key, (shape, _) in shapes.items():
        records, steps = (shape + (1, 1))[:2]
        if len(shape) > 2 or records > MAX_LOG_RECORDS or steps > MAX_LOG_STEPS:
            raise RunError(
                f"{name} declares {key!r} of shape {shape}, more than a gradient log holds (at most "
                f"{MAX_LOG_RECORDS:,} records of {MAX_LOG_STEPS:,} steps): {smaller}."
            )
