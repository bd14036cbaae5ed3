"""The sweep report's numbers (sweep.json), from the finished results of each model of a sweep: per model the
weighted aggregate and each capability's mean with their 95 % intervals, as results.json holds them; the best
model by aggregate; and whether it is better than the runner-up, paired by case and clustered by template with
the one pairing the gate and `taskbench compare` use (taskbench.gate.paired), with the difference that test
would detect with 80 % power.

The best model is picked by the data, so the comparison is two-sided at alpha (each tail alpha / 2): picking the
higher of two and then testing one-sided would double the false claims of "significantly better".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from taskbench.gate.checks import POWER
from taskbench.gate.paired import PairedDelta, pair_runs
from taskbench.results.aggregate import CONFIDENCE

if TYPE_CHECKING:
    from taskbench.data.capabilities import CapabilityConfig
    from taskbench.results.build import Results

SWEEP_VERSION = 1
ALPHA = 1 - CONFIDENCE


def sweep_results(
    run_id: str, runs: Sequence[tuple[str, str, Results]], capabilities: CapabilityConfig
) -> dict[str, Any]:
    """sweep.json: `runs` are (label, served name, results) in the sweep's order."""
    models = [_model_row(label, name, results, capabilities.names) for label, name, results in runs]
    ranked = sorted(
        (row for row in models if row["aggregate"]["value"] is not None),
        key=lambda row: -row["aggregate"]["value"],
    )
    best = ranked[0]["label"] if ranked else None
    runner_up = ranked[1]["label"] if len(ranked) > 1 else None
    comparison = None
    if best is not None and runner_up is not None:
        by_label = {label: results for label, _, results in runs}
        comparison = compare_best(best, runner_up, by_label[best], by_label[runner_up], capabilities.weights)
    return {
        "sweep_version": SWEEP_VERSION,
        "run_id": run_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "confidence": CONFIDENCE,
        "capabilities": list(capabilities.names),
        "models": models,
        "best": best,
        "runner_up": runner_up,
        "comparison": comparison,
    }


def _model_row(label: str, name: str, results: Results, names: Sequence[str]) -> dict[str, Any]:
    summary = results["summary"]
    aggregate = summary["aggregate"]
    return {
        "label": label,
        "name": name,
        "run_dir": label,
        "complete": results["complete"],
        "scored": len(results["items"]),
        "errors": len(results["errors"]),
        "aggregate": {"value": aggregate["value"], "ci": aggregate["ci"], "partial": aggregate["partial"]},
        "capabilities": {
            capability: {"mean": entry["mean"], "ci": entry["mean_ci"], "n": entry["n"]}
            for capability in names
            if (entry := summary["capabilities"].get(capability)) is not None and entry["n"]
        },
    }


def compare_best(
    best: str, runner_up: str, results_best: Results, results_runner_up: Results, weights: Mapping[str, float]
) -> dict[str, Any] | None:
    """The best model against the runner-up on the cases both scored: aggregate and per capability."""
    paired = pair_runs(results_best["items"], results_runner_up["items"], weights)
    if paired is None:
        return None
    aggregate = _difference(paired.aggregate)
    return {
        "best": best,
        "runner_up": runner_up,
        "alpha": ALPHA,
        "power": POWER,
        "cases": paired.common,
        "templates": paired.aggregate.test.clusters,
        **aggregate,
        "capabilities": {delta.name: _difference(delta) for delta in paired.capabilities},
        "statement": _statement(best, runner_up, aggregate, paired.common, paired.aggregate.test.clusters),
    }


def _difference(delta: PairedDelta) -> dict[str, Any]:
    """best - runner-up (the pairing's B - A, negated), its two-sided interval, p-value and detectable difference."""
    test = delta.test
    tail = ALPHA / 2
    p_value = min(1.0, 2 * float(test.p_drop()))
    return {
        "best_mean": delta.mean_a,
        "runner_up_mean": delta.mean_b,
        "difference": -float(test.value),
        "ci": [-float(test.upper(tail)), -float(test.lower(tail))],
        "p_value": p_value,
        "significant": bool(float(test.upper(tail)) < 0),
        "detectable": float(test.detectable_drop(tail, POWER)),
    }


def _statement(best: str, runner_up: str, aggregate: Mapping[str, Any], cases: int, templates: int) -> str:
    low, high = aggregate["ci"]
    measured = (
        f"{100 * aggregate['difference']:+.1f} pt on the weighted aggregate, 95 % CI "
        f"[{100 * low:+.1f}, {100 * high:+.1f}], p = {aggregate['p_value']:.3g} (two-sided, paired by case, "
        f"clustered by template)"
    )
    power = (
        f"with these {cases} cases in {templates} templates, a difference of {100 * aggregate['detectable']:.1f} pt "
        f"would be detected with {100 * POWER:.0f} % power"
    )
    if aggregate["significant"]:
        return f"{best} is significantly better than {runner_up}: {measured}; {power}."
    return f"{best} is not significantly better than {runner_up}: {measured}; {power}."
