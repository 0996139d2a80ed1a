"""The dashboard in a real Chromium (Debian's, driven by Playwright) against a real Streamlit server.

Not part of `make test`: run `make test-browser`, which installs Chromium first.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.experiment import run_experiment
from pipelines.tasks.adding import AddingConfig

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
APP = Path(__file__).resolve().parent.parent / "app.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run `make test-browser`.")
    runs = tmp_path_factory.mktemp("runs")
    run_experiment(
        AddingConfig(length=10, samples=300, epochs=1, units=4, batch_size=32, log_every=3, probe_size=8, out=str(runs))
    )
    port = free_port()
    env = {**os.environ, "VGL_RUNS_DIR": str(runs)}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield chromium
        chromium.close()


def test_gradient_flow_page_draws_a_heatmap_per_cell(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server)
    page.wait_for_selector("text=How far back the gradient reaches", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=30_000)
    titles = page.locator(".js-plotly-plot .annotation-text").all_text_contents()  # SVG text: no innerText
    assert "simple_rnn" in titles and "lstm" in titles
    assert page.locator("text=Traceback").count() == 0
    page.screenshot(path=str(tmp_path / "gradient_flow.png"), full_page=True)
    assert (tmp_path / "gradient_flow.png").stat().st_size > 10_000


def test_data_explorer_page_draws_the_price_chart(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server + "/data")
    page.wait_for_selector("text=3,270 trading days", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot .scatterlayer", timeout=30_000)
    assert page.locator("text=AAPL daily close (split-adjusted)").count() >= 1
