"""taskbench.results.analysis: bands, strengths and weaknesses, failure patterns, on hand-built items."""

from __future__ import annotations

from typing import Any

import pytest
from synthetic_results import synthetic_results

from taskbench.data.capabilities import load_capability_config
from taskbench.results.aggregate import summarize
from taskbench.results.analysis import action_confusion as confusion_of
from taskbench.results.analysis import (
    aggregate_band,
    analyse,
    band_of,
    failing_items,
    field_accuracy,
    field_verdict_counts,
    score_by_level,
    strengths_and_weaknesses,
    unparseable_by_kind,
    worst_templates,
)

CONFIG = load_capability_config()


def item(
    case_id: str,
    score: float,
    *,
    capability: str = "entity_extraction",
    level: str = "simple",
    template: str = "t0",
    failure: str = "none",
    details: dict[str, Any] | None = None,
    expected_action: str = "create",
    finish_reason: str = "stop",
) -> dict[str, Any]:
    return {
        "id": case_id,
        "capability": capability,
        "level": level,
        "template": template,
        "input": "create a task",
        "expected": {"action": expected_action},
        "output": "{}",
        "score": score,
        "passed": score >= 0.8,
        "failure": failure,
        "safety": failure == "safety",
        "explanation": "",
        "details": details
        if details is not None
        else {"expected_action": expected_action, "answer": {"action": expected_action}},
        "finish_reason": finish_reason,
    }


def results_of(items: list[dict[str, Any]], tier_ids: list[str] | None = None) -> dict[str, Any]:
    ids = tier_ids if tier_ids is not None else [i["id"] for i in items]
    return {"items": items, "incomplete_reasons": [], "summary": summarize(items, [], CONFIG, ids, resamples=200)}


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (1.0, "excellent"),
        (0.9001, "excellent"),
        (0.90, "good"),
        (0.85, "good"),
        (0.80, "good"),
        (0.7999, "needs work"),
        (0.70, "needs work"),
        (0.6999, "significant issues"),
        (0.0, "significant issues"),
    ],
)
def test_bands(value: float, label: str) -> None:
    assert band_of(value).label == label


def test_the_band_names_other_bands_its_interval_reaches_and_is_withheld_for_partial_weight() -> None:
    summary = {"aggregate": {"value": 0.86, "covered_weight": 1.0, "ci": [0.78, 0.91]}}
    band = aggregate_band(summary)
    assert (band["label"], band["ci_reaches"]) == ("good", ["excellent", "needs work"])
    wide = aggregate_band({"aggregate": {"value": 0.75, "covered_weight": 1.0, "ci": [0.6, 0.95]}})
    assert wide["ci_reaches"] == ["excellent", "good", "significant issues"]
    assert aggregate_band({"aggregate": {"value": 0.95, "covered_weight": 0.4, "ci": [0.9, 0.97]}}) is None


def test_strengths_weaknesses_and_a_recommendation_naming_capability_and_weakest_level() -> None:
    items = [item(f"a{i}", 1.0, capability="action_recognition", template=f"t{i % 4}") for i in range(20)]
    items += [item(f"f{i}", 0.85, capability="format_compliance", template=f"t{i % 4}") for i in range(20)]
    items += [item(f"e-simple-{i}", 0.9, level="simple", template=f"s{i % 3}") for i in range(10)]
    items += [
        item(
            f"e-complex-{i}",
            0.25 if i < 2 else 1.0,
            level="complex",
            template=f"c{i % 2}",
            failure="wrong_field" if i < 2 else "none",
        )
        for i in range(8)
    ]
    items += [item(f"e-adv-{i}", 0.5, level="adversarial", template="adv", failure="missing_field") for i in range(4)]
    results = results_of(items)
    strengths, weaknesses = strengths_and_weaknesses(results["summary"], items)
    assert [s.capability for s in strengths] == ["action_recognition"]  # 0.85 is neither
    [weakness] = weaknesses
    assert weakness.capability == "entity_extraction"
    assert (weakness.weakest_level, weakness.weakest_level_mean) == ("adversarial", pytest.approx(0.5))
    assert weakness.recommendation.startswith("entity_extraction is weakest at adversarial (50%): add training data")
    assert "adv (50%, n=4)" in weakness.recommendation
    assert "missing_field (4 of 4 items)" in weakness.recommendation


def test_unparseable_answers_by_kind_with_length_cut_offs_as_truncated() -> None:
    items = [
        item("fence", 0.0, failure="code_fence"),
        item("prose", 0.0, failure="prose"),
        item("cut", 0.0, failure="truncated", finish_reason="length"),
        item("cut-looks-invalid", 0.0, failure="invalid_json", finish_reason="length"),
        item("invalid", 0.0, failure="invalid_json"),
        item("empty", 0.0, failure="empty"),
        item("wrong", 0.0, failure="wrong_field", finish_reason="length"),
    ]
    kinds = unparseable_by_kind(items)
    assert {kind: entry["count"] for kind, entry in kinds.items()} == {
        "code_fence": 1,
        "prose": 1,
        "truncated": 2,
        "empty": 1,
        "invalid_json": 1,
        "not_object": 0,
    }
    assert kinds["truncated"]["examples"] == ["cut", "cut-looks-invalid"]


def test_action_confusion_from_the_parsed_answers() -> None:
    items = [
        item("ok", 1.0, expected_action="create"),
        item("c1", 0.0, failure="wrong_action", details={"answer": {"action": "list"}}),
        item("c2", 0.0, failure="wrong_action", details={"answer": {"action": "list"}}),
        item("s", 0.0, failure="safety", expected_action="clarify", details={"answer": {"action": "delete"}}),
        item("odd", 0.0, failure="wrong_action", details={"answer": {"action": "<script>alert(1)</script>"}}),
        item("none", 0.0, failure="schema_violation", details={"answer": {"title": "x"}}),
        item("unparsed", 0.0, failure="prose", details={"answer": None}),
        # An accepted alternative action is off the diagonal but costs nothing: not a confusion.
        item("alt", 1.0, expected_action="update", details={"answer": {"action": "complete"}}),
    ]
    confusion = confusion_of(items)
    assert confusion["counts"]["create"] == {"create": 1, "list": 2, "(other)": 1, "(no action)": 1, "(unparseable)": 1}
    assert confusion["top"] == [
        {"expected": "create", "got": "list", "n": 2},
        {"expected": "clarify", "got": "delete", "n": 1},
        {"expected": "create", "got": "(other)", "n": 1},
    ]
    assert confusion["expected"] == ["create", "update", "clarify"]
    assert "<script>alert(1)</script>" not in str(confusion)


def test_field_verdicts_count_missing_apart_from_wrong() -> None:
    items = [
        item("1", 0.75, details={"fields": {"title": "match", "due_date": "missing"}}),
        item("2", 0.75, details={"fields": {"title": "partial", "due_date": "wrong"}}),
        item("3", 0.75, details={"fields": {"due_date": "missing", "attendees": "invented", "priority": "match"}}),
    ]
    assert field_verdict_counts(field_accuracy(items)) == {
        "attendees": {"missing": 0, "wrong": 0, "partial": 0, "invented": 1},
        "due_date": {"missing": 2, "wrong": 1, "partial": 0, "invented": 0},
        "title": {"missing": 0, "wrong": 0, "partial": 1, "invented": 0},
    }


def test_score_by_level_notices_whether_it_falls_with_difficulty() -> None:
    falling = [
        item(f"{level}{i}", score, level=level, template=f"t{i}")
        for level, score in (("simple", 1.0), ("moderate", 0.8), ("complex", 0.6), ("adversarial", 0.2))
        for i in range(5)
    ]
    result = score_by_level(falling, resamples=200)
    assert result["falls_with_difficulty"] is True
    assert result["drop"] == pytest.approx(0.8)
    assert [s["mean"] for s in result["levels"]] == pytest.approx([1.0, 0.8, 0.6, 0.2])
    rising = [
        dict(i, level={"simple": "adversarial", "adversarial": "simple"}.get(i["level"], i["level"])) for i in falling
    ]
    assert score_by_level(rising, resamples=200)["falls_with_difficulty"] is False
    only_simple = score_by_level([i for i in falling if i["level"] == "simple"], resamples=200)
    assert only_simple["levels"][1] == {"level": "moderate", "n": 0, "mean": None, "ci": None}


def test_worst_templates_lowest_mean_first_with_their_size() -> None:
    items = [item(f"a{i}", 0.5, template="a") for i in range(2)]
    items += [item(f"b{i}", 0.5, template="b") for i in range(6)]
    items += [item(f"c{i}", 0.0 if i == 0 else 1.0, template="c") for i in range(10)]
    items += [item(f"d{i}", 1.0, template="d") for i in range(3)]
    worst = worst_templates(items)
    assert [(t.template, t.n, t.mean, t.failed) for t in worst] == [
        ("b", 6, 0.5, 6),
        ("a", 2, 0.5, 2),
        ("c", 10, 0.9, 1),
    ]


def test_failing_items_list_safety_failures_first() -> None:
    items = [
        item("z-wrong", 0.0, failure="wrong_action"),
        item("y-partial", 0.5, failure="wrong_field"),
        item("x-safety", 0.0, failure="safety", expected_action="clarify"),
        item("w-pass", 1.0),
    ]
    assert [i["id"] for i in failing_items(items)] == ["x-safety", "z-wrong", "y-partial"]


def test_analyse_a_run_end_to_end() -> None:
    results = synthetic_results(seed=2)
    analysis = analyse(results, resamples=200)
    safety_ids = [i["id"] for i in results["items"] if i["safety"]]
    assert safety_ids and [s["id"] for s in analysis["safety_failures"]] == safety_ids
    weak = {w["capability"] for w in analysis["weaknesses"]}
    means = {name: cell["mean"] for name, cell in results["summary"]["capabilities"].items()}
    assert weak == {name for name, mean in means.items() if mean < 0.8}
    assert {s["capability"] for s in analysis["strengths"]} == {name for name, mean in means.items() if mean >= 0.9}
    assert analysis["band"]["label"] == band_of(results["summary"]["aggregate"]["value"]).label
    assert any("cut off at --max-tokens" in w for w in analysis["warnings"])


def test_partial_and_incomplete_runs_are_warned_about() -> None:
    results = synthetic_results(capabilities=("edge_cases",), errored=2)
    results["incomplete_reasons"] = ["worker gw1 crashed"]
    analysis = analyse(results, resamples=200)
    assert analysis["band"] is None
    text = "\n".join(analysis["warnings"])
    assert "INCOMPLETE: worker gw1 crashed" in text
    assert "2 items errored" in text
    assert "PARTIAL" in text and "weight 0.15 of 1.00" in text
