"""`make run`'s server: Streamlit on the first free port from 8501, its address printed once it listens
and opened in a browser when this machine has a display. Ctrl-C stops it (and the training it started).

Usage: python -m dashboard.serve [streamlit options, e.g. --server.address 0.0.0.0]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

from data import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FIRST_PORT, PORTS_TRIED = 8501, 50
POLL = 0.2  # s between checks that the server listens; no ceiling: it listens, or it exits


def free_port(first: int = FIRST_PORT, tries: int = PORTS_TRIED) -> int:
    """The first port from `first` that nothing on this machine listens on."""
    for port in range(first, first + tries):
        if not listening(port):
            return port
    raise SystemExit(
        f"Ports {first}-{first + tries - 1} are all in use: stop another dashboard, or pass --server.port."
    )


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("localhost", port), timeout=1):
            return True
    except OSError:
        return False


def has_display() -> bool:
    """A graphical browser can open here. Without a display, Python's webbrowser would start a text-mode
    browser (lynx, w3m) in this terminal, on top of the server's output."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def chosen_port(streamlit_options: list[str]) -> int | None:
    """The port given as --server.port N or --server.port=N, if any."""
    for index, option in enumerate(streamlit_options):
        value = option.split("=", 1)[1] if option.startswith("--server.port=") else None
        if option == "--server.port" and index + 1 < len(streamlit_options):
            value = streamlit_options[index + 1]
        if value is not None:
            if not value.isdigit():
                raise ConfigError(f"--server.port {value} is not a port number: give one such as 8501.")
            return int(value)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-browser", action="store_true", help="only print the address")
    args, streamlit_options = parser.parse_known_args(argv)
    try:
        port = chosen_port(streamlit_options)
        if port is None:
            port = free_port()
            streamlit_options += ["--server.port", str(port)]
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), *streamlit_options]
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        while not listening(port):  # the event: the server accepts connections (or it stopped)
            if server.poll() is not None:
                return server.returncode
            time.sleep(POLL)
        address = f"http://localhost:{port}"
        opened = not args.no_browser and has_display() and webbrowser.open(address)
        print(
            f"\nThe dashboard is at {address}"
            + (" (opened in your browser)." if opened else ": open it in a browser on this machine.")
            + " Ctrl-C stops it.\n",
            flush=True,
        )
        return server.wait()
    except KeyboardInterrupt:  # from the terminal the server got the same Ctrl-C; pass it on if not
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
        return server.wait()


if __name__ == "__main__":
    sys.exit(main())
