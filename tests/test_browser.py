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


@pytest.fixture(scope="module")
def server(dashboard_runs, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run `make test-browser`.")
    port = free_port()
    env = {**os.environ, "VGL_RUNS_DIR": str(dashboard_runs)}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1"]
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER
        while not accepts_connections(port):  # the event: the server listens
            if process.poll() is not None or time.monotonic() > deadline:
                state = f"exited with status {process.returncode}" if process.poll() is not None else "never listened"
                pytest.fail(f"the Streamlit server {state} (ceiling {SERVER} s): {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=SERVER)


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync"]
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield chromium
        chromium.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
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
