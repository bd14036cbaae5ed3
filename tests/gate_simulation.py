"""Simulated gate runs over a real tier's template structure, for tests/test_gate_power.py and
benchmarks/gate_power.py.

A tier's cases keep their capability and template; each template has a pass rate (from a real run's template
means, or drawn). A baseline run passes each case with its template's rate. The candidate gives a share `churn`
of the cases a fresh answer (another draw at the same rate: no change on average, the noise between two
checkpoints), then, for a true drop of D in every capability, loses each pass with probability D / (the
capability's mean rate), so E[candidate - baseline] is exactly -D per capability and for the weighted aggregate.
Every row of the arrays is one gate run; the gate's own code (stats.paired_test, RegressionRule) judges them all
at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import load_tier
from taskbench.gate.checks import RegressionRule
from taskbench.results import stats
from taskbench.results.aggregate import cluster_key


@dataclass(frozen=True)
class TierShape:
    """Per case: its capability, its template (capability/template) and its template's pass rate."""

    capabilities: np.ndarray
    templates: np.ndarray
    rates: np.ndarray
    weights: dict[str, float]

    @property
    def names(self) -> list[str]:
        return [name for name in self.weights if (self.capabilities == name).any()]


def tier_shape(tier: str, rates: Mapping[str, float] | None = None, *, seed: int = 0) -> TierShape:
    """`rates` by template (cluster key) from a run; templates it lacks, or all without it, draw a rate from
    Beta(mean 0.75, concentration 4)."""
    config = load_capability_config()
    cases = load_tier(tier, config).cases
    templates = np.array([cluster_key({"capability": case.capability, "template": case.template}) for case in cases])
    rng = np.random.default_rng(seed)
    drawn = {template: float(rng.beta(3.0, 1.0)) for template in sorted(set(templates))}
    known = {**drawn, **(rates or {})}
    return TierShape(
        capabilities=np.array([case.capability for case in cases]),
        templates=templates,
        rates=np.array([known[template] for template in templates]),
        weights=dict(config.weights),
    )


def simulate(
    shape: TierShape, runs: int, *, churn: float, drop: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(baseline, candidate) scores, runs x cases."""
    size = (runs, shape.rates.size)
    baseline = rng.random(size) < shape.rates
    fresh = rng.random(size) < shape.rates
    candidate = np.where(rng.random(size) < churn, fresh, baseline)
    mean_rate = {name: shape.rates[shape.capabilities == name].mean() for name in shape.names}
    loss = np.array([drop / mean_rate[name] for name in shape.capabilities])
    candidate &= rng.random(size) >= loss
    return baseline.astype(float), candidate.astype(float)


def paired_tests(shape: TierShape, baseline: np.ndarray, candidate: np.ndarray) -> list[stats.PairedTest]:
    """The gate's regression tests of every row: each capability, then the weighted aggregate."""
    tests = []
    for name in shape.names:
        members = shape.capabilities == name
        tests.append(stats.paired_test(baseline[:, members], candidate[:, members], shape.templates[members]))
    covered = {name: shape.weights[name] for name in shape.names}
    tests.append(stats.paired_test(baseline, candidate, shape.templates, shape.capabilities, covered))
    return tests


def judged(
    shape: TierShape, rule: RegressionRule, runs: int, *, churn: float, drop: float, seed: int
) -> tuple[np.ndarray, list[stats.PairedTest]]:
    """Which checks fail in each of `runs` simulated gate runs (checks x runs), and the tests they judged."""
    tests = paired_tests(shape, *simulate(shape, runs, churn=churn, drop=drop, rng=np.random.default_rng(seed)))
    return rule.failing(tests), tests
