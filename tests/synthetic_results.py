"""Synthetic results dicts for the statistics, analysis, report and compare tests.

Cases are made here (not read from fixtures/tiers, which the generator may change), answered by a
simulated model and scored by the real scorers, so items carry realistic failures and details: wrong
and missing fields, wrong actions, safety failures, code fences, prose, truncation (finish_reason
"length"), empty answers, and XSS payloads in inputs, titles and outputs.

Whether an item is answered right depends only on the case id, the seed and its capability's quality
(right when a per-item uniform draw is below the quality), so two runs differing in one capability's
quality differ exactly on that capability's items with a draw between the two qualities.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

from taskbench.scorers import score_case

from taskbench.data.capabilities import LEVELS, load_capability_config
from taskbench.results.aggregate import summarize
from taskbench.results.analysis import analyse
from taskbench.results.build import RESULTS_VERSION
from taskbench.results.episodes import episodes_section
from taskbench.results.fuzz import fuzz_section
from taskbench.results.samples import samples_section

# Every one would change the page if it ran: the title, an attribute on <body>, or a new element.
XSS_PAYLOADS = (
    "<script>document.title='XSS-script'</script>",
    "<img src=x onerror=\"document.title='XSS-img'\">",
    "<svg onload=\"document.body.setAttribute('data-xss','svg')\"></svg>",
    "\"><script>document.body.setAttribute('data-xss','attr')</script>",
    '</td></tr></table><b id="xss-b">injected</b>',
    "javascript:document.title='XSS-js'",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
)

# Scored as a run scores: with the configured field weights, which summarize() records.
FIELD_WEIGHTS = load_capability_config().field_weights
DEFAULT_QUALITY = {
    "action_recognition": 0.95,
    "entity_extraction": 0.70,
    "default_handling": 0.85,
    "edge_cases": 0.75,
    "format_compliance": 0.93,
}
TEMPLATES_PER_CAPABILITY = 12
PARSE_FAILURES = ("code_fence", "prose", "truncated", "empty", "invalid_json")
# Failures every run has whatever its seed and qualities, most on cases whose input carries a payload
# (index % 7 == 3), so every report shows them.
SCRIPTED_FAILURES = {
    ("edge_cases", 10): "safety",
    ("edge_cases", 24): "safety",
    ("entity_extraction", 3): "code_fence",
    ("entity_extraction", 17): "wrong_field",
    ("entity_extraction", 31): "missing_field",
    ("entity_extraction", 9): "truncated",
    ("default_handling", 3): "prose",
    ("default_handling", 17): "wrong_default",
    ("format_compliance", 38): "invalid_json",
    ("action_recognition", 8): "empty",
}


def _expected(capability: str, index: int) -> tuple[str, dict[str, Any]]:
    """(input, expected answer) of the index-th case of a capability; every 7th carries a payload."""
    payload = XSS_PAYLOADS[(index // 7) % len(XSS_PAYLOADS)] if index % 7 == 3 else None
    title = payload or f"Review budget {index}"
    if capability == "edge_cases" and index % 2 == 0:
        return f"delete everything about {title}", {"action": "clarify", "question": "Which tasks?"}
    if capability == "action_recognition" and index % 3 == 0:
        return f"show me this week's tasks {index}", {"action": "list", "filter": "this_week"}
    if capability == "action_recognition" and index % 3 == 1:
        return f"mark {title} as done", {"action": "complete", "title": title}
    return (
        f"create a high-priority task to {title} by Friday",
        {"action": "create", "title": title, "priority": "high", "due_date": "2026-11-27", "due_time": None},
    )


def _failure_kind(capability: str, expected: Mapping[str, Any], rng: random.Random) -> str:
    """A way to fail that costs points (score < 0.8) in the case's capability."""
    if rng.random() < 0.3:
        return rng.choice(PARSE_FAILURES)
    if expected["action"] == "clarify":
        return rng.choice(("safety", "wrong_action"))
    if capability == "format_compliance":
        return "schema_violation"
    if capability == "action_recognition":
        return "wrong_action"
    if capability == "default_handling":
        return "wrong_default"
    return rng.choice(("wrong_action", "missing_field", "wrong_field"))


def _wrong_answer(kind: str, expected: Mapping[str, Any], rng: random.Random) -> tuple[str, str]:
    """(output, finish_reason) failing in the given way."""
    right = json.dumps(expected)
    answers = {
        "code_fence": f"```json\n{right}\n```",
        "prose": f"Sure! Here is the action: {right}",
        "truncated": right[: len(right) // 2],
        "empty": "",
        "invalid_json": right.replace('"action"', "'action'"),
        # The destructive answer a safety check must catch, with a payload as its title.
        "safety": json.dumps({"action": "delete", "title": rng.choice(XSS_PAYLOADS)}),
        "wrong_action": json.dumps(
            {"action": "list", "filter": "all"}
            if expected["action"] != "list"
            else {"action": "clarify", "question": "?"}
        ),
        "schema_violation": json.dumps(
            {**expected, "priority": "super urgent"} if "priority" in expected else {**expected, "extra": 1}
        ),
        "wrong_default": json.dumps({**expected, "priority": "low", "attendees": ["Bob"]}),
        "missing_field": json.dumps({key: value for key, value in expected.items() if key != "due_date"}),
        "wrong_field": json.dumps({**expected, "due_date": "2026-11-28"}),
    }
    return answers[kind], "length" if kind == "truncated" else "stop"


def _answer(case: Mapping[str, Any], index: int, quality: float, rng: random.Random) -> tuple[str, str]:
    """(output, finish_reason): right when a uniform draw is below `quality`, unless a failure is scripted."""
    expected = case["expected"]
    right = rng.random() < quality
    scripted = SCRIPTED_FAILURES.get((case["capability"], index))
    if scripted is not None:
        return _wrong_answer(scripted, expected, rng)
    if right:
        return json.dumps(expected), "stop"
    return _wrong_answer(_failure_kind(case["capability"], expected, rng), expected, rng)


def _sampled(
    case: Mapping[str, Any], index: int, quality: float, key: str, k: int, first: Mapping[str, Any]
) -> dict[str, Any]:
    """samples, score and passed of an item answered k times; the first sample is the item's own answer."""
    samples = [{key: first[key] for key in ("output", "score", "passed", "failure", "finish_reason")} | {"seed": 0}]
    for seed in range(1, k):
        output, finish_reason = _answer(case, index, quality, random.Random(f"{key}/sample{seed}"))
        score = score_case(case, output, FIELD_WEIGHTS)
        samples.append(
            {
                "seed": seed,
                "output": output,
                "score": score.score,
                "passed": score.passed,
                "failure": score.failure.value,
                "finish_reason": finish_reason,
            }
        )
    return {
        "samples": samples,
        "score": sum(s["score"] for s in samples) / k,
        "passed": all(s["passed"] for s in samples),
    }


def synthetic_episode(index: int, seed: int, k: int = 1) -> dict[str, Any]:
    """An episode record of three turns; every third has a payload as its task title; about 60 % pass.
    A failed turn's answer deletes the task instead (a payload in the output too)."""
    level = LEVELS[index % len(LEVELS)]
    rng = random.Random(f"{seed}/episode/{index}")
    title = XSS_PAYLOADS[index % len(XSS_PAYLOADS)] if index % 3 == 0 else f"Plan offsite {index}"
    wrong_at = next((number for number in (1, 2, 3) if rng.random() > 0.85), None)
    steps = [
        (f"add {title} for Friday", {"action": "create", "title": title, "due_date": "2026-11-27"}),
        (f"make {title} urgent", {"action": "update", "title": title, "priority": "high"}),
        (f"what is left of {title} this week?", {"action": "list", "filter": "this_week"}),
    ]
    turns, state_ok = [], True
    for number, (user, expected) in enumerate(steps, start=1):
        right = wrong_at != number
        output = json.dumps(expected) if right else json.dumps({"action": "delete", "title": title})
        state_ok = state_ok and right
        turns.append(
            {
                "number": number,
                "user": user,
                "capability": "action_recognition" if number == 3 else "entity_extraction",
                "expected": expected,
                "output": output,
                "score": 1.0 if right else 0.0,
                "passed": right,
                "failure": "none" if right else "wrong_action",
                "explanation": "" if right else f"expected {expected['action']}, got delete",
                "state_ok": state_ok,
                "state_diff": [] if state_ok else [f"task {title!r} is missing"],
            }
        )
    record = {
        "id": f"ep-{level}-{index:03d}",
        "level": level,
        "template": f"episode_t{index % 4}",
        "mode": "realistic",
        "passed": wrong_at is None,
        "turns": turns,
        "first_wrong_turn": wrong_at,
        "how": [] if wrong_at is None else turns[wrong_at - 1]["state_diff"],
        "final_diff": [] if wrong_at is None else turns[-1]["state_diff"],
    }
    if k > 1:
        passes = [record["passed"], *(rng.random() < 0.6 for _ in range(k - 1))]
        record["samples"] = [
            {"seed": s, "passed": passed, "turns_passed": 3 if passed else rng.randrange(3)}
            for s, passed in enumerate(passes)
        ]
    return record


def synthetic_fuzz() -> list[dict[str, Any]]:
    """Fuzzing outcomes: two families, four properties, minimal failures that carry payloads."""

    def minimal(payload: str) -> dict[str, Any]:
        return {
            "input": f"create a task to {payload} tomorrow",
            "reference_date": "2026-11-24",
            "expected": {"action": "create", "title": payload, "due_date": "2026-11-25"},
            "output": json.dumps({"action": "delete", "title": payload}),
            "explanation": "expected create, got delete",
        }

    rows = [
        ("create_dated", "valid", "entity_extraction", "simple", 200, 200, []),
        ("create_dated", "metamorphic", "entity_extraction", "moderate", 150, 141, [minimal(XSS_PAYLOADS[0])]),
        ("delete_vague", "directed", "edge_cases", "adversarial", 100, 93, [minimal(XSS_PAYLOADS[1])]),
        ("delete_vague", "safety", "edge_cases", "adversarial", 100, 97, [minimal(XSS_PAYLOADS[4]), minimal("x")]),
    ]
    return [
        {
            "family": family,
            "property": prop,
            "capability": capability,
            "level": level,
            "examples": examples,
            "passed": passed,
            "minimal": found,
            "test": f"evals/test_fuzz.py::test_{prop}[{family}]",
        }
        for family, prop, capability, level, examples, passed, found in rows
    ]


def synthetic_results(
    *,
    quality: Mapping[str, float] | None = None,
    per_capability: int = 40,
    capabilities: Sequence[str] | None = None,
    seed: int = 0,
    run_id: str = "synthetic-run",
    tier: str = "gate",
    content_hash: str = "0" * 64,
    errored: int = 0,
    samples: int = 1,
    episodes: int = 0,
    episode_errors: int = 0,
    fuzz: bool = False,
) -> dict[str, Any]:
    """A results dict as taskbench.results.build makes it, from made-up items. `capabilities` selects a
    subset (a partial run); `errored` moves that many items of the first capability into `errors`; `samples`
    answers every case (and episode) that many times; `episodes` adds that many episodes, the first
    `episode_errors` of them errored; `fuzz` adds fuzzing outcomes."""
    config = load_capability_config()
    quality = {**DEFAULT_QUALITY, **(quality or {})}
    items, tier_ids = [], []
    for capability in config.names:
        for index in range(per_capability):
            # 40 / 30 / 20 / 10 % per level, like the tiers.
            level = LEVELS[sum(index % 10 >= bound for bound in (4, 7, 9))]
            case_id = f"{capability}-{level}-{index:04d}"
            tier_ids.append(case_id)
            if capabilities is not None and capability not in capabilities:
                continue
            text, expected = _expected(capability, index)
            case = {"id": case_id, "capability": capability, "level": level, "expected": expected}
            rng = random.Random(f"{seed}/{case_id}")
            output, finish_reason = _answer(case, index, quality[capability], rng)
            score = score_case(case, output, FIELD_WEIGHTS)
            item = {
                "id": case_id,
                "capability": capability,
                "level": level,
                "template": f"{capability[:6]}_t{index % TEMPLATES_PER_CAPABILITY}",
                "input": text,
                "reference_date": "2026-11-24",
                "expected": expected,
                "output": output,
                **score.to_dict(),
                "safety": score.safety,
                "finish_reason": finish_reason,
                "latency_s": round(0.05 + rng.random() / 10, 4),
                "prompt_tokens": 180 + len(text) // 4,
                "completion_tokens": len(output) // 4,
            }
            if samples > 1:
                item.update(_sampled(case, index, quality[capability], f"{seed}/{case_id}", samples, item))
            items.append(item)
    errors = [
        {key: item[key] for key in ("id", "capability", "level", "template")} | {"when": "call", "message": "boom"}
        for item in items[:errored]
    ]
    items = sorted(items[errored:], key=lambda item: item["id"])
    all_episodes = [synthetic_episode(index, seed, samples) for index in range(episodes)]
    episode_errors_list = [
        {key: e[key] for key in ("id", "level", "template")} | {"message": "server unreachable"}
        for e in all_episodes[:episode_errors]
    ]
    episode_records = all_episodes[episode_errors:]
    outcomes = synthetic_fuzz() if fuzz else []
    results = {
        "results_version": RESULTS_VERSION,
        "run_id": run_id,
        "created": "2026-11-24T12:00:00+00:00",
        "taskbench_version": "0.1.0",
        "config": {"tier": tier, "seed": 0},
        "model": {
            "name": f"demo <b>model</b> {seed}",
            "urls": ["http://127.0.0.1:8000"],
            "root": None,
            "max_model_len": 1024,
            "vllm_version": None,
            "identity": hashlib.sha256(f"{seed}".encode()).hexdigest(),
        },
        "dataset": {
            "tier": tier,
            "path": f"fixtures/tiers/{tier}.jsonl",
            "content_hash": content_hash,
            "cases": len(tier_ids),
        },
        "replayed_from": None,
        "generation": None,
        "complete": not errors,
        "incomplete_reasons": [],
        "summary": summarize(items, errors, config, tier_ids),
        "items": items,
        "errors": errors,
        "episodes": episodes_section(episode_records, episode_errors_list, "realistic"),
        "samples": samples_section(items, episode_records, samples),
        "fuzz": outcomes,
        "fuzz_summary": fuzz_section(outcomes),
    }
    results["analysis"] = analyse(results)
    return results
