"""The recurrent cells this project compares, and their recurrent-weight initialisations, by name:
the one list every command and page uses.

Kept free of Keras so command lines can offer the names without starting TensorFlow.
"""

BACKPROP_CELLS = ("simple_rnn", "lstm", "gru")  # trained by back-propagation through time
# esn: an echo-state network, a fixed random reservoir with a readout fitted by ridge regression (Jaeger 2001)
RESERVOIR_CELLS = ("esn",)
CELLS = (*BACKPROP_CELLS, *RESERVOIR_CELLS)
# orthogonal x --gain (the default); irnn: identity x --gain with ReLU, a SimpleRNN only (Le, Jaitly &
# Hinton 2015); glorot: Glorot-uniform recurrent weights, Keras' default for dense kernels.
INITS = ("orthogonal", "irnn", "glorot")
# An LSTM's gate biases: constant (the forget gate at --forget-bias, the input gate at 0), or chrono (Tallec
# & Ollivier 2018: unit j's forget bias log U(1, T - 1), its input bias the negative, for T the length).
GATE_INITS = ("constant", "chrono")
