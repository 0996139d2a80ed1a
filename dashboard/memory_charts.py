"""Charts of an LSTM's memory units (models/memory_units.py, saved in run.json's outputs): which units
hold the remembered value in their own cell state, which only mirror it, and their forget gates.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.look import figure_layout, reference_line

HOLDER, MIRROR, OTHER = "#d62728", "#ff7f0e", "#7f7f7f"


def units_scatter(evidence: dict) -> go.Figure:
    """Each unit: |correlation| of its cell state with the value, against the share of its state its forget
    gates keep from the marked step to the held step."""
    correlation, retention = np.abs(evidence["correlation"]), np.asarray(evidence["retention"])
    holders, mirrors = set(evidence["holders"]), set(evidence["mirrors"])
    kinds = ["holds it" if j in holders else "mirrors it" if j in mirrors else "other" for j in range(len(correlation))]
    figure = go.Figure()
    for kind, colour in (("holds it", HOLDER), ("mirrors it", MIRROR), ("other", OTHER)):
        chosen = [j for j, k in enumerate(kinds) if k == kind]
        figure.add_trace(
            go.Scatter(
                x=retention[chosen],
                y=correlation[chosen],
                mode="markers",
                name=f"{kind} ({len(chosen)})",
                marker=dict(color=colour, size=9),
                text=[f"unit {j}" for j in chosen],
                hovertemplate="%{text}<br>kept %{x:.3g} of its state<br>|corr| %{y:.3f}<extra></extra>",
            )
        )
    return figure_layout(
        figure,
        320,
        xaxis=dict(title="share of its cell state its forget gates keep (log)", type="log"),
        yaxis=dict(title="|corr(cell state, remembered value)|", range=[0, 1.05]),
        legend=dict(orientation="h", y=1.15),
    )


def holder_forget_gates(evidence: dict) -> go.Figure:
    """The forget gate over the sequence of each unit that holds the value, beside the other units' mean."""
    figure = go.Figure()
    for index, (j, trace) in enumerate(zip(evidence["holders"], evidence["holder_forget"], strict=True)):
        figure.add_trace(
            go.Scatter(
                y=trace,
                name=f"units that hold it ({len(evidence['holders'])})",
                legendgroup="holders",
                showlegend=index == 0,  # one entry for them all; the hover names the unit
                line=dict(color=HOLDER, width=1),
                hovertemplate=f"unit {j}<br>step %{{x}}<br>forget gate %{{y:.4f}}<extra></extra>",
            )
        )
    if evidence["other_forget"]:
        figure.add_trace(go.Scatter(y=evidence["other_forget"], name="the other units (mean)", line=dict(color=OTHER)))
    reference_line(figure, evidence["held_at"], "value read here", axis="x")
    return figure_layout(
        figure,
        320,
        xaxis_title="time step",
        yaxis_title="forget gate (mean over sequences)",
        legend=dict(orientation="h", y=1.15),
    )


def caption(evidence: dict) -> str:
    """What the two charts show, in numbers taken from them."""
    holders, mirrors = evidence["holders"], evidence["mirrors"]
    if not holders:
        return (
            f"No unit keeps the value in its own cell state (its forget gates keep less than half of it); "
            f"{len(mirrors)} units follow it by being rewritten every step."
        )
    held = evidence["held_at"] + 1
    means = [float(np.mean(trace[:held])) for trace in evidence["holder_forget"]]
    others = (
        f"; the other units' mean is {np.mean(evidence['other_forget'][:held]):.3f}" if evidence["other_forget"] else ""
    )
    return (
        f"{len(holders)} of {len(evidence['correlation'])} units hold the first marked value in their own cell state "
        f"until it is read at step {held - 1}, with mean forget gates of {min(means):.4f} to {max(means):.4f} over "
        f"those steps{others}; {len(mirrors)} more follow it only because they are rewritten every step. "
        "Where a unit holds the value, its forget gate is what keeps it."
    )
