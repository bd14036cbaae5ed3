"""taskbench.results.episodes: the episode numbers of results.json and the failed episodes the reports show."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from synthetic_results import synthetic_episode

from taskbench.data.capabilities import LEVELS
from taskbench.results import stats
from taskbench.results.episodes import episodes_section, failed_episodes


def episode(
    episode_id: str, level: str, template: str, turns: list[bool], passed: bool | None = None
) -> dict[str, Any]:
    """An episode whose turns pass as given; the state goes wrong at the first failed turn and stays wrong."""
    wrong = next((number for number, ok in enumerate(turns, start=1) if not ok), None)
    records = [
        {
            "number": number,
            "user": f"turn {number}",
            "capability": "action_recognition",
            "expected": {"action": "list", "filter": "all"},
            "output": "{}" if not ok else '{"action": "list", "filter": "all"}',
            "score": float(ok),
            "passed": ok,
            "failure": "none" if ok else "wrong_action",
            "explanation": "",
            "state_ok": wrong is None or number < wrong,
            "state_diff": [] if wrong is None or number < wrong else [f"diff after {number}"],
        }
        for number, ok in enumerate(turns, start=1)
    ]
    return {
        "id": episode_id,
        "level": level,
        "template": template,
        "mode": "realistic",
        "passed": wrong is None if passed is None else passed,
        "turns": records,
        "first_wrong_turn": wrong,
        "how": [] if wrong is None else [f"diff after {wrong}"],
        "final_diff": [] if wrong is None else [f"diff after {len(turns)}"],
    }


def test_no_episodes_means_no_section() -> None:
    assert episodes_section([], [], "realistic") is None


def test_the_numbers_of_a_small_run() -> None:
    records = [
        episode("ep-simple-002", "simple", "t1", [True, True]),
        episode("ep-simple-001", "simple", "t1", [True, False, True]),
        episode("ep-complex-001", "complex", "t2", [False, True]),
        episode("ep-complex-002", "complex", "t3", [True, True, True]),
    ]
    errors = [
        {"id": "ep-simple-009", "level": "simple", "template": "t1", "message": "boom"},
        {"id": "ep-adversarial-001", "level": "adversarial", "template": "t4", "message": "boom"},
    ]
    section = episodes_section(records, errors, "teacher_forcing")
    assert section is not None
    # Errored episodes are apart: neither in the denominator nor a level of their own.
    assert (section["episodes"], section["passed"], section["errored"]) == (4, 2, 2)
    assert section["pass_rate"] == 0.5
    assert (section["turns"], section["turns_passed"]) == (10, 8)
    assert section["turn_accuracy"] == pytest.approx(0.8)
    expected = stats.pass_rate_ci([False, True, False, True], ["t2", "t3", "t1", "t1"])
    assert (section["ci_low"], section["ci_high"]) == pytest.approx((expected.low, expected.high))
    assert list(section["by_level"]) == ["simple", "complex"]
    simple = section["by_level"]["simple"]
    assert (simple["episodes"], simple["passed"], simple["pass_rate"]) == (2, 1, 0.5)
    assert [r["id"] for r in section["items"]] == sorted(r["id"] for r in records)
    assert [e["id"] for e in section["errors"]] == ["ep-adversarial-001", "ep-simple-009"]
    assert section["mode"] == "teacher_forcing"


def test_a_run_whose_every_episode_errored_has_no_rate() -> None:
    section = episodes_section([], [{"id": "e", "level": "simple", "template": "t", "message": "m"}], "realistic")
    assert section is not None
    assert (section["episodes"], section["errored"], section["by_level"]) == (0, 1, {})
    assert section["pass_rate"] is section["ci_low"] is section["turn_accuracy"] is None


def test_failed_episodes_name_the_first_wrong_turn_and_how() -> None:
    records = [
        episode("ep-a", "simple", "t", [True, False, False]),
        episode("ep-b", "simple", "t", [True]),
        # Every turn left the right list, yet the final list differs (teacher forcing): shown as "final".
        episode("ep-c", "simple", "t", [True, True], passed=False) | {"final_diff": ["task 'x' is missing"]},
    ]
    section = episodes_section(records, [], "realistic")
    assert section is not None
    failed = section["failed"]
    assert failed == failed_episodes(records)
    assert [row["id"] for row in failed] == ["ep-a", "ep-c"]
    assert failed[0]["turn"]["number"] == 2 and failed[0]["turn"]["user"] == "turn 2"
    assert failed[0]["how"] == ["diff after 2"]
    assert failed[1]["turn"] is None and failed[1]["how"] == ["task 'x' is missing"]


@given(
    st.lists(
        st.tuples(st.sampled_from(LEVELS), st.integers(0, 3), st.lists(st.booleans(), min_size=1, max_size=4)),
        max_size=40,
    ),
    st.integers(0, 3),
)
def test_rates_lie_in_their_intervals_and_levels_add_up(drawn: list[tuple[str, int, list[bool]]], errored: int) -> None:
    records = [episode(f"ep-{i:03d}", level, f"t{t}", turns) for i, (level, t, turns) in enumerate(drawn)]
    errors = [{"id": f"err-{i}", "level": "simple", "template": "t0", "message": "m"} for i in range(errored)]
    section = episodes_section(records, errors, "realistic")
    if not records and not errors:
        assert section is None
        return
    assert section is not None
    for cell in (section, *section["by_level"].values()):
        if cell["episodes"]:
            assert cell["ci_low"] <= cell["pass_rate"] <= cell["ci_high"]
            assert cell["pass_rate"] == cell["passed"] / cell["episodes"]
    assert sum(c["episodes"] for c in section["by_level"].values()) == section["episodes"] == len(records)
    assert sum(c["passed"] for c in section["by_level"].values()) == section["passed"]
    assert section["errored"] == errored
    assert section["turns_passed"] <= section["turns"]


def test_the_synthetic_episodes_are_consistent() -> None:
    for index in range(30):
        record = synthetic_episode(index, seed=1, k=3)
        wrong = record["first_wrong_turn"]
        assert record["passed"] == (wrong is None) == record["samples"][0]["passed"]
        if wrong is not None:
            assert not record["turns"][wrong - 1]["state_ok"] and record["how"]
