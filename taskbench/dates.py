"""The contract's date and time rules (docs/contract.md), both ways: render a phrase for a date form
against a reference date, and resolve a phrase back to the date or time it means.

Weeks start on Monday. "Friday", "on/by/this Friday" mean the first Friday strictly after the
reference date; "next Friday" is the Friday of the next calendar week.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = tuple(calendar.month_name[1:])
MONTH_ABBREVIATIONS = tuple(calendar.month_abbr[1:])
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


class DateForm(StrEnum):
    TODAY = "today"
    TONIGHT = "tonight"
    TOMORROW = "tomorrow"
    YESTERDAY = "yesterday"
    WEEKDAY = "weekday"  # "Friday", "on Friday", "by Friday"
    THIS_WEEKDAY = "this_weekday"
    NEXT_WEEKDAY = "next_weekday"
    NEXT_WEEK = "next_week"
    IN_DAYS = "in_days"
    IN_WEEKS = "in_weeks"
    END_OF_MONTH = "end_of_month"
    MONTH_DAY = "month_day"  # "December 3"
    MONTH_ABBR_ORDINAL = "month_abbr_ordinal"  # "Dec 3rd"
    DAY_MONTH = "day_month"  # "3 December"
    ISO = "iso"


class TimeForm(StrEnum):
    HOUR_AMPM = "hour_ampm"  # "3pm"
    HOUR_MINUTE_AMPM = "hour_minute_ampm"  # "9:30am"
    HOUR_MINUTE_24 = "hour_minute_24"  # "17:45"
    NOON = "noon"
    MIDNIGHT = "midnight"
    TWELVE_PM = "twelve_pm"
    TWELVE_AM = "twelve_am"


@dataclass(frozen=True)
class DatePhrase:
    """`bare` is the expression itself ("Friday", "the end of the month"); `text` adds the lead a
    deadline takes in a sentence ("by Friday", "by the end of the month"). Both resolve to `date`."""

    form: DateForm
    bare: str
    text: str
    date: dt.date


@dataclass(frozen=True)
class TimePhrase:
    form: TimeForm
    text: str  # "at 3pm"
    time: str  # "15:00"


def coming_weekday(ref: dt.date, weekday: int) -> dt.date:
    """The first `weekday` (0 = Monday) strictly after `ref`: 1 to 7 days ahead."""
    return ref + dt.timedelta(days=(weekday - ref.weekday() - 1) % 7 + 1)


def next_week_start(ref: dt.date) -> dt.date:
    """Monday of the calendar week after the one holding `ref`."""
    return ref + dt.timedelta(days=7 - ref.weekday())


def weekday_next_week(ref: dt.date, weekday: int) -> dt.date:
    return next_week_start(ref) + dt.timedelta(days=weekday)


def end_of_month(ref: dt.date) -> dt.date:
    return ref.replace(day=calendar.monthrange(ref.year, ref.month)[1])


def month_day_from(ref: dt.date, month: int, day: int) -> dt.date:
    """That day in the reference year if not before `ref`, else in the next year.
    ValueError when the day does not exist in the year it lands in (29 February)."""
    this_year = _date_or_none(ref.year, month, day)
    if this_year is not None and this_year >= ref:
        return this_year
    return dt.date(ref.year + 1, month, day)


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def render_date(form: DateForm, ref: dt.date, rng: random.Random) -> DatePhrase:
    """A phrase of `form` and the date it resolves to against `ref`; `rng` picks the free parts
    (which weekday, how many days, which month day, which lead)."""
    bare, date = _render_bare(form, ref, rng)
    lead = rng.choice(_LEADS[form])
    return DatePhrase(form, bare, f"{lead} {bare}" if lead else bare, date)


def _render_bare(form: DateForm, ref: dt.date, rng: random.Random) -> tuple[str, dt.date]:
    match form:
        case DateForm.TODAY | DateForm.TONIGHT:
            return form.value, ref
        case DateForm.TOMORROW:
            return "tomorrow", ref + dt.timedelta(days=1)
        case DateForm.YESTERDAY:
            return "yesterday", ref - dt.timedelta(days=1)
        case DateForm.WEEKDAY | DateForm.THIS_WEEKDAY:
            weekday = rng.randrange(7)
            prefix = "this " if form is DateForm.THIS_WEEKDAY else ""
            return prefix + WEEKDAYS[weekday], coming_weekday(ref, weekday)
        case DateForm.NEXT_WEEKDAY:
            weekday = rng.randrange(7)
            return f"next {WEEKDAYS[weekday]}", weekday_next_week(ref, weekday)
        case DateForm.NEXT_WEEK:
            return "next week", next_week_start(ref)
        case DateForm.IN_DAYS:
            days = rng.randrange(2, 11)
            return f"in {_count(days, rng)} days", ref + dt.timedelta(days=days)
        case DateForm.IN_WEEKS:
            weeks = rng.randrange(1, 5)
            word = "a week" if weeks == 1 else f"{_count(weeks, rng)} weeks"
            return f"in {word}", ref + dt.timedelta(weeks=weeks)
        case DateForm.END_OF_MONTH:
            return rng.choice(("end of month", "the end of the month", "end of the month")), end_of_month(ref)
        case DateForm.MONTH_DAY | DateForm.MONTH_ABBR_ORDINAL | DateForm.DAY_MONTH:
            date = _random_month_day(ref, rng)
            return _month_day_text(form, date.month, date.day), date
        case DateForm.ISO:
            date = ref + dt.timedelta(days=rng.randrange(0, 120))
            return date.isoformat(), date
    raise ValueError(f"unknown date form {form!r}")


def _count(number: int, rng: random.Random) -> str:
    return _NUMBER_WORDS[number] if rng.random() < 0.3 else str(number)


def _random_month_day(ref: dt.date, rng: random.Random) -> dt.date:
    # Any day of the coming year: days earlier in the calendar than `ref` land in the next year.
    return ref + dt.timedelta(days=rng.randrange(0, 365))


def _month_day_text(form: DateForm, month: int, day: int) -> str:
    if form is DateForm.MONTH_ABBR_ORDINAL:
        return f"{MONTH_ABBREVIATIONS[month - 1]} {ordinal(day)}"
    if form is DateForm.DAY_MONTH:
        return f"{day} {MONTHS[month - 1]}"
    return f"{MONTHS[month - 1]} {day}"


# The words a deadline may take before each form in a sentence ("" = none).
_LEADS: Mapping[DateForm, tuple[str, ...]] = MappingProxyType(
    {
        DateForm.TODAY: ("", "due", "by the end of"),
        DateForm.TONIGHT: ("",),
        DateForm.TOMORROW: ("", "due", "by"),
        DateForm.YESTERDAY: ("", "due"),
        DateForm.WEEKDAY: ("", "on", "by", "due"),
        DateForm.THIS_WEEKDAY: ("", "by"),
        DateForm.NEXT_WEEKDAY: ("", "by", "due"),
        DateForm.NEXT_WEEK: ("", "due"),
        DateForm.IN_DAYS: ("", "due"),
        DateForm.IN_WEEKS: ("", "due"),
        DateForm.END_OF_MONTH: ("by", "at"),
        DateForm.MONTH_DAY: ("on", "by", "due"),
        DateForm.MONTH_ABBR_ORDINAL: ("on", "by"),
        DateForm.DAY_MONTH: ("on", "by"),
        DateForm.ISO: ("on", "by", "due"),
    }
)

_LEAD_RE = re.compile(r"^(?:by the end of(?= today)|due on|due by|due|on|by|at|for|to|until)\s+", re.IGNORECASE)
_MONTH_INDEX: Mapping[str, int] = MappingProxyType(
    {name.lower(): i for i, name in enumerate(MONTHS, start=1)}
    | {abbr.lower(): i for i, abbr in enumerate(MONTH_ABBREVIATIONS, start=1)}
    | {"sept": 9}
)
_WEEKDAY_INDEX: Mapping[str, int] = MappingProxyType({name.lower(): i for i, name in enumerate(WEEKDAYS)})
_COUNT = r"(\d+|a|an|" + "|".join(_NUMBER_WORDS[1:]) + ")"
_MONTH = "(" + "|".join(sorted(_MONTH_INDEX, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"


def resolve_date(phrase: str, ref: dt.date) -> dt.date:
    """The date a phrase of the contract's table means against `ref`, with or without a lead
    ("by", "on", "due"...). ValueError names the phrase when it is none of the table's forms."""
    text = _LEAD_RE.sub("", phrase.strip().rstrip(".").lower()).strip()
    text = re.sub(r"\s+", " ", text)
    if text in ("today", "tonight"):
        return ref
    if text == "tomorrow":
        return ref + dt.timedelta(days=1)
    if text == "yesterday":
        return ref - dt.timedelta(days=1)
    if text == "next week":
        return next_week_start(ref)
    if text in ("end of month", "end of the month", "the end of the month"):
        return end_of_month(ref)
    if match := re.fullmatch(r"(this |next )?(\w+)", text):
        prefix, name = match.groups()
        if name in _WEEKDAY_INDEX:
            weekday = _WEEKDAY_INDEX[name]
            return weekday_next_week(ref, weekday) if prefix == "next " else coming_weekday(ref, weekday)
    if match := re.fullmatch(rf"in {_COUNT} (day|week)s?", text):
        count = _parse_count(match.group(1))
        return ref + dt.timedelta(days=count * (7 if match.group(2) == "week" else 1))
    if match := re.fullmatch(rf"{_MONTH} {_DAY}", text):
        return month_day_from(ref, _MONTH_INDEX[match.group(1)], int(match.group(2)))
    if match := re.fullmatch(rf"(?:the )?{_DAY}(?: of)? {_MONTH}", text):
        return month_day_from(ref, _MONTH_INDEX[match.group(2)], int(match.group(1)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.date.fromisoformat(text)
    raise ValueError(f"{phrase!r} is not a date expression of the contract")


def _parse_count(word: str) -> int:
    if word.isdigit():
        return int(word)
    return 1 if word in ("a", "an") else _NUMBER_WORDS.index(word)


def render_time(form: TimeForm, rng: random.Random) -> TimePhrase:
    """A time phrase of `form` ("at 3pm") and its 24-hour `HH:MM`."""
    match form:
        case TimeForm.HOUR_AMPM:
            hour, half = rng.randrange(1, 12), rng.choice(("am", "pm"))
            text, time = f"{hour}{half}", _clock(hour + (12 if half == "pm" else 0), 0)
        case TimeForm.HOUR_MINUTE_AMPM:
            hour, minute, half = rng.randrange(1, 13), rng.choice((15, 30, 45, 5, 20)), rng.choice(("am", "pm"))
            text, time = f"{hour}:{minute:02d}{half}", _clock(hour % 12 + (12 if half == "pm" else 0), minute)
        case TimeForm.HOUR_MINUTE_24:
            hour, minute = rng.randrange(13, 24), rng.choice((0, 15, 30, 45, 10))
            text, time = f"{hour}:{minute:02d}", _clock(hour, minute)
        case TimeForm.NOON:
            text, time = "noon", "12:00"
        case TimeForm.MIDNIGHT:
            text, time = "midnight", "00:00"
        case TimeForm.TWELVE_PM:
            text, time = "12pm", "12:00"
        case TimeForm.TWELVE_AM:
            text, time = "12am", "00:00"
        case _:
            raise ValueError(f"unknown time form {form!r}")
    return TimePhrase(form, f"at {text}", time)


def resolve_time(phrase: str) -> str:
    """`HH:MM` (24 h) for a time phrase of the contract ("at 3pm", "9:30am", "17:45", "noon")."""
    text = re.sub(r"^at\s+", "", phrase.strip().lower()).replace(" ", "").replace(".", "")
    if text == "noon":
        return "12:00"
    if text == "midnight":
        return "00:00"
    if match := re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)", text):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if 1 <= hour <= 12 and minute < 60:
            return _clock(hour % 12 + (12 if match.group(3) == "pm" else 0), minute)
    if match := re.fullmatch(r"(\d{1,2}):(\d{2})", text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return _clock(hour, minute)
    raise ValueError(f"{phrase!r} is not a time expression of the contract")


def _clock(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
