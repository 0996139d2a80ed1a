"""Text page: bits per character per epoch for each cell, generation side by side from one prompt, and
connectivity: how strongly each cell's next-character prediction depends on every earlier character.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard.experiments import choose_experiment, fingerprint, histories_or_error, runs_root
from dashboard.look import colour, figure_layout, line_style, reference_line
from data import BUNDLED_CORPORA, LabError, load_corpus
from models.experiment_store import run_path
from pipelines.evaluate import bits_from_nats

PASSAGE_CHARS = 240


def bpc_chart(curves: dict, unigram: float | None) -> go.Figure:
    figure = go.Figure()
    for index, (cell, history) in enumerate(curves.items()):
        style = line_style(cell, index)
        epochs = history.index + 1
        figure.add_trace(go.Scatter(x=epochs, y=bits_from_nats(history["loss"]), name=f"{cell} training", line=style))
        if "val_loss" in history:
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=bits_from_nats(history["val_loss"]),
                    name=f"{cell} validation",
                    line={**style, "dash": "dash"},
                )
            )
    if unigram is not None:
        reference_line(figure, unigram, "unigram (letter frequencies only)")
    return figure_layout(figure, 360, xaxis_title="epoch", yaxis_title="bits per character", xaxis=dict(dtick=1))


@st.cache_resource(show_spinner="Loading the model (TensorFlow starts once)…", max_entries=16)
def loaded_run(path: str, version: float):
    from models.run_store import load_run

    return load_run(path, root=str(runs_root()))


def run_of(found, cell: str):
    path = run_path(found.path, cell)
    return loaded_run(str(path), fingerprint(path))


@st.cache_data(show_spinner=False, max_entries=8)
def passage(corpus: str) -> str:
    """A passage from the end of a bundled corpus (the held-back part of a run trained on all of it)."""
    return load_corpus(corpus).text[-PASSAGE_CHARS:]


def coloured_text(characters: str, strengths: np.ndarray, cell: str) -> str:
    """HTML: each character on a background as strong as its connectivity (relative to the cell's maximum)."""
    top = float(np.max(strengths)) or 1.0
    red, green, blue = (int(colour(cell)[i : i + 2], 16) for i in (1, 3, 5))
    spans = []
    for char, value in zip(characters, strengths, strict=True):
        alpha = min(1.0, float(value) / top) ** 0.5  # square root: faint dependence stays visible
        shown = "␣" if char == " " else "↵" if char == "\n" else html.escape(char)
        spans.append(f'<span style="background: rgba({red},{green},{blue},{alpha:.2f}); padding: 0 1px">{shown}</span>')
    return '<div style="font-family: monospace; font-size: 1.05em; line-height: 1.9">' + "".join(spans) + "</div>"


def render() -> None:
    st.title("Text")
    found = choose_experiment(runs_root(), task="text")
    if found is None:
        st.info("No text experiment to show: train one with `python -m pipelines.train --task text`.")
        return
    curves = histories_or_error(found)
    if curves is None:
        return
    rows = found.comparison.set_index("model")
    unigram = float(rows.loc["unigram", "val_bpc"]) if "unigram" in rows.index else None
    st.subheader("Bits per character per epoch")
    st.plotly_chart(bpc_chart(curves, unigram))
    st.caption(
        "Cross-entropy in bits per character: solid on training text, dashed on validation text. The dotted "
        "line knows only how often each letter occurs; the gap below it is what each cell learned from context."
    )
    cells = list(found.runs)
    if not cells:
        return
    generation(found, cells)
    connectivity_view(found, cells)


def generation(found, cells: list[str]) -> None:
    st.subheader("Generation, side by side")
    info = found.runs[cells[0]]
    with st.form("generate"):
        prompt = st.text_input("Prompt", value=info.get("outputs", {}).get("prompt", "ROMEO:"))
        temperature = st.slider("Temperature (0: the most likely character)", 0.0, 2.0, 0.7, 0.1)
        length = st.slider("Characters", 50, 500, 300, 50)
        go_ = st.form_submit_button("Generate")
    if not go_:
        st.caption("Choose a prompt and a temperature, then Generate: each cell continues the same prompt.")
        return
    columns = st.columns(len(cells))
    for column, cell in zip(columns, cells, strict=True):
        with column:
            st.markdown(f"**{cell}**")
            try:
                text = run_of(found, cell).generate(prompt, length=length, temperature=temperature, seed=0)
            except LabError as error:
                st.error(str(error))
                continue
            st.text(text)


def connectivity_view(found, cells: list[str]) -> None:
    st.subheader("Connectivity: how far back each cell looks")
    corpus = str(found.runs[cells[0]]["config"].get("corpus", "shakespeare"))
    if corpus in BUNDLED_CORPORA:
        text = passage(corpus)
    else:  # a run handed over may name any file: the page never reads a path the run chooses
        st.caption(
            "This run was trained on a text file of its own, which the dashboard does not read from a path the "
            "run names: paste a passage of at least 3 characters to look at."
        )
        text = st.text_area("Passage", key="connectivity-passage")
        if len(text) < 3:
            return
    position = st.slider("Predict the character after position", 1, len(text) - 2, len(text) - 2)
    st.markdown(f"Predicting `{text[position + 1]!r}` after `…{text[max(0, position - 30) : position + 1]!r}`")
    if not st.toggle("Compute (loads the models)", value=False, key="connectivity-on"):
        st.caption(
            "For the chosen position, each earlier character is coloured by ||d p(next character) / d x_t||: "
            "how much the prediction would change if that character's embedding changed."
        )
        return
    from models.connectivity import connectivity
    from models.inference import text_setup_of

    for cell in cells:
        try:
            run = run_of(found, cell)
            vocab, seq_len = text_setup_of(run.preprocessing)
            found_here = connectivity(run.model, vocab, seq_len, text, position)
        except LabError as error:
            st.error(str(error))
            continue
        st.markdown(f"**{cell}**: p({found_here.target!r}) = {found_here.probability:.3f}")
        st.html(coloured_text(found_here.characters, found_here.strengths, cell))
    st.caption(
        "Strong colour: the prediction depends on that character. A SimpleRNN's colour fades within a few "
        "characters (its gradient vanishes); a gated cell keeps some dependence further back."
    )
