"""JSON from a file someone else wrote, read strictly: a key given twice is an error (Python's json
keeps the last silently, so a forger could hide one value from a reader that takes the first).
"""

from __future__ import annotations

import json


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} is given twice")
        seen[key] = value
    return seen


def strict_loads(text: str):
    """json.loads, refusing a key given twice in any object (a ValueError, as for any bad JSON)."""
    return json.loads(text, object_pairs_hook=_refuse_duplicates)
