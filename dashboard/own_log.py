"""Your own model page: upload a gradients.npz written by `GradientLogger.save` in your own code and
see it on the charts the lab's runs get (each recurrent layer in the file is one panel).
"""

from __future__ import annotations

import streamlit as st

from dashboard import gradient_charts as charts
from dashboard.look import plain
from data import LabError
from models.gradient_log import h_grad_key, logged_layers, read_uploaded_log

SNIPPET = """from models import GradientLogger

logger = GradientLogger(x_val[:64], y_val[:64])   # a fixed probe batch
model.fit(x, y, epochs=5, callbacks=[logger])
logger.save("gradients.npz")                       # upload this file here"""


@st.cache_data(show_spinner=False, max_entries=4)
def parsed(data: bytes, name: str) -> dict:
    return read_uploaded_log(data, name)


def render() -> None:
    st.title("Your own model")
    st.caption("How the gradient flows back through time in a model you trained yourself, with this lab's logger.")
    st.code(SNIPPET, language="python")
    upload = st.file_uploader("A gradients.npz from GradientLogger.save (10 MB at most)", type=["npz"])
    if upload is None:
        return
    try:
        log = parsed(upload.getvalue(), upload.name)
    except LabError as error:
        st.error(str(error))
        return
    layers = logged_layers(log)
    steps = log[h_grad_key(layers[0])].shape[1]
    st.markdown(
        f"**{plain(upload.name)}**: {len(log['step'])} records, {steps} time steps, layers {plain(', '.join(layers))}."
    )
    logs = {layer: log for layer in layers}  # one panel per layer of the file
    layer_of = lambda layer: layer  # noqa: E731 - each panel is its own layer
    if charts.thinned(logs, layer_of):
        st.caption(
            f"The heatmap shows {min(len(log['step']), charts.MAX_ROWS)} records and "
            f"{min(steps, charts.MAX_COLUMNS)} steps back, evenly spread (a screen shows no more); each is the log's own value."
        )
    st.plotly_chart(charts.heatmaps(logs, layer_of))
    st.caption("Colour: log10 ||dL/dh_t||; rows are records, columns steps back. Dark means the signal vanished.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.final_profiles(logs, layer_of))
    with right:
        st.plotly_chart(charts.horizons_over_training(logs, layer_of))
    st.caption("Left: the last record's profile relative to the last step; right: the gradient horizon per record.")
