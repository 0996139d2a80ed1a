"""Walk-forward folds train each cell through the pipeline's own training (execution, per-epoch
reseeding, the epoch trainer, divergence), not through a bare model.fit."""

from __future__ import annotations

import numpy as np

from pipelines import experiment
from pipelines.tasks import task_of
from pipelines.tasks.stock import StockConfig

TINY = dict(cells=["lstm"], units=4, epochs=2, batch_size=32, jit_compile="off", start="2011-01-01", lookback=10)


def prepared_stock(**options):
    config = StockConfig(folds=2, **{**TINY, **options})
    return config, task_of(config).prepare(config)


def test_a_fold_trains_every_epoch_through_the_epoch_trainer_with_its_seed(monkeypatch):
    config, prepared = prepared_stock()
    x, y = prepared.train.x[:200], prepared.train.y[:200]
    seeds = []
    monkeypatch.setattr(experiment, "reseed", lambda seed: seeds.append(seed))
    model = experiment.fit_fold(config, prepared, "lstm", x, y)
    assert seeds == [experiment.epoch_seed(config.seed, epoch) for epoch in range(config.epochs)]
    monkeypatch.undo()
    again = experiment.fit_fold(config, prepared, "lstm", x, y)
    first = experiment.fit_fold(config, prepared, "lstm", x, y)
    for a, b in zip(again.get_weights(), first.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the same seed, the same fold model, bit for bit
    assert model.count_params() == again.count_params()


def test_a_diverging_fold_stops_at_its_first_non_finite_epoch(monkeypatch):
    config, prepared = prepared_stock(epochs=5)
    epochs = []

    def trainer(*args, **kwargs):
        def one(epoch):
            epochs.append(epoch)
            return {"loss": float("nan") if epoch == 1 else 1.0}

        return one

    monkeypatch.setattr(experiment, "epoch_trainer", trainer)
    experiment.fit_fold(config, prepared, "lstm", prepared.train.x[:64], prepared.train.y[:64])
    assert epochs == [0, 1]  # a diverged fold trains no further, as a diverged cell does
