"""Reference lines read in both themes and their labels sit by their lines, on log axes too."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from dashboard.look import REFERENCE_COLOUR, plain, reference_line
from dashboard.overview import length_chart


def test_a_label_on_a_log_axis_is_placed_at_the_log_of_its_value():
    figure = reference_line(go.Figure(), 0.01, "solved", log=True)
    (label,) = figure.layout.annotations
    assert label.y == pytest.approx(math.log10(0.01)) and label.yref == "y"
    assert figure.layout.shapes[0].y0 == 0.01  # the line itself stays at the value


def test_the_overview_chart_draws_its_lines_grey_and_labels_them_where_they_are():
    import pandas as pd

    summary = pd.DataFrame(
        {"cell": ["lstm", "lstm"], "length": [10, 50], "test_mse_mean": [0.001, 0.002], "test_mse_std": [0.0, 0.0]}
    )
    figure = length_chart(summary)
    assert {shape.line.color for shape in figure.layout.shapes} == {REFERENCE_COLOUR}
    labels = {a.text: a.y for a in figure.layout.annotations}
    assert labels["solved"] == pytest.approx(-2)  # log10(0.01): by its line, not near 1.0
    assert labels["learned nothing (predict the mean)"] == pytest.approx(math.log10(1 / 6))


def test_plain_text_keeps_its_words_and_escapes_markdown():
    assert plain("a  b\nc") == "a b c"
    assert plain("[x](y)") == r"\[x\]\(y\)"


def test_a_missing_number_reads_as_a_dash_not_none():
    import numpy as np
    import pandas as pd

    from dashboard.look import readable

    table = readable(pd.DataFrame({"params": [1121.0, np.nan], "dm_p": [0.006276, np.nan], "mae": [0.9, 0.8]}))
    assert list(table["params"]) == ["1121", "—"] and list(table["dm_p"]) == ["0.006276", "—"]
    assert table["mae"].dtype == float  # a column with nothing missing stays numbers


def test_the_first_and_last_horizon_bars_have_no_legend_of_one_cells_colour():
    import numpy as np

    from dashboard.gradient_charts import first_and_last_horizon

    log = {"step": np.array([1, 2]), "horizon/l": np.array([3, 9]), "h_grad_norm/l": np.ones((2, 10))}
    figure = first_and_last_horizon({"simple_rnn": log, "lstm": log}, lambda cell: "l")
    assert figure.layout.showlegend is False  # a legend swatch took the first bar's colour for both
