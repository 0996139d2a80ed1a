"""What a forger does to a run folder, shared by the hostile-file tests: change a file, then
recompute its checksum in run.json, so only the deeper checks stand in the way."""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np


def edit_info(run: Path, change) -> None:
    info = json.loads((run / "run.json").read_text())
    change(info)
    (run / "run.json").write_text(json.dumps(info))


def rehash(run: Path, name: str) -> None:
    digest = hashlib.sha256((run / name).read_bytes()).hexdigest()
    edit_info(run, lambda info: info["files"].__setitem__(name, digest))


def edit_npz(run: Path, change) -> None:
    """Change the arrays of gradients.npz in place (`change` edits the dict), then rehash it."""
    with np.load(run / "gradients.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    with open(run / "gradients.npz", "wb") as handle:
        np.savez(handle, **arrays)
    rehash(run, "gradients.npz")


def edit_model_config(run: Path, change) -> None:
    """Rewrite config.json inside model.keras (`change` edits the dict), then rehash it."""
    path = run / "model.keras"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    rehash(run, "model.keras")
