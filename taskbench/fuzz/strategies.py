"""Requests built from their parts, with their expected answers: small Hypothesis strategies, one per part.

A request is a `Spec` (what the user wants: action, title words, priority, dates, people) rendered
with a `Phrasing` (which words say it). Both are drawn part by part through Hypothesis, so a failing
request shrinks part by part: towards a create, the first chore, no entities, the canonical wording.
Words, phrasings and date rules come from the case generator (taskbench.datagen, taskbench.dates).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st

from taskbench.datagen import answers as a
from taskbench.datagen.templates import (
    COMPLETE_EXPLICIT,
    COMPLETE_IMPLICIT,
    CREATE_EXPLICIT,
    CREATE_IMPLICIT,
    DELETE_EXPLICIT,
    DELETE_IMPLICIT,
    FIRST_REFERENCE_DATE,
    IMPERATIVE_CLOSINGS,
    IMPERATIVE_OPENINGS,
    LAST_REFERENCE_DATE,
    LIST_EXPLICIT,
    LIST_IMPLICIT,
    MOVE_VERBS,
    PRIORITY_CHANGES,
    PRIORITY_SUFFIXES,
    PRIORITY_WORDS,
    UPDATE_DATE_FORMS,
    join_names,
)
from taskbench.datagen.vocab import EVAL
from taskbench.dates import DateForm, DatePhrase, TimeForm, TimePhrase, render_date, render_time
from taskbench.fuzz.trials import Probe

ACTIONS = ("create", "complete", "delete", "update", "list")
# Synonyms beyond the generator's phrasings: the wordings the issue names ("tick off", "finish").
EXTRA_VERBS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "complete": ("tick off {i}", "cross {i} off my list", "{i}: finished", "finished {i}, tick it off"),
        "delete": ("bin {i}", "take {i} off the list", "axe {i}"),
        "create": ("put '{t}' on my list", "jot down: {t}", "could you add {t} to my to-dos"),
    }
)
# The wordings of each action, canonical first: the paraphrase family swaps one for another.
LEXICON: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "create": (*CREATE_EXPLICIT, *CREATE_IMPLICIT, *EXTRA_VERBS["create"]),
        "complete": (*COMPLETE_EXPLICIT, *COMPLETE_IMPLICIT, *EXTRA_VERBS["complete"]),
        "delete": (*DELETE_EXPLICIT, *DELETE_IMPLICIT, *EXTRA_VERBS["delete"]),
        "update_priority": PRIORITY_CHANGES,
        "update_date": MOVE_VERBS,
    }
)
# Code-switched and foreign wordings around English titles (the multilingual family).
FOREIGN_LEXICON: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "create": (
            "crea una tarea para {t}",
            "recuérdame {t}",
            "ajoute une tâche : {t}",
            "erstelle eine Aufgabe: {t}",
            "porfa add a task to {t}",
            "bitte remind me to {t}",
        ),
        "complete": (
            "marca {i} como hecha",
            "marque {i} comme terminée",
            "markiere {i} als erledigt",
            "ya terminé {i}, mark it done",
        ),
        "delete": ("borra {i}", "supprime {i}", "lösche {i}", "please borra {i}"),
    }
)
POLITE_OPENINGS = (
    *(o for o in IMPERATIVE_OPENINGS if o),
    "if it's not too much trouble, ",
    "when you get a chance, ",
    "hi there! quick one: ",
)
POLITE_CLOSINGS = (*(c for c in IMPERATIVE_CLOSINGS if c), " - thanks so much!", ", cheers", " when you can")
PRIORITIES = ("high", "urgent", "low")


@dataclass(frozen=True)
class Spec:
    """What the user asks for. `words` is the chore (create) or the list item (complete, delete,
    update); `date.bare` is used after "move ... to", `date.text` in a create."""

    action: str
    reference_date: dt.date
    words: str = ""
    priority: str | None = None
    date: DatePhrase | None = None
    time: TimePhrase | None = None
    people: tuple[str, ...] = ()
    filter: str = "all"


@dataclass(frozen=True)
class Phrasing:
    """Which words say a Spec: indices wrap around their lexicon, so any integer is a valid choice."""

    verb: int = 0
    priority: int = 0
    date_first: bool = False
    opening: str = ""
    closing: str = ""


def render(spec: Spec, phrasing: Phrasing = Phrasing(), lexicon: Mapping[str, Sequence[str]] = LEXICON) -> Probe:
    """The request a user would type for `spec`, and its expected answer."""
    ref = spec.reference_date.isoformat()
    if spec.action == "list":
        wordings = LIST_EXPLICIT[spec.filter] + LIST_IMPLICIT[spec.filter]
        text = _pick(wordings, phrasing.verb)
        return Probe(phrasing.opening + text + phrasing.closing, ref, a.listing(spec.filter))
    title = a.as_title(spec.words)
    if spec.action == "create":
        return _render_create(spec, phrasing, lexicon, ref)
    the_item = f"the {spec.words}"
    accept = {"title": [f"The {spec.words}"]}
    if spec.action == "update" and spec.priority is not None:
        words = _pick(PRIORITY_WORDS[spec.priority], phrasing.priority)
        text = _pick(lexicon["update_priority"], phrasing.verb).format(i=the_item, p=words)
        expected = a.update(title, priority=spec.priority)
    elif spec.action == "update" and spec.date is not None:
        text = _pick(lexicon["update_date"], phrasing.verb).format(i=the_item, d=spec.date.bare)
        expected = a.update(title, due_date=spec.date.date)
    else:
        text = _pick(lexicon[spec.action], phrasing.verb).format(i=the_item)
        expected = a.complete(title) if spec.action == "complete" else a.delete(title)
    return Probe(phrasing.opening + text + phrasing.closing, ref, expected, (spec.words,), accept)


def _render_create(spec: Spec, phrasing: Phrasing, lexicon: Mapping[str, Sequence[str]], ref: str) -> Probe:
    text = _pick(lexicon["create"], phrasing.verb).format(t=spec.words)
    if spec.people:
        text += " with " + join_names(spec.people)
    when = " ".join(p.text for p in (spec.date, spec.time) if p is not None)
    if when:
        text = f"{when}: {text}" if phrasing.date_first else f"{text} {when}"
    if spec.priority is not None:
        text += _pick(PRIORITY_SUFFIXES[spec.priority], phrasing.priority)
    title = a.as_title(spec.words)
    expected = a.create(
        title,
        priority=spec.priority or "medium",
        due_date=spec.date.date if spec.date else None,
        due_time=spec.time.time if spec.time else None,
        attendees=spec.people,
    )
    accept = {"title": [f"{title} with {join_names(spec.people)}"]} if spec.people else None
    return Probe(phrasing.opening + text + phrasing.closing, ref, expected, (spec.words, *spec.people), accept)


def _pick(options: Sequence[str], index: int) -> str:
    return options[index % len(options)]


# --- parts ------------------------------------------------------------------------------------------


@cache
def reference_dates() -> st.SearchStrategy[dt.date]:
    return st.dates(FIRST_REFERENCE_DATE, LAST_REFERENCE_DATE)


@cache
def chores() -> st.SearchStrategy[str]:
    return st.sampled_from(EVAL.chores)


@cache
def list_items() -> st.SearchStrategy[str]:
    return st.sampled_from([item.words for item in EVAL.items])


@cache
def priorities() -> st.SearchStrategy[str]:
    return st.sampled_from(PRIORITIES)


@cache
def people() -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(EVAL.people), min_size=1, max_size=3, unique=True).map(tuple)


@cache
def filters() -> st.SearchStrategy[str]:
    return st.sampled_from(tuple(LIST_EXPLICIT))


@st.composite
def date_phrases(draw: st.DrawFn, ref: dt.date, forms: Sequence[DateForm] = tuple(DateForm)) -> DatePhrase:
    """A deadline in one of the contract's forms, resolved against `ref` by taskbench.dates."""
    return render_date(draw(_sampled(tuple(forms))), ref, random.Random(draw(_seeds())))


@cache
def _sampled(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    # Strategies built once: drawing from a fresh one per example costs more than the draw itself.
    return st.sampled_from(options)


@cache
def time_phrases() -> st.SearchStrategy[TimePhrase]:
    return st.builds(lambda form, seed: render_time(form, random.Random(seed)), st.sampled_from(TimeForm), _seeds())


@cache
def _seeds() -> st.SearchStrategy[int]:
    # The free parts of a phrase (which weekday, how many days) come from the generator's own rules.
    return st.integers(0, 2**16)


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy[Any], present: bool | None = None) -> Any:
    """A value of `strategy` or None (what it shrinks to); `present` forces one or the other."""
    return draw(strategy) if (draw(st.booleans()) if present is None else present) else None


# --- specs -------------------------------------------------------------------------------------------


@cache
@st.composite
def create_specs(draw: st.DrawFn, *, dated: bool | None = None) -> Spec:
    """A create with any subset of the entities; `dated` forces a date on (True) or off (False)."""
    ref = draw(reference_dates())
    return Spec(
        "create",
        ref,
        draw(chores()),
        priority=_maybe(draw, priorities()),
        date=_maybe(draw, date_phrases(ref), dated),
        time=_maybe(draw, time_phrases()),
        people=_maybe(draw, people()) or (),
    )


@cache
@st.composite
def item_specs(draw: st.DrawFn, action: str) -> Spec:
    """A complete or delete of one named list item."""
    return Spec(action, draw(reference_dates()), draw(list_items()))


@cache
@st.composite
def update_specs(draw: st.DrawFn) -> Spec:
    ref = draw(reference_dates())
    words = draw(list_items())
    if draw(st.booleans()):
        return Spec("update", ref, words, date=draw(date_phrases(ref, UPDATE_DATE_FORMS)))
    return Spec("update", ref, words, priority=draw(priorities()))


@cache
def list_specs() -> st.SearchStrategy[Spec]:
    return st.builds(lambda ref, filter_: Spec("list", ref, filter=filter_), reference_dates(), filters())


@cache
def specs() -> st.SearchStrategy[Spec]:
    """Any single-action request; shrinks towards a create."""
    return st.one_of(create_specs(), item_specs("complete"), item_specs("delete"), update_specs(), list_specs())


@cache
def phrasings() -> st.SearchStrategy[Phrasing]:
    return st.builds(
        Phrasing,
        verb=st.integers(0, 40),
        priority=st.integers(0, 5),
        date_first=st.booleans(),
        opening=st.just("") | st.sampled_from(POLITE_OPENINGS),
        closing=st.just("") | st.sampled_from(POLITE_CLOSINGS),
    )


def probes(spec_strategy: st.SearchStrategy[Spec] | None = None) -> st.SearchStrategy[Probe]:
    """A rendered request with its expected answer."""
    return st.builds(render, spec_strategy if spec_strategy is not None else specs(), phrasings())
