"""Per-item records: the plain data one item hands to the plugin, and the failing item's message.

Records are plain dicts on purpose: they ride on pytest reports across pytest-xdist workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scorers import Score, score_case
from taskbench.cases import Case
from taskbench.client import Answer


def case_brief(case: Case) -> dict[str, Any]:
    """What the collector needs to place an item that errored before it was scored."""
    return {"id": case.id, "capability": case.capability, "level": case.level, "template": case.template}


def item_record(case: Case, answer: Answer, score: Score) -> dict[str, Any]:
    return {
        **case_brief(case),
        "input": case.input,
        "reference_date": case.reference_date,
        "expected": case.expected,
        "output": answer.text,
        "score": score.score,
        "passed": score.passed,
        "failure": score.failure.value,
        "safety": score.safety,
        "explanation": score.explanation,
        "details": score.details,
        "finish_reason": answer.finish_reason,
        "latency_s": answer.latency_s,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    }


def failure_message(case: Case, answer: Answer, score: Score) -> str:
    """What a person reads under a failing item: the request, both answers and why it lost points."""
    shown = answer.text if len(answer.text) <= 2000 else answer.text[:2000] + f"... [{len(answer.text)} chars]"
    lines = [
        f"{case.id} scored {score.score:.2f} ({score.failure.value}): {score.explanation}",
        f"  input:    {case.input!r}",
        f"  today:    {case.reference_date}",
        f"  expected: {json.dumps(case.expected, ensure_ascii=False)}",
        f"  got:      {shown}",
    ]
    if answer.finish_reason == "length":
        lines.append("  (the answer was cut off at --max-tokens)")
    return "\n".join(lines)


def check_answer(case: Case, answer: Answer, record_score: Callable[[Score], None]) -> None:
    """The body of every case item: score the answer, hand the Score to taskbench, fail below the pass mark."""
    score = score_case(case.to_record(), answer.text)
    record_score(score)
    if not score.passed:
        pytest.fail(failure_message(case, answer, score), pytrace=False)
