"""Every date a date phrase can mean: the contract's reading first, then the ones a careful reader may
give instead. Cases list the others in `accept`, so a model is not marked wrong for a right answer.

- "this Friday" said on a Friday: the contract's first Friday strictly after today, or today itself.
- "next Monday" and "next week" said on a Sunday: the contract counts weeks from Monday, so tomorrow is
  already next week; counted from Sunday, as many calendars do, it is a week later.
- "at midnight" / "at 12am" with a date: 00:00 of that day, or the midnight that ends it (the next day).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from taskbench.dates import WEEKDAYS, resolve_date

_SUNDAY = 6
_THIS = re.compile(r"\bthis (" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)
_NEXT = re.compile(r"\bnext (week|" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)


def date_readings(phrase: str, ref: dt.date) -> tuple[dt.date, ...]:
    """The dates `phrase` may mean against `ref`, the contract's first; ValueError for no date phrase."""
    contract = resolve_date(phrase, ref)
    readings = [contract]
    if (match := _THIS.search(phrase)) and WEEKDAYS.index(match.group(1).capitalize()) == ref.weekday():
        readings.append(ref)
    if (match := _NEXT.search(phrase)) and ref.weekday() == _SUNDAY and match.group(1).lower() != "sunday":
        readings.append(contract + dt.timedelta(days=7))
    return tuple(readings)


def midnight_readings(day: dt.date) -> tuple[dt.date, ...]:
    """A deadline at midnight on `day`: its first minute, or the midnight that ends it."""
    return (day, day + dt.timedelta(days=1))


_MIDNIGHT = re.compile(r"\b(?:midnight|12\s?am)\b", re.IGNORECASE)


def other_readings(text: str, ref: dt.date, expected: Mapping[str, Any]) -> list[str]:
    """The due dates besides `expected`'s that the date phrases of `text` also allow, as ISO strings:
    each phrase whose contract reading is the expected date contributes its other readings."""
    due = expected.get("due_date")
    if not isinstance(due, str):
        return []
    day = dt.date.fromisoformat(due)
    found: list[dt.date] = []
    for match in (*_THIS.finditer(text), *_NEXT.finditer(text)):
        readings = date_readings(match.group(0), ref)
        if readings[0] == day:
            found += readings[1:]
    if expected.get("due_time") == "00:00" and _MIDNIGHT.search(text):
        found += midnight_readings(day)[1:]
    return sorted({d.isoformat() for d in found if d != day})
