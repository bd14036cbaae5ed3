"""The Task API contract as code: the schema, loaded and compiled once, and its validation."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from taskbench.scorers.schema import SchemaValidator, compile_schema

from taskbench.paths import SCHEMA_DIR

SCHEMA_PATH = SCHEMA_DIR / "task_action.schema.json"

ACTIONS = ("create", "complete", "list", "delete", "update", "clarify")
PRIORITIES = ("low", "medium", "high", "urgent")
FILTERS = ("all", "today", "tomorrow", "this_week", "overdue", "completed", "high_priority")
DESTRUCTIVE_ACTIONS = frozenset({"delete"})
ENTITY_FIELDS = ("title", "new_title", "priority", "due_date", "due_time", "attendees", "filter")
DEFAULTS: dict[str, Any] = {"priority": "medium", "filter": "all", "due_date": None, "due_time": None}


@cache
def contract_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validators() -> dict[str | None, SchemaValidator]:
    schema = contract_schema()
    whole = compile_schema(schema)
    # Validating against the action's own branch names the broken rule; the anyOf of the
    # whole schema would only say "not valid under any of the given schemas".
    by_action: dict[str | None, SchemaValidator] = {
        action: compile_schema({**schema["$defs"][action], "$defs": schema["$defs"]}) for action in ACTIONS
    }
    by_action[None] = whole
    return by_action


def contract_violations(answer: Any) -> list[str]:
    """Every rule of the contract that `answer` breaks, as readable sentences; [] when valid."""
    if not isinstance(answer, dict):
        return [f"the answer must be a JSON object, not {type(answer).__name__}"]
    action = answer.get("action")
    validator = _validators()[action if isinstance(action, str) and action in ACTIONS else None]
    errors = sorted(validator.iter_errors(answer), key=lambda e: (list(e.absolute_path), e.message))
    return [_describe(error) for error in errors]


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where or 'answer'}: {error.message}"
