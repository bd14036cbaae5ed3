"""The contract's date and time rules, rendered and resolved (taskbench.dates)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from taskbench.dates import (
    WEEKDAYS,
    DateForm,
    TimeForm,
    coming_weekday,
    month_day_from,
    next_week_start,
    ordinal,
    render_date,
    render_time,
    resolve_date,
    resolve_time,
)

# Several years, including the 2028 leap year and the year ends around the benchmark's range.
reference_dates = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2032, 12, 31))
weekdays = st.integers(min_value=0, max_value=6)
seeds = st.integers(min_value=0, max_value=2**32)

# The table of docs/contract.md, for Tuesday 2026-11-24.
CONTRACT_TABLE = [
    ("today", "2026-11-24"),
    ("tonight", "2026-11-24"),
    ("tomorrow", "2026-11-25"),
    ("yesterday", "2026-11-23"),
    ("Friday", "2026-11-27"),
    ("on Friday", "2026-11-27"),
    ("by Friday", "2026-11-27"),
    ("this Friday", "2026-11-27"),
    ("next Tuesday", "2026-12-01"),
    ("next Friday", "2026-12-04"),
    ("next week", "2026-11-30"),
    ("in 3 days", "2026-11-27"),
    ("in 2 weeks", "2026-12-08"),
    ("end of month", "2026-11-30"),
    ("end of the month", "2026-11-30"),
    ("December 3", "2026-12-03"),
    ("Dec 3rd", "2026-12-03"),
    ("3 December", "2026-12-03"),
    ("2026-12-03", "2026-12-03"),
]


@pytest.mark.parametrize(("phrase", "expected"), CONTRACT_TABLE)
def test_contract_table(phrase: str, expected: str) -> None:
    assert resolve_date(phrase, dt.date(2026, 11, 24)).isoformat() == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("at 3pm", "15:00"),
        ("at 9:30am", "09:30"),
        ("at 17:45", "17:45"),
        ("at noon", "12:00"),
        ("at 12pm", "12:00"),
        ("at midnight", "00:00"),
        ("at 12am", "00:00"),
        ("12:30am", "00:30"),
        ("at 3 PM", "15:00"),
    ],
)
def test_contract_times(phrase: str, expected: str) -> None:
    assert resolve_time(phrase) == expected


@given(ref=reference_dates, weekday=weekdays)
@example(ref=dt.date(2026, 11, 27), weekday=4)  # "by Friday" said on a Friday
def test_by_weekday_is_one_to_seven_days_ahead_on_that_weekday(ref: dt.date, weekday: int) -> None:
    for phrase in (WEEKDAYS[weekday], f"by {WEEKDAYS[weekday]}", f"this {WEEKDAYS[weekday]}"):
        resolved = resolve_date(phrase, ref)
        assert 1 <= (resolved - ref).days <= 7
        assert resolved.weekday() == weekday


@given(ref=reference_dates, weekday=weekdays)
@example(ref=dt.date(2026, 11, 29), weekday=0)  # Sunday: next Monday is the next day
@example(ref=dt.date(2026, 11, 30), weekday=6)  # Monday: next Sunday is 13 days ahead
def test_next_weekday_is_in_the_next_monday_started_week(ref: dt.date, weekday: int) -> None:
    resolved = resolve_date(f"next {WEEKDAYS[weekday]}", ref)
    monday_this_week = ref - dt.timedelta(days=ref.weekday())
    assert resolved.weekday() == weekday
    assert monday_this_week + dt.timedelta(days=7) <= resolved <= monday_this_week + dt.timedelta(days=13)


@given(ref=reference_dates)
@example(ref=dt.date(2026, 12, 27))
def test_next_week_is_the_coming_monday(ref: dt.date) -> None:
    start = resolve_date("next week", ref)
    assert start == next_week_start(ref)
    assert start.weekday() == 0
    assert 1 <= (start - ref).days <= 7


@given(ref=reference_dates)
@example(ref=dt.date(2028, 2, 10))
@example(ref=dt.date(2027, 2, 28))
@example(ref=dt.date(2026, 12, 31))
def test_end_of_month_is_the_last_day_of_the_reference_month(ref: dt.date) -> None:
    last = resolve_date("end of the month", ref)
    assert (last.year, last.month) == (ref.year, ref.month)
    assert (last + dt.timedelta(days=1)).day == 1
    assert last >= ref


@given(ref=reference_dates)
@example(ref=dt.date(2028, 2, 28))
@example(ref=dt.date(2026, 12, 31))
@example(ref=dt.date(2027, 1, 1))
def test_tomorrow_and_yesterday_cross_month_and_year_ends(ref: dt.date) -> None:
    assert resolve_date("tomorrow", ref) - ref == dt.timedelta(days=1)
    assert ref - resolve_date("yesterday", ref) == dt.timedelta(days=1)
    assert resolve_date("today", ref) == resolve_date("tonight", ref) == ref


def test_leap_day_examples() -> None:
    assert resolve_date("tomorrow", dt.date(2028, 2, 28)) == dt.date(2028, 2, 29)
    assert resolve_date("tomorrow", dt.date(2027, 2, 28)) == dt.date(2027, 3, 1)
    assert resolve_date("end of month", dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)


@given(ref=reference_dates, month=st.integers(1, 12), day=st.integers(1, 31))
@example(ref=dt.date(2026, 12, 31), month=12, day=31)
@example(ref=dt.date(2027, 12, 31), month=1, day=1)
@example(ref=dt.date(2027, 3, 1), month=2, day=29)
def test_month_day_is_this_year_unless_past_then_next_year(ref: dt.date, month: int, day: int) -> None:
    try:
        resolved = month_day_from(ref, month, day)
    except ValueError:
        return  # 31 April, or 29 February landing in a common year: no such day
    assert (resolved.month, resolved.day) == (month, day)
    assert dt.timedelta(0) <= resolved - ref < dt.timedelta(days=366)
    try:
        this_year = dt.date(ref.year, month, day)
    except ValueError:
        this_year = None
    assert resolved.year == (ref.year if this_year is not None and this_year >= ref else ref.year + 1)


@given(ref=reference_dates, n=st.integers(1, 10))
def test_in_n_days_and_weeks(ref: dt.date, n: int) -> None:
    assert resolve_date(f"in {n} days", ref) == ref + dt.timedelta(days=n)
    assert resolve_date(f"in {n} weeks", ref) == ref + dt.timedelta(weeks=n)


@given(ref=reference_dates, form=st.sampled_from(DateForm), seed=seeds)
@example(ref=dt.date(2028, 2, 28), form=DateForm.TOMORROW, seed=0)
@example(ref=dt.date(2026, 12, 31), form=DateForm.MONTH_DAY, seed=1)
def test_rendered_phrases_resolve_to_their_date(ref: dt.date, form: DateForm, seed: int) -> None:
    phrase = render_date(form, ref, random.Random(seed))
    assert phrase.form is form
    assert resolve_date(phrase.text, ref) == phrase.date
    assert resolve_date(phrase.bare, ref) == phrase.date
    assert phrase.text.endswith(phrase.bare)


@given(form=st.sampled_from(TimeForm), seed=seeds)
def test_rendered_times_resolve_to_their_time(form: TimeForm, seed: int) -> None:
    phrase = render_time(form, random.Random(seed))
    assert resolve_time(phrase.text) == phrase.time
    hour, minute = map(int, phrase.time.split(":"))
    assert 0 <= hour < 24 and 0 <= minute < 60


@given(hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_twelve_hour_and_twenty_four_hour_forms_agree(hour: int, minute: int) -> None:
    twelve = f"{hour % 12 or 12}:{minute:02d}{'am' if hour < 12 else 'pm'}"
    assert resolve_time(twelve) == resolve_time(f"{hour}:{minute:02d}") == f"{hour:02d}:{minute:02d}"


@given(ref=reference_dates, weekday=weekdays)
def test_coming_weekday_is_the_first_strictly_after(ref: dt.date, weekday: int) -> None:
    resolved = coming_weekday(ref, weekday)
    between = [ref + dt.timedelta(days=d) for d in range(1, (resolved - ref).days)]
    assert all(day.weekday() != weekday for day in between)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (31, "31st"),
    ],
)
def test_ordinal(day: int, text: str) -> None:
    assert ordinal(day) == text


@pytest.mark.parametrize("phrase", ["someday", "next fortnight", "31st of Smarch", ""])
def test_unknown_date_phrase_is_a_clear_error(phrase: str) -> None:
    with pytest.raises(ValueError, match="not a date expression"):
        resolve_date(phrase, dt.date(2026, 11, 24))


@pytest.mark.parametrize("phrase", ["at 25:00", "13pm", "at teatime", "0am"])
def test_unknown_time_phrase_is_a_clear_error(phrase: str) -> None:
    with pytest.raises(ValueError, match="not a time expression"):
        resolve_time(phrase)
