"""taskbench.data.taskapi: the store run against a plain Python model rule by rule, proof that this
comparison catches broken stores, and diff_states."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from taskbench.scorers.contract import FILTERS, PRIORITIES

from taskbench.data.taskapi import Outcome, TaskStore, diff_states

# Few titles, so creates collide into ambiguous references; "ß" upper-cases to "SS", which
# only case-folding (not lower-casing) matches back.
TITLES = ("Call mom", "Budget review", "Dentist appointment", "Straße planen", "Zoë's party", "Pay rent")
UNKNOWN_TITLES = ("Walk the dog", "Water the plants")
REFERENCE_DATE = "2026-11-24"
# A letter-case change and the whitespace put around a title.
Spelling = tuple[Callable[[str], str], str]

iso_dates = st.dates(date(2026, 11, 16), date(2026, 12, 6)).map(date.isoformat)
due_dates = st.none() | iso_dates
due_times = st.none() | st.sampled_from(("00:00", "09:30", "15:00", "23:59"))
attendee_lists = st.lists(st.sampled_from(("Sara", "Tom", "Ana")), max_size=3)
spellings = st.tuples(st.sampled_from((str, str.upper, str.lower, str.swapcase)), st.sampled_from(("", " ", "\t ")))
create_fields = st.fixed_dictionaries(
    {"priority": st.sampled_from(PRIORITIES), "due_date": due_dates, "due_time": due_times},
    optional={"attendees": attendee_lists},
)
update_changes = st.fixed_dictionaries(
    {},
    optional={
        "new_title": st.sampled_from(TITLES),
        "priority": st.sampled_from(PRIORITIES),
        "due_date": due_dates,
        "due_time": due_times,
        "attendees": attendee_lists,
    },
).filter(bool)
task_records = st.fixed_dictionaries(
    {
        "id": st.integers(1, 40),
        "title": st.sampled_from(TITLES),
        "priority": st.sampled_from(PRIORITIES),
        "due_date": due_dates,
        "due_time": due_times,
        "status": st.sampled_from(("open", "done")),
    },
    optional={"attendees": attendee_lists},
)
# Each names an existing-looking task, so a store that skipped validation would change something.
invalid_answers = st.sampled_from(
    (
        [],
        "complete Call mom",
        {"action": "archive", "title": "Call mom"},
        {"action": "create", "title": "Call mom"},
        {"action": "create", "title": "", "priority": "medium", "due_date": None, "due_time": None},
        {"action": "create", "title": "Call mom", "priority": "critical", "due_date": None, "due_time": None},
        {"action": "complete", "title": "Call mom", "priority": "high"},
        {"action": "delete", "title": "Budget review", "filter": "all"},
        {"action": "update", "title": "Budget review"},
        {"action": "update", "title": "Budget review", "due_date": "2026-13-01"},
        {"action": "update", "title": "Budget review", "due_time": "25:00", "priority": "low"},
        {"action": "update", "title": "Budget review", "attendees": [""]},
        {"action": "list", "filter": "someday"},
        {"action": "clarify", "question": ""},
    )
)


def respelled(title: str, spelling: Spelling) -> str:
    """`title` as a user might retype it: other letter case, stray whitespace."""
    change_case, padding = spelling
    return f"{padding}{change_case(title)}{padding}"


def listed(filter_name: str, task: dict[str, Any], today: date) -> bool:
    """The model's reading of a list filter, written independently of the store's SQL."""
    is_open = task["status"] == "open"
    due = date.fromisoformat(task["due_date"]) if task["due_date"] else None
    match filter_name:
        case "all":
            return is_open
        case "completed":
            return not is_open
        case "high_priority":
            return is_open and task["priority"] in ("high", "urgent")
        case "today":
            return is_open and due == today
        case "tomorrow":
            return is_open and due == today + timedelta(days=1)
        case "this_week":
            return is_open and due is not None and due.isocalendar()[:2] == today.isocalendar()[:2]
        case "overdue":
            return is_open and due is not None and due < today
    raise AssertionError(f"the model has no filter {filter_name!r}")


class TaskStoreMachine(RuleBasedStateMachine):
    """Drives `store_class` and a list-of-dicts model with the same answers; they must agree after every rule."""

    store_class: type[TaskStore] = TaskStore
    titles = Bundle("titles")

    def __init__(self) -> None:
        super().__init__()
        self.store = self.store_class()
        self.model: list[dict[str, Any]] = []  # the expected snapshot, in id order
        self.next_id = 1

    def teardown(self) -> None:
        self.store.close()

    @initialize(target=titles, tasks=st.lists(task_records, max_size=4, unique_by=lambda task: task["id"]))
    def seed(self, tasks: list[dict[str, Any]]) -> Any:
        self.store.close()
        self.store = self.store_class.from_tasks(tasks)
        self.model = sorted(({"attendees": [], **task} for task in tasks), key=lambda task: task["id"])
        self.next_id = max((task["id"] for task in tasks), default=0) + 1
        return multiple(*(task["title"] for task in tasks))

    def check(self, answer: Any, *, applied: bool, reference_date: str = REFERENCE_DATE) -> Outcome:
        outcome = self.store.apply(answer, reference_date)
        assert outcome.applied == applied, f"{answer} -> {outcome}"
        assert bool(outcome.reason) != applied, outcome
        return outcome

    def refer(self, answer: dict[str, Any]) -> dict[str, Any] | None:
        """Applies an answer naming a task by title; returns the model's task it names if exactly one matches."""
        key = answer["title"].strip().casefold()
        matches = [task for task in self.model if task["title"].strip().casefold() == key]
        self.check(answer, applied=len(matches) == 1)
        return matches[0] if len(matches) == 1 else None

    def add(self, title: str, fields: dict[str, Any]) -> None:
        self.check({"action": "create", "title": title, **fields}, applied=True)
        self.model.append({"id": self.next_id, "title": title, "attendees": [], **fields, "status": "open"})
        self.next_id += 1

    @rule(target=titles, title=st.sampled_from(TITLES), fields=create_fields)
    def create(self, title: str, fields: dict[str, Any]) -> str:
        self.add(title, fields)
        return title

    @precondition(lambda self: self.model)
    @rule(target=titles, data=st.data(), spelling=spellings, fields=create_fields)
    def create_namesake(self, data: st.DataObject, spelling: Spelling, fields: dict[str, Any]) -> str:
        # Guarantees a title that several tasks share: later references to it are ambiguous.
        title = respelled(data.draw(st.sampled_from(self.model))["title"], spelling)
        self.add(title, fields)
        return title

    @rule(title=titles, spelling=spellings)
    def complete(self, title: str, spelling: Spelling) -> None:
        if (task := self.refer({"action": "complete", "title": respelled(title, spelling)})) is not None:
            task["status"] = "done"

    @rule(title=titles, spelling=spellings)
    def delete(self, title: str, spelling: Spelling) -> None:
        if (task := self.refer({"action": "delete", "title": respelled(title, spelling)})) is not None:
            self.model.remove(task)

    @rule(title=titles, spelling=spellings, changes=update_changes)
    def update(self, title: str, spelling: Spelling, changes: dict[str, Any]) -> None:
        if (task := self.refer({"action": "update", "title": respelled(title, spelling), **changes})) is not None:
            task.update({"title" if key == "new_title" else key: value for key, value in changes.items()})

    @rule(filter_name=st.sampled_from(FILTERS), reference_date=iso_dates)
    def list_tasks(self, filter_name: str, reference_date: str) -> None:
        outcome = self.check({"action": "list", "filter": filter_name}, applied=True, reference_date=reference_date)
        today = date.fromisoformat(reference_date)
        assert [row.to_record() for row in outcome.rows] == [
            task for task in self.model if listed(filter_name, task, today)
        ]

    @rule(question=st.sampled_from(("Which task?", "Delete all of them?")))
    def clarify(self, question: str) -> None:
        assert self.check({"action": "clarify", "question": question}, applied=True).rows == ()

    @rule(answer=invalid_answers)
    def invalid(self, answer: Any) -> None:
        assert "breaks the contract" in str(self.check(answer, applied=False).reason)

    @rule(action=st.sampled_from(("complete", "delete", "update")), title=st.sampled_from(UNKNOWN_TITLES))
    def reference_missing(self, action: str, title: str) -> None:
        change = {"priority": "high"} if action == "update" else {}
        assert title in str(self.check({"action": action, "title": title, **change}, applied=False).reason)

    @invariant()
    def store_matches_model(self) -> None:
        assert self.store.snapshot() == self.model


TestTaskStore = TaskStoreMachine.TestCase
TestTaskStore.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)


# Fixed seed and no shrinking: the mutation tests only need to know that a bug is found, every run.
HUNTING = settings(
    max_examples=300, stateful_step_count=25, deadline=None, database=None, derandomize=True, phases=(Phase.generate,)
)


def machine_for(store_class: type[TaskStore]) -> type[TaskStoreMachine]:
    return type(f"{store_class.__name__}Machine", (TaskStoreMachine,), {"store_class": store_class})


class ResetsPriorityOnUpdate(TaskStore):
    """Broken: an update that names no priority sets it to medium."""

    def _run(self, answer: Any, today: date) -> Any:
        return super()._run({"priority": "medium", **answer} if answer["action"] == "update" else answer, today)


class KeepsRejectedWrites(TaskStore):
    """Broken: commits what an answer wrote before it was rejected."""

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._connection.execute("BEGIN")
        try:
            yield
        finally:
            self._connection.execute("COMMIT")


class LowerCasesTitles(TaskStore):
    """Broken: matches titles lower-cased (as SQL's lower() would), so "STRASSE" misses "Straße"."""

    def __init__(self, path: str = ":memory:") -> None:
        super().__init__(path)
        self._connection.create_function("title_key", 1, lambda title: title.strip().lower(), deterministic=True)


@pytest.mark.parametrize("broken_store", [ResetsPriorityOnUpdate, KeepsRejectedWrites, LowerCasesTitles])
def test_state_machine_catches_broken_store(broken_store: type[TaskStore]) -> None:
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine_for(broken_store), settings=HUNTING)


def task(title: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "title": title,
        "priority": "medium",
        "due_date": None,
        "due_time": None,
        "status": "open",
    } | fields


def test_diff_states_ignores_ids_order_and_absent_attendees() -> None:
    expected = [task("Call mom", id=1), task("Budget review", id=2, attendees=[])]
    actual = [task("Budget review", id=7), task("Call mom", id=9, attendees=[])]
    assert diff_states(expected, actual) == []


@given(st.lists(task_records, max_size=6), st.randoms(use_true_random=False))
def test_diff_states_finds_no_difference_in_a_shuffled_renumbered_copy(tasks: list[dict], random: Any) -> None:
    copy = [{**original, "id": number} for number, original in enumerate(tasks, start=100)]
    random.shuffle(copy)
    assert diff_states(tasks, copy) == []


def test_diff_states_names_the_fields_that_differ() -> None:
    expected = [task("Call mom", priority="high", status="done", attendees=["Sara"])]
    actual = [task("Call mom", priority="medium", status="done", attendees=["Sara", "Tom"])]
    assert diff_states(expected, actual) == [
        "task 'Call mom': priority is 'medium', expected 'high'",
        "task 'Call mom': attendees is ['Sara', 'Tom'], expected ['Sara']",
    ]


def test_diff_states_reports_missing_and_extra_tasks() -> None:
    expected = [task("Q4 budget review", due_date="2026-11-27"), task("Call mom")]
    actual = [task("Call mom"), task("Budget review", due_date="2026-11-27")]
    assert diff_states(expected, actual) == [
        "missing task 'Q4 budget review' (priority='medium', due_date='2026-11-27', due_time=None, attendees=[],"
        " status='open')",
        "extra task 'Budget review' (priority='medium', due_date='2026-11-27', due_time=None, attendees=[],"
        " status='open')",
    ]


def test_diff_states_counts_duplicates() -> None:
    assert diff_states([task("Call mom"), task("Call mom")], [task("Call mom")]) == [
        "missing task 'Call mom' (priority='medium', due_date=None, due_time=None, attendees=[], status='open')"
    ]


def test_from_tasks_keeps_ids_and_numbers_new_tasks_after_them() -> None:
    store = TaskStore.from_tasks([task("Call mom", id=4), task("Budget review", id=2, attendees=["Tom"])])
    create = {"action": "create", "title": "Pay rent", "priority": "high", "due_date": None, "due_time": None}
    assert store.apply(create, REFERENCE_DATE).applied
    assert [(row["id"], row["title"], row["attendees"]) for row in store.snapshot()] == [
        (2, "Budget review", ["Tom"]),
        (4, "Call mom", []),
        (5, "Pay rent", []),
    ]


@pytest.mark.parametrize(
    ("tasks", "problem"),
    [
        ([task("Call mom", priority="someday")], "task 0: priority: 'someday' is not one of"),
        ([task("Call mom"), {"title": "Pay rent"}], "task 1: task: 'id' is a required property"),
        ([task("Call mom", id=3), task("Pay rent", id=3)], "task ids repeat: [3, 3]"),
    ],
)
def test_from_tasks_refuses_tasks_of_the_wrong_shape(tasks: list[dict], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        TaskStore.from_tasks(tasks)


# Reference date Sunday 2026-11-29: its Monday-started week is 2026-11-23 .. 2026-11-29.
WEEK_OF_TASKS = [
    task("Last week", id=1, due_date="2026-11-22"),
    task("Monday", id=2, due_date="2026-11-23", priority="urgent"),
    task("Sunday", id=3, due_date="2026-11-29", due_time="09:00"),
    task("Next Monday", id=4, due_date="2026-11-30", priority="high"),
    task("Done today", id=5, due_date="2026-11-29", status="done", priority="high"),
    task("Someday", id=6),
]


@pytest.mark.parametrize(
    ("filter_name", "titles"),
    [
        ("all", ["Last week", "Monday", "Sunday", "Next Monday", "Someday"]),
        ("today", ["Sunday"]),
        ("tomorrow", ["Next Monday"]),
        ("this_week", ["Monday", "Sunday"]),
        ("overdue", ["Last week", "Monday"]),
        ("completed", ["Done today"]),
        ("high_priority", ["Monday", "Next Monday"]),
    ],
)
def test_list_filters(filter_name: str, titles: list[str]) -> None:
    store = TaskStore.from_tasks(WEEK_OF_TASKS)
    outcome = store.apply({"action": "list", "filter": filter_name}, "2026-11-29")
    assert [row.title for row in outcome.rows] == titles
    assert store.snapshot() == [{"attendees": [], **original} for original in WEEK_OF_TASKS]


def test_an_ambiguous_reference_is_rejected_and_changes_nothing() -> None:
    store = TaskStore.from_tasks([task("Call mom", id=1), task(" CALL MOM", id=2)])
    before = store.snapshot()
    outcome = store.apply({"action": "update", "title": "call mom", "priority": "urgent"}, REFERENCE_DATE)
    assert outcome == Outcome(applied=False, reason="'call mom' is ambiguous: 2 tasks have that title")
    assert store.snapshot() == before


def test_a_store_on_disk_outlives_its_connection(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.sqlite")
    create = {"action": "create", "title": "Pay rent", "priority": "high", "due_date": None, "due_time": None}
    with TaskStore(path) as store:
        store.apply(create, REFERENCE_DATE)
    with TaskStore(path) as reopened:
        assert [row["title"] for row in reopened.snapshot()] == ["Pay rent"]


def test_a_malformed_reference_date_is_the_caller_s_error() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        TaskStore().apply({"action": "clarify", "question": "Which task?"}, "next Tuesday")
