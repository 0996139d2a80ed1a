"""Text page: bits per character per epoch for each cell, the sample each wrote after every epoch,
generation side by side from one prompt, and connectivity: how strongly each cell's next-character
prediction depends on every earlier character.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import first_start
from dashboard.experiments import choose_experiment, fingerprint, histories_or_error, runs_root
from dashboard.look import colour, figure_layout, line_style, reference_line
from data import BUNDLED_CORPORA, LabError, load_corpus
from models.experiment_store import run_path
from pipelines.evaluate import bits_from_nats
from pipelines.tasks.text import EPOCH_SAMPLE_TEMPERATURE, TextTask, epoch_samples_of

PASSAGE_CHARS = 240
PROMPT_SHOWN = 80  # characters of the prompt shown before each epoch's sample (run.json may hold more)
REACH_SHARE = 0.01  # a character counts as read when its connectivity is at least 1% of the strongest
GENERATED = "text-generated"  # session state: the last generation, kept while other widgets rerun the page


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
        shown = "␣" if char == " " else html.escape(visible(char))
        spans.append(f'<span style="background: rgba({red},{green},{blue},{alpha:.2f}); padding: 0 1px">{shown}</span>')
    return '<div style="font-family: monospace; font-size: 1.05em; line-height: 1.9">' + "".join(spans) + "</div>"


def render() -> None:
    st.title("Text")
    first_start.notice(runs_root(), "text-shakespeare")
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
    epoch_samples_view(found, cells, curves)
    generation(found, cells)
    connectivity_view(found, cells)


def visible(text: str) -> str:
    """Text with its line breaks drawn as ↵, so one line of the page shows where they are."""
    return text.replace("\n", "↵")


def quoted(text: str) -> str:
    """Text as Markdown code, line breaks and all: a code span reads no Markdown but its own backticks."""
    return "`" + visible(text).replace("`", "ˋ") + "`"


def epoch_samples(found, cells: list[str]) -> dict[str, dict[int, str]]:
    """Each cell's sample after every epoch, as run.json keeps it (runs saved before: none); a run whose
    samples are not what the pipeline writes gets one warning and shows none."""
    found_samples = {}
    for cell in cells:
        try:
            kept = epoch_samples_of(found.runs[cell].get("outputs", {}))
        except LabError as error:
            st.warning(f"{cell}: {error}")
            continue
        if kept:
            found_samples[cell] = dict(kept)
    return found_samples


def epoch_samples_view(found, cells: list[str], curves: dict) -> None:
    samples = epoch_samples(found, cells)
    if not samples:
        st.caption("These runs were saved without a sample after each epoch: retrain them to watch the text improve.")
        return
    st.subheader("The text after each epoch")
    epochs = sorted(set().union(*samples.values()))
    epoch = epochs[0] if len(epochs) == 1 else st.select_slider("After epoch", epochs, value=epochs[-1])
    prompt = str(found.runs[next(iter(samples))].get("outputs", {}).get("prompt", ""))[-PROMPT_SHOWN:]
    columns = st.columns(len(samples))
    for column, (cell, texts) in zip(columns, samples.items(), strict=True):
        with column:
            st.markdown(f"**{cell}**{epoch_bpc(curves.get(cell), epoch)}")
            shown = prompt + texts[epoch] if epoch in texts else "(no sample kept after this epoch)"
            st.code(shown, language=None, wrap_lines=True)
    st.caption(
        f"Each cell continues the same prompt from the validation text after each epoch, at temperature "
        f"{EPOCH_SAMPLE_TEMPERATURE} and with the same random draws every epoch: only the model changes. "
        "Slide back to the first epoch to see where it started."
    )


def epoch_bpc(history, epoch: int) -> str:
    """'2.61 bits per character on validation text', after `epoch`, from the run's history ('' if unknown)."""
    if history is None or "val_loss" not in history or epoch - 1 not in history.index:
        return ""
    return f": {float(bits_from_nats(history.loc[epoch - 1, 'val_loss'])):.2f} bits per character on validation text"


def generation(found, cells: list[str]) -> None:
    st.subheader("Generation, side by side")
    info = found.runs[cells[0]]
    with st.form("generate"):
        prompt = st.text_input("Prompt", value=info.get("outputs", {}).get("prompt", "ROMEO:"))
        temperature = st.slider("Temperature (0: the most likely character)", 0.0, 2.0, 0.7, 0.1)
        length = st.slider("Characters", 50, 500, 300, 50)
        go_ = st.form_submit_button("Generate")
    if go_:  # kept in the session: toggling connectivity reruns the page, and the text must stay
        st.session_state[GENERATED] = {
            "experiment": str(found.path),
            "texts": generated(found, cells, prompt, temperature, length),
        }
    shown = st.session_state.get(GENERATED)
    if shown is None or shown["experiment"] != str(found.path):
        st.caption("Choose a prompt and a temperature, then Generate: each cell continues the same prompt.")
        return
    columns = st.columns(len(shown["texts"]))
    for column, (cell, (text, error)) in zip(columns, shown["texts"].items(), strict=True):
        with column:
            st.markdown(f"**{cell}**")
            if error is None:
                st.text(text)
            else:
                st.error(error)


def generated(found, cells: list[str], prompt: str, temperature: float, length: int) -> dict:
    """Each cell's continuation of `prompt` as (text, None), or (None, the one-sentence error)."""
    texts = {}
    for cell in cells:
        try:
            texts[cell] = (run_of(found, cell).generate(prompt, length=length, temperature=temperature, seed=0), None)
        except LabError as error:
            texts[cell] = (None, str(error))
    return texts


def connectivity_view(found, cells: list[str]) -> None:
    st.subheader("Connectivity: how far back each cell looks")
    st.caption(TextTask.horizon_meaning)
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
    target = "␣" if text[position + 1] == " " else text[position + 1]
    st.markdown(f"Predicting {quoted(target)} after {quoted('…' + text[max(0, position - 30) : position + 1])}")
    if not st.toggle("Compute (loads the models)", value=False, key="connectivity-on"):
        st.caption(
            "For the chosen position, each earlier character is coloured by ||d p(next character) / d x_t||: "
            "how much the prediction would change if that character's embedding changed."
        )
        return
    from models.connectivity import connectivity
    from models.inference import text_setup_of

    reaches = {}
    for cell in cells:
        try:
            run = run_of(found, cell)
            vocab, seq_len = text_setup_of(run.preprocessing)
            found_here = connectivity(run.model, vocab, seq_len, text, position)
        except LabError as error:
            st.error(str(error))
            continue
        st.markdown(f"**{cell}**: p({quoted(found_here.target)}) = {found_here.probability:.3f}")
        st.html(coloured_text(found_here.characters, found_here.strengths, cell))
        reaches[cell] = found_here.strengths
    if reaches:
        st.caption(connectivity_caption(reaches))


def reach(strengths: np.ndarray) -> tuple[int, int]:
    """(characters back of the farthest one the prediction depends on at REACH_SHARE of its strongest or
    more, characters back of the strongest); the character just before the predicted one is 1 back."""
    strengths = np.asarray(strengths, dtype=float)
    top = float(np.max(strengths))
    if not top > 0:
        return 0, 0
    strong = np.flatnonzero(strengths >= REACH_SHARE * top)
    return len(strengths) - int(strong[0]), len(strengths) - int(np.argmax(strengths))


def connectivity_caption(strengths: dict[str, np.ndarray]) -> str:
    """What the coloured passages above show, in numbers measured on them."""
    parts = []
    for cell, values in strengths.items():
        farthest, strongest = reach(values)
        whole = " (all it reads)" if farthest == len(values) else ""
        parts.append(f"{cell} reaches {farthest} characters back{whole} and depends most on the one {strongest} back")
    return (
        "Strong colour: the prediction depends on that character. Counting a character while its dependence is "
        f"at least {REACH_SHARE:.0%} of the cell's strongest, here " + "; ".join(parts) + "."
    )
