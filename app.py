"""Vanishing Gradient Lab dashboard: `streamlit run app.py`.

A router only: each page lives in dashboard/ and reads data or saved runs.
"""

import streamlit as st

from dashboard import data_explorer, gradient_flow

st.set_page_config(page_title="Vanishing Gradient Lab", layout="wide")

pages = [
    st.Page(gradient_flow.render, title="Gradient flow", url_path="gradients", default=True),
    st.Page(data_explorer.render, title="Data explorer", url_path="data"),
]
st.navigation(pages).run()
