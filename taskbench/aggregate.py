"""Aggregates over item records: per capability, per capability x level, and the weighted total.

Weights are never renormalised: a run that covers only some capabilities reports the weighted sum over
what it covers, the weight it covers, and is labelled partial.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from scorers import FAILURE_THRESHOLD
from taskbench.config import LEVELS, CapabilityConfig


def _cell(records: Sequence[Mapping[str, Any]], errors: int) -> dict[str, Any]:
    scores = [r["score"] for r in records]
    n = len(scores)
    return {
        "n": n,
        "errors": errors,
        "mean": sum(scores) / n if n else None,
        "pass_rate": sum(1 for r in records if r["passed"]) / n if n else None,
        "failures": sorted(r["id"] for r in records if r["score"] < FAILURE_THRESHOLD),
    }


def summarize(
    records: Sequence[Mapping[str, Any]],
    errors: Sequence[Mapping[str, Any]],
    config: CapabilityConfig,
    tier_case_ids: Sequence[str],
) -> dict[str, Any]:
    """`records` are scored items, `errors` items that could not be scored (never counted as 0)."""
    records = sorted(records, key=lambda r: r["id"])
    scored: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    errored: dict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        scored[record["capability"], record["level"]].append(record)
    for error in errors:
        errored[error["capability"], error["level"]] += 1

    capabilities: dict[str, Any] = {}
    for capability in config.capabilities:
        name = capability.name
        cell = _cell(
            [r for level in LEVELS for r in scored[name, level]],
            sum(errored[name, level] for level in LEVELS),
        )
        cell["weight"] = capability.weight
        cell["levels"] = {level: _cell(scored[name, level], errored[name, level]) for level in LEVELS}
        capabilities[name] = cell

    covered = [c.name for c in config.capabilities if capabilities[c.name]["n"]]
    selected = {r["id"] for r in records} | {e["id"] for e in errors}
    total = sum(c.weight * capabilities[c.name]["mean"] for c in config.capabilities if c.name in covered)
    return {
        "capabilities": capabilities,
        "aggregate": {
            "value": total if covered else None,
            "covered": covered,
            "missing": [c.name for c in config.capabilities if c.name not in covered],
            "covered_weight": sum(config.weights[name] for name in covered),
            "partial": selected != set(tier_case_ids),
            "selected": len(selected),
            "tier_size": len(tier_case_ids),
            "scored": len(records),
            "errors": len(errors),
        },
    }
