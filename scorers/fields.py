"""Comparing one field of an answer with the expected value, the way a careful grader would.

- title, new_title: equal, or equal after NFKC, case-folding, turning punctuation and symbols into
  spaces and collapsing whitespace: full credit. One containing the other as whole words (both
  non-empty once normalised): half credit. Whole words, so "Call" is in "Call the dentist" but "all"
  is not.
- due_date: compared as calendar days (`date.fromisoformat`), so any ISO form of the same day matches.
- due_time: compared as (hour, minute), so "9:00" equals "09:00"; ":00" seconds are allowed.
- attendees: compared as a multiset of names, ignoring case, order and extra whitespace.
- anything else (priority, filter): equal JSON values of the same type.

A value the case lists in accept[field] earns exactly what the expected value would, through the
same normalisation.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from taskbench.scorers.render import show
from taskbench.scorers.types import Failure

TITLE_FIELDS = frozenset({"title", "new_title"})
_NOT_WORD = re.compile(r"[^\w\s]|_")
_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})(?::00)?\s*", re.ASCII)


class Verdict(StrEnum):
    MATCH = "match"
    ACCEPTED = "accepted_alternative"
    PARTIAL = "partial"
    MISSING = "missing"
    WRONG = "wrong"
    INVENTED = "invented"


@dataclass(frozen=True)
class FieldVerdict:
    """How one field of an answer compares with the case; `got` is None when the field is missing."""

    name: str
    verdict: Verdict
    credit: float
    expected: Any
    got: Any

    @property
    def failure(self) -> Failure:
        if self.verdict in (Verdict.MATCH, Verdict.ACCEPTED):
            return Failure.NONE
        if self.verdict is Verdict.MISSING:
            return Failure.MISSING_FIELD
        if self.verdict is Verdict.INVENTED:
            return Failure.INVENTED_FIELD
        return Failure.WRONG_FIELD

    def describe(self) -> str:
        if self.verdict is Verdict.MISSING:
            return f"{self.name} is missing (expected {show(self.expected)})"
        if self.verdict is Verdict.INVENTED:
            return f"{self.name} was not asked for, but the answer has {show(self.got)}"
        if self.verdict is Verdict.PARTIAL:
            return f"{self.name} {show(self.got)} only partly matches {show(self.expected)}"
        if self.verdict is Verdict.WRONG:
            return f"{self.name}: expected {show(self.expected)}, got {show(self.got)}"
        return f"{self.name} is right"


def judge_field(name: str, expected: Any, answer: Mapping[str, Any], alternatives: Sequence[Any] = ()) -> FieldVerdict:
    """Compare answer[name] with `expected` and the case's accepted alternatives for that field."""
    if name not in answer:
        return FieldVerdict(name, Verdict.MISSING, 0.0, expected, None)
    got = answer[name]
    credit = field_credit(name, expected, got)
    if credit == 1.0:
        return FieldVerdict(name, Verdict.MATCH, 1.0, expected, got)
    alternative_credits = [field_credit(name, alternative, got) for alternative in alternatives]
    if 1.0 in alternative_credits:
        return FieldVerdict(name, Verdict.ACCEPTED, 1.0, expected, got)
    best = max([credit, *alternative_credits])
    if best > 0.0:
        return FieldVerdict(name, Verdict.PARTIAL, best, expected, got)
    return FieldVerdict(name, Verdict.WRONG, 0.0, expected, got)


def field_credit(name: str, expected: Any, got: Any) -> float:
    """Credit in [0, 1] for `got` where `expected` is right, by the rules of the field `name`."""
    if name in TITLE_FIELDS:
        return title_credit(expected, got)
    if name == "due_date":
        same = _as_date(expected) is not None and _as_date(expected) == _as_date(got)
    elif name == "due_time":
        same = _as_time(expected) is not None and _as_time(expected) == _as_time(got)
    elif name == "attendees":
        same = _as_names(expected) is not None and _as_names(expected) == _as_names(got)
    else:
        same = False
    return 1.0 if same or _json_equal(expected, got) else 0.0


def normalise_title(title: str) -> str:
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def title_credit(expected: Any, got: Any) -> float:
    if not (isinstance(expected, str) and isinstance(got, str)):
        return 1.0 if _json_equal(expected, got) else 0.0
    if expected == got:
        return 1.0
    want, have = normalise_title(expected), normalise_title(got)
    if not (want and have):
        return 0.0
    if want == have:
        return 1.0
    # Padding with spaces makes containment whole-word.
    if f" {want} " in f" {have} " or f" {have} " in f" {want} ":
        return 0.5
    return 0.0


def _as_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _as_time(value: Any) -> tuple[int, int] | None:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    return (hour, minute) if hour < 24 and minute < 60 else None


def _as_names(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return None
    return sorted(" ".join(name.split()).casefold() for name in value)


def _json_equal(a: Any, b: Any) -> bool:
    # Same type too: in JSON, true is not 1 and 1 is not 1.0.
    return type(a) is type(b) and a == b
