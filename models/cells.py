"""The recurrent cells this project compares, and their recurrent-weight initialisations, by name:
the one list every command and page uses.

Kept free of Keras so command lines can offer the names without starting TensorFlow.
"""

CELLS = ("simple_rnn", "lstm", "gru")
# orthogonal x --gain (the default); irnn: identity x --gain with ReLU, a SimpleRNN only (Le, Jaitly &
# Hinton 2015); glorot: Glorot-uniform recurrent weights, Keras' default for dense kernels.
INITS = ("orthogonal", "irnn", "glorot")
