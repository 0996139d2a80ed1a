"""The dashboard in a real Chromium (Debian's, driven by Playwright) against a real Streamlit server:
every page by its address, its key charts drawn, no exception box, a lab experiment run to the end.

Not part of `make test`: run `make test-browser`, which installs Chromium first. Screenshots go to
browser-screenshots/ (git-ignored).
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.serve import listening

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "browser-screenshots"
# Ceilings only, generous for a loaded machine: every wait below ends as soon as its event happens.
LOAD = 180_000  # ms: the first page of a fresh server imports pandas, plotly and the store
TRAIN = 600_000  # ms: the lab's tiny experiment, trained in a background process
SERVER = 300  # s: until the server accepts connections

# address -> (text that shows the page rendered, CSS of its key chart or element)
PAGES = {
    "": ("Why a SimpleRNN forgets", ".js-plotly-plot .heatmaplayer"),  # the Overview, at the root
    "gradients": ("How far back the gradient reaches", ".js-plotly-plot .heatmaplayer"),
    "training": ("Loss per epoch", ".js-plotly-plot .scatterlayer"),
    "remedies": ("Every remedy the literature names", ".js-plotly-plot .barlayer"),
    "forecasts": ("Lag check", ".js-plotly-plot .scatterlayer"),
    "text": ("Bits per character per epoch", ".js-plotly-plot .scatterlayer"),
    "data": ("Data explorer", ".js-plotly-plot .scatterlayer"),
    "lab": ("Sweeps", ".js-plotly-plot .scatterlayer"),
    "own-model": ("Your own model", "[data-testid='stFileUploader']"),
    "runs": ("Download or delete", "[data-testid='stDownloadButton']"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(dashboard_runs, tmp_path_factory, *options: str):
    """A Streamlit server of app.py on the fixture runs, yielding its address once it listens."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run `make test-browser`.")
    port = free_port()
    env = {**os.environ, "VGL_RUNS_DIR": str(dashboard_runs)}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", *options]
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER
        while not listening(port):  # the event: the server listens
            if process.poll() is not None or time.monotonic() > deadline:
                state = f"exited with status {process.returncode}" if process.poll() is not None else "never listened"
                pytest.fail(f"the Streamlit server {state} (ceiling {SERVER} s): {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=SERVER)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]  # nothing went wrong behind the pages


@pytest.fixture(scope="module")
def server(dashboard_runs, tmp_path_factory):
    yield from start_server(dashboard_runs, tmp_path_factory)


@pytest.fixture(scope="module")
def dark_server(dashboard_runs, tmp_path_factory):
    yield from start_server(dashboard_runs, tmp_path_factory, "--theme.base", "dark")


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync"]
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield chromium
        chromium.close()


def open_page(browser, url: str, width: int = 1500, height: int = 1100):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    return page


def settled(page) -> None:
    """Wait until the page's script has run to its end and every chart it sent is drawn."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=LOAD)
    page.wait_for_function(DRAWN, timeout=LOAD)


DRAWN = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .every(chart => chart.querySelector(".main-svg"))"""


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("text=Traceback").count() == 0
    assert page.locator("text=Page not found").count() == 0


@pytest.mark.parametrize("address", list(PAGES), ids=[a or "overview" for a in PAGES])
def test_every_page_opens_by_its_address(server, browser, address):
    text, chart = PAGES[address]
    page = open_page(browser, f"{server}/{address}")
    page.wait_for_selector(f"text={text}", timeout=LOAD)
    page.wait_for_selector(chart, timeout=LOAD)
    settled(page)  # the remaining charts drawn, any late error shown, before the checks and the picture
    no_exception(page)
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{address or 'overview'}.png"), full_page=True)
    page.close()


def test_heatmap_titles_name_the_cells(server, browser):
    page = open_page(browser, f"{server}/gradients?experiment=adding-T10")
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=LOAD)
    titles = page.locator(".js-plotly-plot .annotation-text").all_text_contents()  # SVG text: no innerText
    assert {"SimpleRNN", "LSTM", "GRU"} <= set(titles)  # the cells' titles from models/cells.py
    page.close()


def test_choosing_an_experiment_writes_it_into_the_address(server, browser):
    page = open_page(browser, f"{server}/gradients")
    page.wait_for_selector("text=How far back the gradient reaches", timeout=LOAD)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="text-shakespeare").click()
    page.wait_for_url("**experiment=text-shakespeare**", timeout=LOAD)
    page.reload()
    page.wait_for_selector("text=How far back the gradient reaches", timeout=LOAD)
    page.wait_for_selector("text=next character, in bits per character", timeout=LOAD)  # the text task's caption
    no_exception(page)
    page.close()


def test_a_lab_experiment_runs_to_completion(server, browser, dashboard_runs):
    page = open_page(browser, f"{server}/lab")
    page.wait_for_selector("text=Train a small experiment", timeout=LOAD)
    for label, value in (("Sequence length T", "8"), ("Epochs", "1"), ("Training sequences", "200")):
        field = page.get_by_label(label)
        field.fill(value)
        field.press("Tab")
    page.get_by_role("button", name="Train").click()
    page.wait_for_selector("text=is saved", timeout=TRAIN)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=LOAD)
    no_exception(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "lab-finished.png"), full_page=True)
    saved = [p.name for p in dashboard_runs.iterdir() if p.name.startswith("lab-adding-T8-")]
    assert len(saved) == 1 and (dashboard_runs / saved[0] / "comparison.csv").is_file()
    page.close()


# What a chart's SVG says about itself: the colour of each dotted/dashed reference line, the page's
# background, and the boxes of every axis and panel title (SVG text has no innerText; boxes are on screen).
REFERENCE_LINES = """() => [...document.querySelectorAll('.js-plotly-plot .shapelayer path')]
    .map(path => getComputedStyle(path).stroke)"""
BACKGROUND = """() => getComputedStyle(document.querySelector("[data-testid='stApp']")).backgroundColor"""
TITLE_BOXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(chart =>
    [...chart.querySelectorAll("[class*='title'] text, .annotation-text")]
        .filter(text => text.textContent.trim())
        .map(text => { const r = text.getBoundingClientRect();
                       return {text: text.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }))"""
HEATMAP_WIDTHS = """() => [...document.querySelectorAll('.js-plotly-plot .heatmaplayer image')]
    .map(image => image.getBoundingClientRect().width)"""


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours (1: the same; 3: the least for a chart's lines)."""

    def luminance(colour):
        channels = [c / 255 for c in rgb(colour)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]
    ]


@pytest.mark.parametrize("theme, width", [("light", 800), ("dark", 800), ("dark", 1500)])
def test_the_overview_reads_in_both_themes_and_at_800_px(server, dark_server, browser, theme, width):
    # tall enough for the whole story: Streamlit scrolls inside the page, so a screenshot shows the viewport only
    page = open_page(browser, f"{dark_server if theme == 'dark' else server}/", width=width, height=2600)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=LOAD)
    settled(page)
    no_exception(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"overview-{theme}-{width}.png"), full_page=True)
    background = page.evaluate(BACKGROUND)
    assert (sum(rgb(background)) < 150) == (theme == "dark"), background  # the theme asked for is the one shown
    lines = page.evaluate(REFERENCE_LINES)
    assert len(lines) >= 2  # "learned nothing" and "solved"
    for line in lines:  # black lines vanished on the dark background
        assert contrast(line, background) >= 3, (line, background)
    for boxes in page.evaluate(TITLE_BOXES):
        assert not overlapping(boxes), overlapping(boxes)
    widths = page.evaluate(HEATMAP_WIDTHS)
    assert widths and min(widths) >= 80, widths  # each cell's panel stays readable (was ~30 px at 800)
    page.close()


def test_the_chosen_experiment_follows_the_reader_to_the_next_page(server, browser):
    page = open_page(browser, f"{server}/training")
    page.wait_for_selector("text=Loss per epoch", timeout=LOAD)
    settled(page)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="stock-AAPL").click()
    page.wait_for_url("**experiment=stock-AAPL**", timeout=LOAD)
    settled(page)
    page.get_by_text("The story").first.click()
    page.get_by_text("Gradient flow", exact=True).last.click()  # by the navigation, not the address
    page.wait_for_url("**/gradients?experiment=stock-AAPL", timeout=LOAD)  # its address names it too
    page.wait_for_selector("text=How far back the gradient reaches", timeout=LOAD)
    settled(page)
    assert page.get_by_role("combobox", name="Experiment").input_value() == "stock-AAPL"
    no_exception(page)
    page.close()
