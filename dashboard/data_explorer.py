"""Data explorer page: bundled prices as an interactive chart, a corpus excerpt, an adding sequence.

Everything shown comes from the data stage; the page only picks and draws.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import DataError, adding_problem, list_bundled_tickers, load_corpus, load_prices


@st.cache_data(show_spinner=False)
def cached_prices(ticker: str) -> pd.DataFrame:
    return load_prices(ticker, source="bundled")


@st.cache_data(show_spinner=False)
def cached_corpus_summary(name: str) -> dict:
    corpus = load_corpus(name)
    return {"text": corpus.text, "alphabet": "".join(corpus.vocab.chars[1:]), "size": corpus.vocab.size}


def price_chart(prices: pd.DataFrame, ticker: str) -> go.Figure:
    figure = go.Figure(go.Scatter(x=prices.index, y=prices["Close"], name="Close", mode="lines"))
    figure.update_layout(
        title=f"{ticker} daily close (split-adjusted)",
        yaxis_title="price (USD)",
        height=380,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(rangeslider=dict(visible=True)),
    )
    return figure


def adding_chart(values, markers, target: float) -> go.Figure:
    steps = list(range(len(values)))
    figure = go.Figure(go.Bar(x=steps, y=values, name="value", marker_color="#9db4d0"))
    marked = [i for i in steps if markers[i] > 0]
    # One step wide: plotly sizes a two-bar trace by the gap between its bars, which hid the sequence.
    figure.add_trace(
        go.Bar(
            x=marked, y=[values[i] for i in marked], width=[0.9] * len(marked), name="marked", marker_color="#D55E00"
        )
    )
    figure.update_layout(
        barmode="overlay",
        height=300,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="time step",
        title=f"target = sum of the two marked values = {target:.3f}",
    )
    return figure


def render() -> None:
    st.title("Data explorer")
    st.caption("The three kinds of data every experiment trains on, exactly as the pipelines see them.")

    st.subheader("Stock prices")
    tickers = list_bundled_tickers()
    ticker = st.selectbox("Bundled ticker", tickers, index=tickers.index("AAPL"))
    try:
        prices = cached_prices(ticker)
    except DataError as error:
        st.error(str(error))
        return
    first, last = prices.index[0].date(), prices.index[-1].date()
    st.markdown(f"**{ticker}**: {len(prices):,} trading days from **{first}** to **{last}** (public-domain snapshot).")
    st.plotly_chart(price_chart(prices, ticker))

    st.subheader("Text corpus")
    corpus = cached_corpus_summary("shakespeare")
    st.markdown(
        f"Shakespeare, five tragedies: **{len(corpus['text']):,} characters**, "
        f"alphabet of **{corpus['size'] - 1} characters** (plus one id for unseen characters)."
    )
    st.code(corpus["alphabet"], language=None)
    start = st.slider("Excerpt starts at character", 0, len(corpus["text"]) - 600, 0, step=500)
    st.text(corpus["text"][start : start + 600])

    st.subheader("Adding problem")
    length = st.slider("Sequence length", 10, 200, 50, step=10)
    seed = st.number_input("Seed", 0, 10_000, 0)
    inputs, targets = adding_problem(1, length, seed=int(seed))
    st.plotly_chart(adding_chart(inputs[0, :, 0], inputs[0, :, 1], float(targets[0, 0])))
    st.caption("One marker falls in each half; predicting the mean (1.0) scores MSE 1/6 ≈ 0.167.")
