"""The recurrent cells this project compares: one table that the builder, the stores, the pipeline
and the dashboard all read. Adding a cell means one row here and its builder.

Kept free of Keras so command lines can offer the names without starting TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    name: str  # as on command lines and in run folders
    title: str  # as on charts and in sentences
    layer: str  # the keras.layers class a saved model of this cell holds
    colour: str  # one colour per cell on every chart (Okabe-Ito: readable with colour-vision deficiencies)
    trains_by_gradient: bool  # False: a fixed reservoir with a fitted readout (models/reservoir.py)


CELL_TABLE = {
    cell.name: cell
    for cell in (
        Cell("simple_rnn", "SimpleRNN", "SimpleRNN", "#D55E00", True),  # vermilion: the cell that forgets
        Cell("lstm", "LSTM", "LSTM", "#0072B2", True),  # blue
        Cell("gru", "GRU", "GRU", "#009E73", True),  # green
        # an echo-state network (Jaeger 2001): a GRU with constant gates is exactly the leaky reservoir
        Cell("esn", "ESN", "GRU", "#E69F00", False),  # orange
    )
}
CELLS = tuple(CELL_TABLE)
BACKPROP_CELLS = tuple(name for name, cell in CELL_TABLE.items() if cell.trains_by_gradient)
RESERVOIR_CELLS = tuple(name for name, cell in CELL_TABLE.items() if not cell.trains_by_gradient)
# the Keras layers a saved model of some cell may hold (models/run_store.py reads archives against them)
CELL_LAYER_CLASSES = tuple(sorted({cell.layer for cell in CELL_TABLE.values()}))

# orthogonal x --gain (the default); irnn: identity x --gain with ReLU, a SimpleRNN only (Le, Jaitly &
# Hinton 2015); glorot: Glorot-uniform recurrent weights, Keras' default for dense kernels.
INITS = ("orthogonal", "irnn", "glorot")
# An LSTM's gate biases: constant (the forget gate at --forget-bias, the input gate at 0), or chrono (Tallec
# & Ollivier 2018: unit j's forget bias log U(1, T - 1), its input bias the negative, for T the length).
GATE_INITS = ("constant", "chrono")


def title(name: str) -> str:
    """A cell's name as charts and sentences show it (anything else unchanged: a baseline's name)."""
    return CELL_TABLE[name].title if name in CELL_TABLE else name


def trains_by_gradient(name: str) -> bool:
    return CELL_TABLE[name].trains_by_gradient
