"""taskbench.results.samples: pass@1 and pass^k from K answers per case, and the cases that change between them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskbench.reports.format import consistency_rows
from taskbench.results.samples import EPISODES_GROUP, samples_section


def case(case_id: str, capability: str, level: str, outcomes: list[bool]) -> dict[str, Any]:
    samples = [
        {"seed": seed, "output": "", "score": float(ok), "passed": ok, "failure": "none", "finish_reason": "stop"}
        for seed, ok in enumerate(outcomes)
    ]
    return {"id": case_id, "capability": capability, "level": level, "samples": samples}


def episode(episode_id: str, level: str, outcomes: list[bool]) -> dict[str, Any]:
    samples = [{"seed": seed, "passed": ok, "turns_passed": 2 * ok} for seed, ok in enumerate(outcomes)]
    return {"id": episode_id, "level": level, "samples": samples}


def test_one_sample_per_case_has_no_section() -> None:
    assert samples_section([case("a", "x", "simple", [True])], [], 1) is None


def test_the_unbiased_estimates_of_a_small_run() -> None:
    cases = [
        case("always", "action_recognition", "simple", [True] * 4),
        case("half", "action_recognition", "complex", [True, False, True, False]),
        case("never", "entity_extraction", "simple", [False] * 4),
    ]
    episodes = [episode("ep-1", "complex", [True, True, False, True])]
    section = samples_section(cases, episodes, 2)
    assert section is not None and section["k"] == 2
    # pass@1 = c/n; pass^2 = C(c,2)/C(4,2) with C(4,2) = 6: 1, 1/6, 0 and 3/6.
    assert section["pass_at_1"]["overall"] == pytest.approx((1 + 0.5 + 0 + 0.75) / 4)
    assert section["pass_hat_k"]["overall"] == pytest.approx((1 + 1 / 6 + 0 + 3 / 6) / 4)
    assert section["pass_hat_k"]["by_capability"] == pytest.approx(
        {"action_recognition": (1 + 1 / 6) / 2, "entity_extraction": 0.0, EPISODES_GROUP: 0.5}
    )
    assert list(section["pass_at_1"]["by_capability"]) == [
        "action_recognition",
        "entity_extraction",
        EPISODES_GROUP,
    ]
    assert list(section["pass_at_1"]["by_level"]) == ["simple", "complex"]
    assert section["pass_at_1"]["by_level"]["complex"] == pytest.approx((0.5 + 0.75) / 2)
    assert section["n"] == {
        "overall": 4,
        "by_capability": {"action_recognition": 2, "entity_extraction": 1, EPISODES_GROUP: 1},
        "by_level": {"simple": 2, "complex": 2},
    }
    assert section["changing"] == [
        {"id": "ep-1", "samples": 4, "passed": 3},
        {"id": "half", "samples": 4, "passed": 2},
    ]
    rows = consistency_rows(section)
    assert [(r["kind"], r["group"]) for r in rows] == [
        ("overall", "overall"),
        ("capability", "action_recognition"),
        ("capability", "entity_extraction"),
        ("capability", EPISODES_GROUP),
        ("level", "simple"),
        ("level", "complex"),
    ]
    assert rows[3]["pass_hat_k"] == pytest.approx(0.5) and rows[3]["n"] == 1


def test_a_record_without_enough_samples_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="lonely: no samples"):
        samples_section([{"id": "lonely", "capability": "x", "level": "simple"}], [], 3)
    with pytest.raises(ValueError, match="short: 2 samples, fewer than k=3"):
        samples_section([case("short", "x", "simple", [True, False])], [], 3)


outcomes = st.lists(st.booleans(), min_size=5, max_size=5)


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["simple", "complex"]), outcomes), max_size=30),
    st.lists(outcomes, max_size=5),
    st.integers(1, 5),
)
def test_pass_hat_k_never_exceeds_pass_at_1(
    drawn: list[tuple[str, str, list[bool]]], episode_outcomes: list[list[bool]], k: int
) -> None:
    cases = [case(f"c{i}", capability, level, o) for i, (capability, level, o) in enumerate(drawn)]
    episodes = [episode(f"e{i}", "simple", o) for i, o in enumerate(episode_outcomes)]
    section = samples_section(cases, episodes, k)
    if k == 1:
        assert section is None
        return
    assert section is not None
    rows = consistency_rows(section)
    for row in rows:
        if row["n"]:
            assert 0 <= row["pass_hat_k"] <= row["pass_at_1"] + 1e-12 <= 1 + 1e-12
        else:
            assert row["pass_at_1"] is row["pass_hat_k"] is None
    records = [*cases, *episodes]
    changing = {r["id"] for r in records if len(set(s["passed"] for s in r["samples"])) == 2}
    assert {row["id"] for row in section["changing"]} == changing
    # Only a case that always passes counts fully in pass^k; one that changes counts less than in pass@1.
    if any(r["id"] in changing for r in records):
        assert section["pass_hat_k"]["overall"] < section["pass_at_1"]["overall"]
