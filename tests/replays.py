"""Stored answers changed on purpose, for replays that simulate a model degraded in a known way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def medium_priority(text: str) -> str | None:
    """An answer that is a create with an explicit priority other than medium, saying "medium"; None for any
    other answer."""
    try:
        answer = json.loads(text)
    except (ValueError, TypeError):
        return None
    if isinstance(answer, dict) and answer.get("action") == "create" and answer.get("priority") not in (None, "medium"):
        return json.dumps(answer | {"priority": "medium"})
    return None


def forced_medium(run: Path, destination: Path) -> tuple[Path, int]:
    """A copy of a run folder whose every create with an explicit priority says "medium"; and how many changed."""
    shutil.copytree(run, destination)
    answers = destination / "answers.jsonl"
    rows = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    changed = 0
    for row in rows:
        forced = medium_priority(row["answer"]["text"])
        if forced is not None:
            row["answer"]["text"] = forced
            changed += 1
    answers.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return destination, changed
