"""Aggregates over item records: per capability, per capability x level, and the weighted total.

Weights are never renormalised: a run that covers only some capabilities reports the weighted sum over
what it covers, the weight it covers, and is labelled partial.

Every mean carries a standard error and a 95 % interval from a cluster bootstrap over templates (items
generated from one template are correlated, so templates are the independent units), every pass rate a
Wilson interval on the design-effect sample size, and the weighted aggregate an interval stratified by
capability. The methods are taskbench.results.stats'.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from taskbench.data.capabilities import FIELD_WEIGHTED, LEVELS, CapabilityConfig
from taskbench.results import stats
from taskbench.scorers import FAILURE_THRESHOLD

CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


def cluster_key(record: Mapping[str, Any]) -> str:
    """The independent unit an item belongs to: its template, within its capability."""
    return f"{record['capability']}/{record['template']}"


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
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
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
        if name == FIELD_WEIGHTED:
            cell["field_weights"] = config.field_weights  # what its scores mean; compare refuses other weights
        cell["levels"] = {level: _cell(scored[name, level], errored[name, level]) for level in LEVELS}
        capabilities[name] = cell

    covered = [c.name for c in config.capabilities if capabilities[c.name]["n"]]
    selected = {r["id"] for r in records} | {e["id"] for e in errors}
    total = sum(c.weight * capabilities[c.name]["mean"] for c in config.capabilities if c.name in covered)
    summary = {
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
    return add_statistics(summary, records, resamples=resamples, seed=seed)


def add_statistics(
    summary: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """A copy of `summary` with standard errors and intervals added to every cell and to the aggregate."""
    summary = copy.deepcopy(dict(summary))
    by_capability: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    by_cell: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_capability[record["capability"]].append(record)
        by_cell[record["capability"], record["level"]].append(record)
    for name, cell in summary["capabilities"].items():
        cell.update(_cell_statistics(by_capability[name], resamples, seed))
        for level, level_cell in cell["levels"].items():
            level_cell.update(_cell_statistics(by_cell[name, level], resamples, seed))

    aggregate = summary["aggregate"]
    weights = {name: summary["capabilities"][name]["weight"] for name in aggregate["covered"]}
    members = [r for r in records if r["capability"] in weights]
    estimate = (
        stats.weighted_aggregate_ci(
            [r["score"] for r in members],
            [r["capability"] for r in members],
            weights,
            [cluster_key(r) for r in members],
            confidence=CONFIDENCE,
            resamples=resamples,
            seed=seed,
        )
        if weights
        else stats.Estimate.empty()
    )
    aggregate.update(_interval_fields(estimate, "ci"))
    summary["statistics"] = {
        "confidence": CONFIDENCE,
        "resamples": resamples,
        "seed": seed,
        "clusters": "template",
        "mean_interval": "cluster bootstrap over templates, expanded BCa (stratified by capability for the aggregate)",
        "pass_rate_interval": "Wilson score interval on the design-effect sample size",
    }
    return summary


def _cell_statistics(records: Sequence[Mapping[str, Any]], resamples: int, seed: int) -> dict[str, Any]:
    clusters = [cluster_key(r) for r in records]
    mean = stats.mean_ci([r["score"] for r in records], clusters, confidence=CONFIDENCE, resamples=resamples, seed=seed)
    pass_rate = stats.pass_rate_ci([r["passed"] for r in records], clusters, confidence=CONFIDENCE)
    return {
        **_interval_fields(mean, "mean_ci"),
        "pass_rate_ci": _interval(pass_rate),
    }


def _interval_fields(estimate: stats.Estimate, name: str) -> dict[str, Any]:
    return {
        "stderr": None if math.isnan(estimate.stderr) else estimate.stderr,
        name: _interval(estimate),
        "templates": estimate.clusters,
    }


def _interval(estimate: stats.Estimate) -> list[float] | None:
    return None if estimate.n == 0 else [estimate.low, estimate.high]
