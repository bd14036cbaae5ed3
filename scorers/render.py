"""Rendering values inside explanations: short, JSON-like, with invisible characters made visible."""

from __future__ import annotations

import json
import reprlib
from typing import Any


def show(value: Any, limit: int = 80) -> str:
    """`value` as a reader of a failing test should see it: strings quoted and cut at `limit`."""
    if isinstance(value, str):
        quoted = json.dumps(value[:limit], ensure_ascii=False)
        # Escape what would not show (zero-width spaces, a BOM, odd spaces) but keep readable
        # non-ASCII text as it is; json.dumps has already escaped the control characters.
        visible = quoted if quoted.isprintable() else "".join(_visible(c) for c in quoted)
        return visible + ("…" if len(value) > limit else "")
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return reprlib.repr(value)


def _visible(character: str) -> str:
    return character if character.isprintable() else character.encode("unicode_escape").decode("ascii")
