"""Gradient logs from elsewhere (the "Your own model" page's uploads, the logs of shared runs): sizes a
log declares are bounded from its arrays' headers before any is loaded, and every chart sends at most
a screenful to the browser, whatever the log holds (a 205 KB upload made 255 MiB of chart JSON)."""

import io
import zipfile

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from data import RunError
from models.gradient_log import (
    GLOBAL_GRAD,
    LOSS,
    STEP,
    activation_slope_key,
    decay_key,
    gate_unit_key,
    gradient_horizons,
    h_grad_key,
    horizon_key,
    read_uploaded_log,
    recurrent_norm_key,
    weight_grad_key,
)


def npz(compressed=True, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def norms(records: int, steps: int) -> np.ndarray:
    """Gradient norms that vanish going back: zeros (a few KB compressed) ending in 1."""
    grid = np.zeros((records, steps), "float32")
    grid[:, -1] = 1.0
    return grid


def header_only(shape, dtype="<f4") -> bytes:
    """An .npz whose one norm array's header declares `shape` but holds 64 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("step.npy", npz_member(np.arange(shape[0])))
        archive.writestr("h_grad_norm/lstm.npy", header.getvalue() + bytes(64))
    return buffer.getvalue()


def npz_member(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "make, words",
    [
        # 70 MB of norms in 70 KB: the probe's 205 KB held 191 MiB
        (lambda: npz(step=np.arange(1100), **{"h_grad_norm/lstm": norms(1100, 16000)}), "would unpack to 67 MiB"),
        (lambda: npz(step=np.arange(10), **{"h_grad_norm/lstm": norms(10, 200_000)}), "of shape (10, 200000)"),
        (lambda: npz(step=np.arange(4), **{"h_grad_norm/lstm": np.zeros((4, 3, 2))}), "of shape (4, 3, 2)"),
        (lambda: header_only((3000, 10000)), "declares arrays of 114 MiB"),  # np.load allocates a header's size
        (
            lambda: npz(step=np.arange(2), **{f"h_grad_norm/lstm_{i}": norms(2, 5) for i in range(17)}),
            "the norms of 17 layers, more than the 16 the page draws",
        ),
    ],
)
def test_an_upload_declaring_more_than_a_gradient_log_is_refused_before_loading(make, words):
    with pytest.raises(RunError) as error:
        read_uploaded_log(make(), "gradients.npz")
    assert words in str(error.value) and len(str(error.value).splitlines()) == 1, str(error.value)


def a_large_log(records=2000, steps=2500, units=20_000) -> dict[str, np.ndarray]:
    """A log as large as the upload bound allows, with every array a chart reads."""
    grid = np.exp(-np.arange(steps)[::-1] / 50.0)[None, :].repeat(records, axis=0).astype("float32")
    ones = np.ones(records)
    return {
        STEP: np.arange(records),
        LOSS: ones,
        GLOBAL_GRAD: ones,
        h_grad_key("rnn"): grid,
        horizon_key("rnn"): gradient_horizons(grid),
        decay_key("rnn"): ones,
        recurrent_norm_key("rnn"): ones,
        activation_slope_key("rnn"): ones,
        weight_grad_key("rnn/cell/kernel"): ones,
        weight_grad_key("rnn/cell/recurrent_kernel"): ones,
        gate_unit_key("rnn"): np.full((2, units), 0.5),  # two records of many units
    }


def test_every_gradient_chart_sends_at_most_a_screenful():
    from dashboard import gradient_charts as charts

    logs = {"simple_rnn": a_large_log(), "lstm": a_large_log()}
    logs["lstm"][gate_unit_key("rnn")] = np.full((2000, 20_000), 0.5, "float32")
    layer_of = lambda cell: "rnn"  # noqa: E731 - both logs name their layer rnn
    figures = {
        "heatmaps": charts.heatmaps(logs, layer_of),
        "final_profiles": charts.final_profiles(logs, layer_of),
        "horizons": charts.horizons_over_training(logs, layer_of),
        "reaches": charts.reaches_over_training(logs, layer_of),
        "first_and_last": charts.first_and_last_horizon(logs, layer_of),
        "global_norms": charts.global_norms(logs, {"simple_rnn": 1.0, "lstm": None}),
        "weights": charts.weight_gradients(logs),
        "decay": charts.decay_prediction(logs, layer_of),
        "forget_gates": charts.forget_gate_distribution(logs, layer_of),
    }
    for name, figure in figures.items():
        for trace in figure.data:
            if trace.type == "heatmap":
                assert np.shape(trace.z) <= (charts.MAX_ROWS, charts.MAX_COLUMNS), name
                assert len(trace.y) == np.shape(trace.z)[0] and len(trace.x) == np.shape(trace.z)[1], name
            else:
                assert len(trace.x) <= max(charts.MAX_POINTS, charts.MAX_VALUES), name
        assert len(figure.to_json()) < 12 * 2**20, name  # 4 MB per heatmap panel at most
    heatmap = figures["heatmaps"].data[0]
    assert heatmap.y[0] == 0 and heatmap.y[-1] == 1999 and heatmap.x[0] == 0 and heatmap.x[-1] == 2499  # ends kept
    assert figures["reaches"].data[0].y[-1] == 230  # the log's own value at the last record, not a mean


def test_the_own_model_page_draws_a_large_upload_within_its_budget():
    content = npz(step=np.arange(1000), **{"h_grad_norm/lstm": norms(1000, 16000)})  # 61 MiB in 68 KB
    app = AppTest.from_string("from dashboard import own_log\nown_log.render()\n", default_timeout=120).run()
    app.file_uploader[0].set_value(("gradients.npz", content, "application/octet-stream")).run()
    assert not app.exception and not app.error
    sent = sum(len(chart.proto.spec) for chart in app.get("plotly_chart"))
    assert sent < 8 * 2**20, sent / 2**20  # MiB of chart JSON: 78 before the budget
    assert any("500 records and 1000 steps back" in caption.value for caption in app.caption)


def test_the_own_model_page_refuses_an_upload_larger_than_a_log_in_one_sentence():
    content = npz(step=np.arange(1100), **{"h_grad_norm/lstm": norms(1100, 16000)})
    app = AppTest.from_string("from dashboard import own_log\nown_log.render()\n", default_timeout=120).run()
    app.file_uploader[0].set_value(("gradients.npz", content, "application/octet-stream")).run()
    assert not app.exception and not app.get("plotly_chart")
    assert len(app.error) == 1 and "would unpack to 67 MiB, more than the 64 MiB" in app.error[0].value
