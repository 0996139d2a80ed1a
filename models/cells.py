"""The recurrent cells this project compares, by name: the one list every command and page uses.

Kept free of Keras so command lines can offer the names without starting TensorFlow.
"""

CELLS = ("simple_rnn", "lstm", "gru")
