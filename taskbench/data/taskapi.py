"""A reference Task API: applies contract answers to a sqlite task store, so an episode is judged
by the task state it leaves behind rather than by its transcript.

Semantics this module decides (docs/contract.md leaves them open):

- A title reference (`complete`, `delete`, `update`) matches the tasks whose title equals it after
  trimming surrounding whitespace and case-folding ("  call MOM " matches "Call mom"), whatever their
  status. Exactly one task must match: none means the task does not exist, several mean the
  reference is ambiguous; both reject the answer.
- `create` needs `priority`, `due_date` and `due_time` (the contract makes them required, so an answer
  without them is rejected rather than defaulted); without `attendees` the task has none.
- `complete` on a task that is already done is applied and changes nothing.
- `create` does not check for duplicates, and `update` may rename a task to a title another task has.
- `list` returns tasks in id order. Date filters compare `due_date` with the reference date, so a
  task without a due date is never today's, tomorrow's, this week's or overdue:
  all: open tasks; today: open, due on the reference date; tomorrow: open, due the day after;
  this_week: open, due Monday to Sunday of the reference date's week (earlier days included);
  overdue: open, due before the reference date; completed: done tasks; high_priority: open, high or urgent.
- An answer that breaks the contract, or names no task or several, is rejected with a reason and
  changes nothing: each answer runs in one transaction that is rolled back on rejection.
- Ids are assigned increasing and never reused, also after the highest one is deleted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from taskbench.paths import SCHEMA_DIR
from taskbench.scorers.contract import contract_violations

COMPARED_FIELDS = ("title", "priority", "due_date", "due_time", "attendees", "status")
# (answer key, column) pairs an update may change.
_UPDATABLE = (
    ("new_title", "title"),
    ("priority", "priority"),
    ("due_date", "due_date"),
    ("due_time", "due_time"),
    ("attendees", "attendees"),
)
_COLUMNS = "id, title, priority, due_date, due_time, attendees, status"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    priority TEXT NOT NULL,
    due_date TEXT,
    due_time TEXT,
    attendees TEXT NOT NULL,
    status TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Task:
    id: int
    title: str
    priority: str
    due_date: str | None
    due_time: str | None
    attendees: tuple[str, ...]
    status: str

    def to_record(self) -> dict[str, Any]:
        """The task in the shape of case.schema.json's $defs/task."""
        return {
            "id": self.id,
            "title": self.title,
            "priority": self.priority,
            "due_date": self.due_date,
            "due_time": self.due_time,
            "attendees": list(self.attendees),
            "status": self.status,
        }


@dataclass(frozen=True)
class Outcome:
    """What applying one answer did. `reason` says why it was rejected; `rows` is what a list returned."""

    applied: bool
    reason: str | None = None
    rows: tuple[Task, ...] = ()


class _Rejected(Exception):
    """Raised inside an answer's transaction to roll it back; `apply` turns it into an Outcome."""


def title_key(title: str) -> str:
    """What two titles must share to be the same reference."""
    return title.strip().casefold()


class TaskStore:
    """A user's task list in sqlite (in memory unless given a path)."""

    def __init__(self, path: str = ":memory:") -> None:
        # Autocommit mode: _transaction issues BEGIN/COMMIT/ROLLBACK itself.
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self._connection.create_function("title_key", 1, title_key, deterministic=True)
        self._connection.execute(_SCHEMA)

    @classmethod
    def from_tasks(cls, tasks: Sequence[Mapping[str, Any]], path: str = ":memory:") -> TaskStore:
        """A store holding `tasks` (case.schema.json $defs/task shape, e.g. a case's context.tasks), ids kept."""
        problems = [f"task {index}: {problem}" for index, task in enumerate(tasks) for problem in _task_problems(task)]
        if problems:
            raise ValueError("; ".join(problems))
        ids = [task["id"] for task in tasks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"task ids repeat: {sorted(ids)}")
        store = cls(path)
        with store._transaction():
            for task in tasks:
                store._insert({"attendees": [], **task})
        return store

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def apply(self, answer: Mapping[str, Any], reference_date: str) -> Outcome:
        """Apply one contract answer, all or nothing. `reference_date` (YYYY-MM-DD) is "today" for list filters."""
        today = date.fromisoformat(reference_date)
        # Model answers are untrusted: a non-mapping reaches contract_violations, which names the problem.
        violations = contract_violations(dict(answer) if isinstance(answer, Mapping) else answer)
        if violations:
            return Outcome(applied=False, reason="the answer breaks the contract: " + "; ".join(violations))
        try:
            with self._transaction():
                rows = self._run(answer, today)
        except _Rejected as rejection:
            return Outcome(applied=False, reason=str(rejection))
        return Outcome(applied=True, rows=rows)

    def tasks(self) -> tuple[Task, ...]:
        """Every task, in id order."""
        return self._select("1", ())

    def snapshot(self) -> list[dict[str, Any]]:
        """Every task as a $defs/task record, in id order: the state an episode is judged by."""
        return [task.to_record() for task in self.tasks()]

    def _run(self, answer: Mapping[str, Any], today: date) -> tuple[Task, ...]:
        match answer["action"]:
            case "create":
                self._insert({"attendees": [], **answer, "status": "open"})
            case "complete":
                self._change_one(answer["title"], {"status": "done"})
            case "delete":
                self._delete(answer["title"])
            case "update":
                changes = {column: answer[key] for key, column in _UPDATABLE if key in answer}
                self._change_one(answer["title"], changes)
            case "list":
                return self._select(*_filter_condition(answer["filter"], today))
        return ()

    def _insert(self, task: Mapping[str, Any]) -> None:
        self._connection.execute(
            f"INSERT INTO tasks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                task.get("id"),
                task["title"],
                task["priority"],
                task["due_date"],
                task["due_time"],
                json.dumps(task["attendees"]),
                task["status"],
            ),
        )

    def _change_one(self, title: str, changes: Mapping[str, Any]) -> None:
        # Changes every task the title matches, then rejects unless that was exactly one:
        # the rollback of the rejection is what keeps an ambiguous answer from applying.
        values = [json.dumps(value) if column == "attendees" else value for column, value in changes.items()]
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cursor = self._connection.execute(
            f"UPDATE tasks SET {assignments} WHERE title_key(title) = title_key(?)", (*values, title)
        )
        _require_one_match(title, cursor.rowcount)

    def _delete(self, title: str) -> None:
        cursor = self._connection.execute("DELETE FROM tasks WHERE title_key(title) = title_key(?)", (title,))
        _require_one_match(title, cursor.rowcount)

    def _select(self, condition: str, parameters: tuple[str, ...]) -> tuple[Task, ...]:
        rows = self._connection.execute(f"SELECT {_COLUMNS} FROM tasks WHERE {condition} ORDER BY id", parameters)
        return tuple(Task(**{**dict(row), "attendees": tuple(json.loads(row["attendees"]))}) for row in rows.fetchall())

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._connection.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")


def _require_one_match(title: str, matched: int) -> None:
    if matched == 0:
        raise _Rejected(f"no task is titled {title!r}")
    if matched > 1:
        raise _Rejected(f"{title!r} is ambiguous: {matched} tasks have that title")


def _filter_condition(name: str, today: date) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause and its parameters for a list filter; ISO dates compare correctly as text."""
    monday = today - timedelta(days=today.weekday())
    match name:
        case "all":
            return "status = 'open'", ()
        case "today":
            return "status = 'open' AND due_date = ?", (today.isoformat(),)
        case "tomorrow":
            return "status = 'open' AND due_date = ?", ((today + timedelta(days=1)).isoformat(),)
        case "this_week":
            return "status = 'open' AND due_date BETWEEN ? AND ?", (
                monday.isoformat(),
                (monday + timedelta(days=6)).isoformat(),
            )
        case "overdue":
            return "status = 'open' AND due_date < ?", (today.isoformat(),)
        case "completed":
            return "status = 'done'", ()
        case "high_priority":
            return "status = 'open' AND priority IN ('high', 'urgent')", ()
    raise ValueError(f"unknown list filter {name!r}")


@cache
def _task_validator() -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / "case.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema["$defs"]["task"])


def _task_problems(task: Any) -> list[str]:
    """What makes `task` not a case.schema.json $defs/task record, as sentences; [] when it is one."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or 'task'}: {error.message}"
        for error in _task_validator().iter_errors(task)
    ]


def diff_states(expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]) -> list[str]:
    """How the task list `actual` differs from `expected`, field by field, ignoring ids and order.

    [] when they hold the same tasks. Otherwise one line per task that is missing or extra, and per
    field of a task (paired by exact title) that differs.
    """
    unmatched = [_compared(task) for task in actual]
    leftover: list[dict[str, Any]] = []
    for task in map(_compared, expected):
        if task in unmatched:
            unmatched.remove(task)
        else:
            leftover.append(task)
    lines = []
    for task in leftover:
        namesake = next((other for other in unmatched if other["title"] == task["title"]), None)
        if namesake is None:
            lines.append(f"missing task {_describe(task)}")
            continue
        unmatched.remove(namesake)
        lines += [
            f"task {task['title']!r}: {name} is {namesake[name]!r}, expected {task[name]!r}"
            for name in COMPARED_FIELDS
            if task[name] != namesake[name]
        ]
    lines += [f"extra task {_describe(task)}" for task in unmatched]
    return lines


def _compared(task: Mapping[str, Any]) -> dict[str, Any]:
    # attendees is optional in a $defs/task record; absent means none.
    return {name: list(task.get(name) or []) if name == "attendees" else task.get(name) for name in COMPARED_FIELDS}


def _describe(task: Mapping[str, Any]) -> str:
    fields = ", ".join(f"{name}={task[name]!r}" for name in COMPARED_FIELDS if name != "title")
    return f"{task['title']!r} ({fields})"
