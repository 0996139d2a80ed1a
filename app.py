"""Vanishing Gradient Lab dashboard: `streamlit run app.py`.

A router only: each page lives in dashboard/ and reads data or saved runs; every page has its own address.
"""

import streamlit as st

from dashboard import (
    data_explorer,
    first_start,
    forecasts,
    gradient_flow,
    lab,
    overview,
    own_log,
    remedies_page,
    runs_page,
    text_page,
    training,
)
from dashboard.experiments import runs_root

st.set_page_config(page_title="Vanishing Gradient Lab", layout="wide")
# Streamlit stacks columns only below 640 px: at 800 px a chart beside another got 450 px, three heatmap
# panels 63 px each. Below 1000 px every column takes the whole width instead.
st.html(
    "<style>@media (max-width: 1000px) {"
    " [data-testid='stHorizontalBlock'] { flex-wrap: wrap; }"
    " [data-testid='stColumn'] { flex: 1 1 100% !important; min-width: 100% !important; } }</style>"
)
# A first start trains the default runs from whichever page is opened first (each page says how far it is).
first_start.ensure_started(runs_root())

pages = {
    "The story": [
        st.Page(overview.render, title="Overview", default=True),  # at the root address
        st.Page(gradient_flow.render, title="Gradient flow", url_path="gradients"),
        st.Page(training.render, title="Training", url_path="training"),
        st.Page(remedies_page.render, title="Remedies", url_path="remedies"),
    ],
    "Tasks": [
        st.Page(forecasts.render, title="Forecasts", url_path="forecasts"),
        st.Page(text_page.render, title="Text", url_path="text"),
        st.Page(data_explorer.render, title="Data explorer", url_path="data"),
    ],
    "Your experiments": [
        st.Page(lab.render, title="Lab", url_path="lab"),
        st.Page(own_log.render, title="Your own model", url_path="own-model"),
        st.Page(runs_page.render, title="Runs", url_path="runs"),
    ],
}
# Navigation along the top: a sidebar took 300 of 800 px on a narrow window and squeezed every chart.
st.navigation(pages, position="top").run()
