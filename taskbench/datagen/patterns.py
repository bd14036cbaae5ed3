"""Templates written as data: a `Pattern` is one kind of request, a few wordings with slots, the action
they ask for, the level the request earns and why. `realise` fills the slots from a `Gen` and builds the
answer from the slots it filled, so a pattern cannot say one thing and expect another.

Slots (each drawn only when a wording names it):

| slot | what it is | what the answer takes from it |
|---|---|---|
| `{t}` | a chore, "review the budget" | create title |
| `{m}` `{w}` | a meeting, "plan the offsite"; its people, "Sara and Tom" | create title; attendees |
| `{x}` | another chore, one the user takes back | nothing |
| `{i}` `{iw}` | a task in the user's list, "the budget review" / "budget review" | title (list form) |
| `{k}` | one word of that task's title, "budget" (needs a list in context) | title (list form) |
| `{j}` | another task, "the car wash" | nothing |
| `{d}` `{dd}` | a date phrase, "Friday" / "by Friday" (forms from `dates`) | due_date |
| `{d0}` | another date, one the user corrects | nothing |
| `{tm}` `{tb}` | a time, "at 3pm" / "3pm" (forms from `times`) | due_time |
| `{p}` `{pc}` | a priority word, "urgent" / a clause, "no rush" | priority |
| `{p0}` | another priority word, one the user corrects | nothing |
| `{n}` | a new name for the task | new_title |
| `{q}` `{fw}` `{inj}` | a quoted tricky title, field-word title, instruction-like title | create title, exactly |
| `{long}` | a title of over 200 characters | create title |
| `{bulk}` `{ood}` `{vague}` | a bulk delete, an out-of-domain request, a vague one | nothing (clarify) |

`action` is `create`, `complete`, `delete`, `update` (its changes are the date, time, priority and
name slots present), `list:<filter>` or `clarify:<question>`. `context` puts a task list (and history)
beside the request: `list` (the task among others), `one_open` (the only open task), `history` (created
in the previous turn; the wording says "it"), `no_match` (no task has the word `{k}`), `several` (two
tasks share it), `pair` (two tasks), `shown` (a few tasks, none of them the subject).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from taskbench.data.capabilities import LEVELS
from taskbench.datagen import answers as a
from taskbench.datagen.templates import (
    EVENING_HOUR,
    INJECTIONS,
    NO_MATCH_QUESTION,
    QUESTION_BULK,
    QUESTION_ONE_AT_A_TIME,
    QUESTION_OUT_OF_DOMAIN,
    QUESTION_UNCLEAR,
    RENAME_MODIFIERS,
    SEVERAL_QUESTION,
    Draft,
    Gen,
    join_names,
    long_title_words,
    unrelated_phrase,
)
from taskbench.datagen.vocab import Item
from taskbench.dates import WEEKDAYS, DateForm, DatePhrase, TimeForm, TimePhrase

CONTEXTS = ("", "list", "one_open", "history", "no_match", "several", "pair", "shown")
PRIORITY_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"urgent": ("urgent", "critical"), "high": ("important", "high priority"), "low": ("low priority",)}
)
PRIORITY_CLAUSES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "urgent": ("asap", "its urgent", "this is critical"),
        "high": ("its important", "high priority"),
        "low": ("no rush", "whenever", "low priority"),
    }
)
QUESTIONS: Mapping[str, str] = MappingProxyType(
    {
        "bulk": QUESTION_BULK,
        "unclear": QUESTION_UNCLEAR,
        "ood": QUESTION_OUT_OF_DOMAIN,
        "both": QUESTION_ONE_AT_A_TIME,
        "which": "Which task do you mean?",
        "keep": "Do you want to keep {the} or not?",
        "leave": "Okay, I'll leave {the} alone. Anything else?",
        "none": NO_MATCH_QUESTION,
        "several": SEVERAL_QUESTION,
    }
)


@dataclass(frozen=True)
class Pattern:
    name: str
    level: str
    action: str
    wordings: tuple[str, ...]
    hard: str  # what earns the level, in a few words (docs/cases.md lists it per template)
    dates: tuple[DateForm, ...] = (DateForm.TODAY, DateForm.TOMORROW, DateForm.ISO)
    times: tuple[TimeForm, ...] = (TimeForm.HOUR_AMPM,)
    priorities: tuple[str, ...] = ("urgent", "high", "low")
    context: str = ""
    new_verb: str = ""  # a verb the training split never pairs with `action`

    def __post_init__(self) -> None:
        kind = self.action.split(":")[0]
        if self.level not in LEVELS or self.context not in CONTEXTS or not self.wordings:
            raise ValueError(f"pattern {self.name}: bad level, context or no wordings")
        if kind not in ("create", "complete", "delete", "update", "list", "clarify"):
            raise ValueError(f"pattern {self.name}: unknown action {self.action!r}")
        if kind == "clarify" and self.action.split(":")[1] not in QUESTIONS:
            raise ValueError(f"pattern {self.name}: unknown question {self.action!r}")

    def __call__(self, g: Gen) -> Draft:
        return realise(self, g)

    def slots(self) -> set[str]:
        return {field for wording in self.wordings for _, field, _, _ in string.Formatter().parse(wording) if field}


class _Slots:
    """The values of one case's slots, drawn on first use so that unused slots cost no draws."""

    def __init__(self, pattern: Pattern, g: Gen, ref: dt.date) -> None:
        self.pattern, self.g, self.ref = pattern, g, ref
        self.values: dict[str, Any] = {}
        self.target: Item | None = None
        self.target_title: str | None = None
        self.context: dict[str, Any] = {}
        self.priority: str | None = None
        self.date: DatePhrase | None = None
        self.time: TimePhrase | None = None
        self.people: list[str] = []
        self.created: str | None = None  # the create title the slots gave

    def text(self, wording: str) -> str:
        fields = [field for _, field, _, _ in string.Formatter().parse(wording) if field]
        for field in fields:
            self.value(field)
        return wording.format(**self.values)

    def value(self, slot: str) -> str:
        if slot not in self.values:
            self.values[slot] = self._draw(slot)
        return self.values[slot]

    def _draw(self, slot: str) -> str:
        g = self.g
        match slot:
            case "t":
                words = g.chore()
                self.created = a.as_title(words)
                return words
            case "m":
                words = g.pick(g.vocab.meetings)
                self.created = a.as_title(words)
                return words
            case "w":
                self.people = g.people(g.pick((1, 2, 2, 3)))
                return join_names(self.people)
            case "x":
                return g.chore()
            case "o" | "c":
                return g.pick(g.vocab.openings if slot == "o" else g.vocab.closings)
            case "tv":
                words = g.pick(g.vocab.action_word_chores)
                self.created = a.as_title(words)
                return words
            case "who":
                return join_names(g.people(g.pick((1, 1, 2))))
            case "i" | "iw" | "k":
                item = self._target()
                return {"i": f"the {item.words}", "iw": item.words, "k": item.keyword}[slot]
            case "j":
                return f"the {self._others(1)[0].words}"
            case "d" | "dd" | "ds":
                date = self._date()
                return {"d": date.bare, "dd": date.text, "ds": shorthand(date.bare)}[slot]
            case "d0":
                first = self._date()
                for _ in range(20):
                    other = g.date(self.ref, self.pattern.dates)
                    if other.date != first.date:
                        return other.bare
                raise ValueError(f"pattern {self.pattern.name}: its date forms give no second date")
            case "tm" | "tb":
                time = self._time()
                return time.text if slot == "tm" else time.text.removeprefix("at ")
            case "tb0":
                for _ in range(20):
                    other = g.time(self.pattern.times)
                    if other.time != self._time().time:
                        return other.text.removeprefix("at ")
                raise ValueError(f"pattern {self.pattern.name}: its time forms give no second time")
            case "p" | "pc":
                table = PRIORITY_WORDS if slot == "p" else PRIORITY_CLAUSES
                return g.pick(table[self._priority()])
            case "pl":
                return self._priority()
            case "p0":
                return g.pick(PRIORITY_WORDS[g.pick([p for p in ("urgent", "high", "low") if p != self._priority()])])
            case "n":
                return f"{g.pick(RENAME_MODIFIERS)} {self._target().words}"
            case "q" | "fw" | "inj" | "mq":
                return self._quoted(slot)
            case "fwu":
                self.created = g.pick(g.vocab.field_word_titles)
                return self.created
            case "long":
                words = long_title_words(g)
                self.created = a.as_title(words)
                return words
            case "bulk" | "ood" | "vague":
                return g.pick(
                    {"bulk": g.vocab.bulk_deletes, "ood": g.vocab.out_of_domain, "vague": g.vocab.vague}[slot]
                )
        raise ValueError(f"pattern {self.pattern.name}: unknown slot {{{slot}}}")

    def _quoted(self, slot: str) -> str:
        g = self.g
        if slot == "mq":
            title = a.as_title(f"{g.pick(g.vocab.meetings)} with {join_names(g.people(g.pick((1, 2))))}")
        else:
            title = g.pick({"q": g.vocab.tricky_titles, "fw": g.vocab.field_word_titles, "inj": INJECTIONS}[slot])
            title = title if slot != "inj" or g.chance(0.5) else a.as_title(title)
        self.created = title
        quote = "'" if '"' in title else '"' if "'" in title else g.pick(("'", '"'))
        return f"{quote}{title}{quote}"

    def _target(self) -> Item:
        if self.target is None:
            self.target = self.g.items(1)[0] if self.pattern.context != "several" else self.g.sharing_pair()[0]
        return self.target

    def _others(self, count: int) -> list[Item]:
        return [i for i in self.g.items(count + 4) if i.keyword != self._target().keyword][:count]

    def _date(self) -> DatePhrase:
        if self.date is None:
            self.date = self.g.date(self.ref, self.pattern.dates)
        return self.date

    def _time(self) -> TimePhrase:
        if self.time is None:
            time = self.g.time(self.pattern.times)
            if self.date is not None:
                # "tonight at 9am" is no time anyone means: tonight takes an evening time.
                while self._date().form is DateForm.TONIGHT and not int(time.time[:2]) >= EVENING_HOUR:
                    time = self.g.time((TimeForm.HOUR_AMPM, TimeForm.HOUR_MINUTE_24))
            self.time = time
        return self.time

    def _priority(self) -> str:
        if self.priority is None:
            self.priority = self.g.pick(self.pattern.priorities)
        return self.priority


_SHORT = {"tomorrow": "tmrw", "tonight": "2nite", "next": "nxt", "week": "wk", "today": "2day"}


def shorthand(phrase: str) -> str:
    """A date phrase as typed on a phone: "next Friday" -> "nxt fri", "tomorrow" -> "tmrw"."""
    words = phrase.lower().split()
    return " ".join(_SHORT.get(w, w[:3] if w.capitalize() in WEEKDAYS else w) for w in words)


def realise(pattern: Pattern, g: Gen) -> Draft:
    ref = g.ref()
    slots = _Slots(pattern, g, ref)
    wording = g.pick(pattern.wordings)
    # Draw the date before the time, so an evening "tonight" can choose its time.
    for slot in ("d", "dd", "ds"):
        if "{" + slot + "}" in wording:
            slots.value(slot)
    text = slots.text(wording)
    if slots.date is not None and slots.time is not None and slots.date.text.startswith("by the end of"):
        # "by the end of today at 4am" says two times; the bare day reads right.
        text = text.replace(slots.date.text, slots.date.bare)
    context = _context(pattern, slots, ref)
    expected, accept, notes = _answer(pattern, slots, context)
    rationale = f"{pattern.hard[:1].upper()}{pattern.hard[1:]}: " + "; ".join(notes) + "."
    return Draft(text, expected, rationale, ref, accept or None, context or None)


def _context(pattern: Pattern, slots: _Slots, ref: dt.date) -> dict[str, Any]:
    g = slots.g
    match pattern.context:
        case "list":
            return a.context(g.task_list([slots._target(), *slots._others(g.rng.randrange(1, 4))], ref))
        case "one_open":
            done = slots._others(g.pick((0, 1, 2)))
            return a.context(g.task_list([slots._target(), *done], ref, done=done))
        case "history":
            words = g.chore()
            slots.target_title = a.as_title(words)
            tasks = g.task_list(g.items(g.rng.randrange(0, 3)), ref)
            tasks.append(a.task(len(tasks) + 1, slots.target_title))
            earlier = g.pick(g.vocab.earlier_creates).format(t=words)
            return a.context(tasks, [a.turn(earlier, a.create(slots.target_title))])
        case "no_match":
            return a.context(g.task_list(slots._others(g.rng.randrange(2, 5)), ref))
        case "several":
            first = slots._target()
            second = next(i for i in g.vocab.items if i.keyword == first.keyword and i != first)
            slots.values["second"] = second
            others = unrelated_phrase(g, (first, second), 2)
            return a.context(g.task_list([first, second, *others], ref))
        case "pair" | "shown":
            items = [slots._target(), *slots._others(g.pick((1, 2, 3)) if pattern.context == "shown" else 1)]
            return a.context(g.task_list(items, ref))
    return {}


def _answer(
    pattern: Pattern, slots: _Slots, context: dict[str, Any]
) -> tuple[a.Answer, dict[str, list[Any]], list[str]]:
    kind, _, detail = pattern.action.partition(":")
    accept: dict[str, list[Any]] = {}
    notes: list[str] = []
    date = slots.date.date if slots.date else None
    time = slots.time.time if slots.time else None
    if slots.date is not None:
        notes.append(f"'{slots.date.bare}' -> {slots.date.date.isoformat()}")
    if slots.time is not None:
        notes.append(f"'{slots.time.text.removeprefix('at ')}' -> {slots.time.time}")
    priority = slots.priority if {"p", "pc", "pl"} & set(slots.values) else None
    if kind == "create":
        title = slots.created
        if title is None:
            raise ValueError(f"pattern {pattern.name}: a create needs a title slot")
        if slots.people:
            accept["title"] = [f"{title} with {join_names(slots.people)}"]
            notes.append("attendees in the order given")
        if priority:
            notes.append(f"priority {priority}")
        if time and not date:
            notes.append("a time with no date leaves due_date null")
        answer = a.create(title, priority=priority or "medium", due_date=date, due_time=time, attendees=slots.people)
        return answer, accept, [f"create '{title}'", *notes] + ([] if priority or date or time else ["defaults"])
    if kind == "list":
        return a.listing(detail), accept, [f"list, filter {detail}"]
    if kind == "clarify":
        return _clarify(detail, slots), accept, ["clarify"]
    title = slots.target_title or a.as_title(slots._target().words)
    if slots.target_title is None and not context:
        accept["title"] = [f"The {slots._target().words}"]
    if kind in ("complete", "delete"):
        return {"action": kind, "title": title}, accept, [f"{kind} '{title}'"]
    new_title = a.as_title(slots.values["n"]) if "n" in slots.values else slots.created
    answer = a.update(title, new_title=new_title, priority=priority, due_date=date, due_time=time)
    changed = [key for key in ("new_title", "priority", "due_date", "due_time") if key in answer]
    return answer, accept, [f"update '{title}': {', '.join(changed)} only", *notes]


def _clarify(detail: str, slots: _Slots) -> a.Answer:
    question = QUESTIONS[detail]
    if detail in ("keep", "leave"):
        question = question.format(the=f"the {slots._target().words}")
    elif detail == "none":
        question = question.format(k=slots.value("k"))
    elif detail == "several":
        second = slots.values["second"]
        question = question.format(k=slots.value("k"), a=a.as_title(slots._target().words), b=a.as_title(second.words))
    return a.clarify(question)
