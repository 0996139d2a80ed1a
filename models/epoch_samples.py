"""A Keras callback that writes one generated sample after each training epoch, so a text run keeps how
its writing improved (the Text page shows them beside each epoch's validation bits per character).
"""

from __future__ import annotations

import keras

from models.inference import generate


class EpochSamples(keras.callbacks.Callback):
    """After each training epoch, one sample continuing `prompt` (as models.inference.generate writes
    it, from its own seeded generator: the same draws every epoch, so only the model changes), appended
    to `kept` as {"epoch", "text"}. It draws no global random number, so training repeats bit for bit."""

    def __init__(self, vocab, seq_len: int, prompt: str, length: int, temperature: float, seed: int, kept: list):
        super().__init__()
        self.vocab, self.seq_len, self.prompt = vocab, seq_len, prompt
        self.length, self.temperature, self.seed, self.kept = length, temperature, seed, kept

    def on_epoch_end(self, epoch, logs=None):
        text = generate(self.model, self.vocab, self.seq_len, self.prompt, self.length, self.temperature, self.seed)
        self.kept.append({"epoch": epoch + 1, "text": text[len(self.prompt) :]})
