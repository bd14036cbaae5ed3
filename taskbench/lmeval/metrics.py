"""The metrics of the exported lm_eval task, computed by taskbench's scorers so both tools report the same numbers.

`process_results`, `weighted_score` and `capability_mean` are what the task's utils.py hands to lm_eval (the
YAML's `process_results` and `aggregation: !function ...`); `doc_metrics` is the per-case part, also used to
compare a native taskbench run with lm_eval's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from taskbench.data.capabilities import load_capability_config
from taskbench.scorers import score_case
from taskbench.scorers.capabilities import Expectation, read_case
from taskbench.scorers.contract import contract_violations

# Metrics averaged over every document; the weighted score and one key per capability come on top.
MEAN_METRICS = ("score", "json_valid", "action_accuracy")
WEIGHTED_SCORE = "weighted_score"

# Read once per lm_eval process: process_results runs for every document.
_capabilities = cache(load_capability_config)


@dataclass(frozen=True)
class DocMetrics:
    score: float  # taskbench.scorers.score_case: what taskbench reports for the item
    json_valid: bool  # the output is exactly one JSON object that satisfies the contract
    action_correct: bool  # that object's action is the expected one (or an accepted alternative)


def doc_metrics(case: Mapping[str, Any], output: str) -> DocMetrics:
    score = score_case(case, output, _capabilities().field_weights)
    answer = score.details.get("answer")
    expectation = read_case(case)
    if not isinstance(answer, dict):
        return DocMetrics(score.score, json_valid=False, action_correct=False)
    return DocMetrics(
        score.score,
        json_valid=not contract_violations(answer),
        action_correct=isinstance(expectation, Expectation) and expectation.accepts_action(answer.get("action")),
    )


def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, Any]:
    """lm_eval's per-document hook: `doc` is an exported line, `results` holds the one generated text.

    Every document returns every key (None for the capabilities it is not about), so lm_eval counts the same
    number of values for each metric; `capability_mean` skips the Nones.
    """
    case = json.loads(doc["case"])
    metrics = doc_metrics(case, results[0])
    capability = case["capability"]
    return {
        "score": metrics.score,
        "json_valid": float(metrics.json_valid),
        "action_accuracy": float(metrics.action_correct),
        WEIGHTED_SCORE: [capability, metrics.score],
        **{name: metrics.score if name == capability else None for name in _capabilities().names},
    }


def weighted_score(items: Sequence[Sequence[Any]]) -> float:
    """taskbench's aggregate from (capability, score) pairs: sum of weight x mean over the capabilities present,
    never renormalised (a subset run covers less weight, as `pytest evals/` reports it)."""
    by_capability: dict[str, list[float]] = defaultdict(list)
    for capability, score in items:
        by_capability[capability].append(score)
    weights = _capabilities().weights
    return sum(weights[name] * sum(scores) / len(scores) for name, scores in by_capability.items())


def capability_mean(items: Sequence[float | None]) -> float:
    """The mean score of one capability's documents (NaN when the run has none of them)."""
    scores = [score for score in items if score is not None]
    return sum(scores) / len(scores) if scores else float("nan")
