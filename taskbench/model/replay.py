"""--replay: answer every item from a previous run's stored answers, with no model server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taskbench.errors import ModelError, ReplayError
from taskbench.model.client import Answer
from taskbench.model.session import ANSWERS_FILE, load_answers
from taskbench.results.build import RESULTS_FILE

# How results.json (taskbench.results.build) writes its top-level "model" key: JSON text holds no raw newline
# inside a string, and nested keys are indented deeper, so this marks the top-level key and nothing else.
_MODEL_KEY = '\n "model": '


def _read_results(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReplayError(f"{path}: cannot read the run to replay: {exc}") from None


def _read_model(path: Path) -> dict[str, Any] | None:
    """The "model" record of a results.json, parsed alone: the whole file of a 10,000-item run is ~10 MB."""
    try:
        text = path.read_text(encoding="utf-8")
        start = text.find(_MODEL_KEY)
        if start < 0:
            return json.loads(text).get("model")
        return json.JSONDecoder().raw_decode(text, start + len(_MODEL_KEY))[0]
    except (OSError, json.JSONDecodeError) as exc:
        raise ReplayError(f"{path}: cannot read the run to replay: {exc}") from None


def _answers_from_results(results: dict[str, Any]) -> dict[str, Answer | ModelError]:
    answers: dict[str, Answer | ModelError] = {
        item["id"]: Answer(
            text=item["output"],
            finish_reason=item["finish_reason"],
            prompt_tokens=item["prompt_tokens"],
            completion_tokens=item["completion_tokens"],
            latency_s=item["latency_s"],
        )
        for item in results.get("items", [])
    }
    answers.update({error["id"]: ModelError(error["message"]) for error in results.get("errors", [])})
    return answers


def load_replay(source: Path) -> tuple[dict[str, Answer | ModelError], dict[str, Any] | None]:
    """The stored answers by case id, and the model record of the run they came from (if known).

    `source` is a run folder (its answers.jsonl, else its results.json), a results.json or an answers.jsonl.
    """
    results_path = (source if source.is_dir() else source.parent) / RESULTS_FILE
    if source.is_dir():
        source = source / ANSWERS_FILE if (source / ANSWERS_FILE).is_file() else results_path
    if not source.is_file():
        raise ReplayError(f"{source}: nothing to replay (expected a run folder, results.json or answers.jsonl)")
    if source.suffix == ".jsonl":
        model = _read_model(results_path) if results_path.is_file() else None
        try:
            return load_answers(source), model
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReplayError(f"{source}: cannot read stored answers: {exc}") from None
    results = _read_results(source)
    return _answers_from_results(results), results.get("model")
