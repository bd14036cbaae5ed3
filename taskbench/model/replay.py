"""--replay: answer every item from a previous run's stored answers, with no model server."""

from __future__ import annotations

from pathlib import Path

from taskbench.artifacts import (
    ANSWERS_FILE,
    SERVED_FILE,
    ModelRecord,
    load_answers,
    load_results,
    read_served,
    results_path,
)
from taskbench.errors import ModelError, ReplayError, TaskbenchError
from taskbench.model.client import Answer, ordered_json


def _answers_from_results(source: Path) -> tuple[dict[str, Answer | ModelError], ModelRecord | None]:
    try:
        results = load_results(source)
    except TaskbenchError as exc:
        raise ReplayError(f"cannot read the run to replay: {exc}") from None
    answers: dict[str, Answer | ModelError] = {
        item["id"]: Answer(
            text=item["output"],
            finish_reason=item["finish_reason"],
            prompt_tokens=item["prompt_tokens"],
            completion_tokens=item["completion_tokens"],
            latency_s=item["latency_s"],
            tool_calls=ordered_json(item["tool_calls"]) if "tool_calls" in item else None,
        )
        for item in results["items"]
    }
    answers.update({error["id"]: ModelError(error["message"]) for error in results.get("errors", [])})
    return answers, results.get("model")


def _model_beside(folder: Path) -> ModelRecord | None:
    """The model record of the run folder holding an answers.jsonl: its served.json's, else its results.json's."""
    if (folder / SERVED_FILE).is_file():
        try:
            model = read_served(folder).model
        except ModelError as exc:
            raise ReplayError(f"cannot read the run to replay: {exc}") from None
        if model is not None:
            return model
    return _answers_from_results(folder)[1] if results_path(folder).is_file() else None


def load_replay(source: Path) -> tuple[dict[str, Answer | ModelError], ModelRecord | None]:
    """The stored answers by answer key, and the model record of the run they came from (if known).

    `source` is a run folder (its answers.jsonl, else its results.json), a results.json or an answers.jsonl.
    """
    if source.is_dir() and (source / ANSWERS_FILE).is_file():
        source = source / ANSWERS_FILE
    elif source.is_dir():
        source = results_path(source)
    if not source.is_file():
        raise ReplayError(f"{source}: nothing to replay (expected a run folder, results.json or answers.jsonl)")
    if source.suffix != ".jsonl":
        return _answers_from_results(source)
    try:
        answers = load_answers(source)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReplayError(f"{source}: cannot read stored answers: {exc}") from None
    return answers, _model_beside(source.parent)
