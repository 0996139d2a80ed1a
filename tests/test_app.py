"""The dashboard, driven by Streamlit's AppTest: every page renders without an exception."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"


def run_app() -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    return app.run()


def test_data_explorer_shows_prices_corpus_and_adding_problem():
    app = run_app()
    assert not app.exception
    assert app.title[0].value == "Data explorer"
    markdown = " ".join(m.value for m in app.markdown)
    assert "3,270 trading days from **2000-03-01** to **2013-03-01**" in markdown
    assert "alphabet of" in markdown and "characters" in markdown
    assert app.text[0].value.startswith("Hamlet")
    assert any("target = sum" in str(chart.proto.spec) for chart in app.get("plotly_chart"))


def test_data_explorer_switches_ticker():
    app = run_app()
    app.selectbox[0].select("FB").run()
    assert not app.exception
    markdown = " ".join(m.value for m in app.markdown)
    assert "**FB**: 196 trading days" in markdown
