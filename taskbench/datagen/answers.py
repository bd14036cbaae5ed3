"""Builders for the JSON a case holds: answers in contract key order, context tasks, history turns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from taskbench.model.prompts import ANSWER_KEY_ORDER

Answer = dict[str, Any]


def ordered(answer: Answer) -> Answer:
    return {key: answer[key] for key in ANSWER_KEY_ORDER if key in answer}


def as_title(words: str) -> str:
    """The contract's title form: the user's words with a capital first letter."""
    return words[:1].upper() + words[1:]


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def create(
    title: str,
    *,
    priority: str = "medium",
    due_date: dt.date | None = None,
    due_time: str | None = None,
    attendees: Sequence[str] = (),
) -> Answer:
    answer: Answer = {
        "action": "create",
        "title": title,
        "priority": priority,
        "due_date": _iso(due_date),
        "due_time": due_time,
    }
    if attendees:
        answer["attendees"] = list(attendees)
    return ordered(answer)


def complete(title: str) -> Answer:
    return {"action": "complete", "title": title}


def delete(title: str) -> Answer:
    return {"action": "delete", "title": title}


def update(
    title: str,
    *,
    new_title: str | None = None,
    priority: str | None = None,
    due_date: dt.date | None = None,
    due_time: str | None = None,
    attendees: Sequence[str] = (),
) -> Answer:
    """An update carrying only the fields the user changes (a null due date cannot be expressed
    here: no case clears a date)."""
    changes = {"new_title": new_title, "priority": priority, "due_date": _iso(due_date), "due_time": due_time}
    answer: Answer = {"action": "update", "title": title} | {k: v for k, v in changes.items() if v is not None}
    if attendees:
        answer["attendees"] = list(attendees)
    if len(answer) < 3:
        raise ValueError(f"an update of {title!r} needs at least one change")
    return ordered(answer)


def listing(filter_: str = "all") -> Answer:
    return {"action": "list", "filter": filter_}


def clarify(question: str) -> Answer:
    return {"action": "clarify", "question": question}


def task(
    task_id: int,
    title: str,
    *,
    priority: str = "medium",
    due_date: dt.date | None = None,
    due_time: str | None = None,
    status: str = "open",
) -> dict[str, Any]:
    """One entry of `context.tasks`, as case.schema.json defines it."""
    return {
        "id": task_id,
        "title": title,
        "priority": priority,
        "due_date": _iso(due_date),
        "due_time": due_time,
        "status": status,
    }


def turn(user: str, assistant: Answer) -> dict[str, Any]:
    """One earlier exchange of `context.history`."""
    return {"user": user, "assistant": assistant}


def context(tasks: Sequence[dict[str, Any]] = (), history: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if tasks:
        found["tasks"] = list(tasks)
    if history:
        found["history"] = list(history)
    return found
