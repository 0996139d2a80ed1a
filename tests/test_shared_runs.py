"""A run folder someone hands you, opened in the dashboard: text it carries is shown as written, never
as Markdown (no image fetched, no link), and a path it names is never read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

FETCHING = "![x](http://127.0.0.1:8599/from-markdown.png)"


def page(name: str) -> AppTest:
    return AppTest.from_string(f"from dashboard import {name}\n{name}.render()\n", default_timeout=120)


def edit_run_json(run: Path, edit) -> None:
    path = run / "run.json"
    info = json.loads(path.read_text())
    edit(info)
    path.write_text(json.dumps(info))


def shown_text(app: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "text", "code") for e in app.get(kind)]
    return "\n".join([*parts, *(e.label for e in app.expander)])


def test_run_json_text_goes_into_markdown_escaped(runs, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    shutil.copytree(runs["adding"].path, root / "adding-T10")
    for cell in ("simple_rnn", "lstm", "gru"):
        edit_run_json(root / "adding-T10" / cell, lambda i: i.update(created=FETCHING))
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    app = page("runs_page").run()
    assert not app.exception and not app.error
    text = shown_text(app)
    assert r"\!\[x\]\(http\://127\.0\.0\.1\:8599/from\-markdown\.png\)" in text  # shown, escaped
    assert FETCHING not in text  # never as Markdown that would fetch the image


def test_a_parameter_count_that_is_not_the_models_is_refused(runs, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    shutil.copytree(runs["adding"].path, root / "adding-T10")
    edit_run_json(root / "adding-T10" / "lstm", lambda i: i["model"].update(trainable_params=FETCHING))
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    app = page("runs_page").run()
    assert not app.exception
    assert len(app.error) == 1 and "parameter" in app.error[0].value
    assert FETCHING not in shown_text(app)


def test_a_text_run_naming_a_local_file_never_shows_it(runs, tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-LINE " * 50)
    root = tmp_path / "runs"
    shutil.copytree(runs["text"].path, root / "text-shakespeare")
    for run in (root / "text-shakespeare").iterdir():
        if (run / "run.json").is_file():
            edit_run_json(run, lambda i: i["config"].update(corpus=str(secret), max_chars=None))
    monkeypatch.setenv("VGL_RUNS_DIR", str(root))
    app = page("text_page").run()
    assert not app.exception
    assert "SECRET" not in shown_text(app)
    assert any("does not read from a path the run names" in c.value for c in app.caption)
