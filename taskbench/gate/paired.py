"""Two runs' scores on the cases both scored, compared case by case: the one pairing the gate's regression checks
and `taskbench compare` share.

Per capability and for the weighted aggregate over the capabilities both cover (their real weights, never
renormalised): both means, the paired difference B - A with its template-clustered test
(taskbench.results.stats.paired_test), and the cases that flipped pass -> fail and fail -> pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taskbench.results import stats
from taskbench.results.aggregate import cluster_key

Item = Mapping[str, Any]  # a scored item: id, capability, template, score, passed (results.json or a baseline)
Pair = tuple[Item, Item]


@dataclass(frozen=True)
class PairedDelta:
    """B - A over `n` common cases of one capability, or of the weighted aggregate."""

    name: str
    n: int
    mean_a: float
    mean_b: float
    test: stats.PairedTest
    flipped: tuple[Pair, ...]  # passed in A, failed in B
    fixed: tuple[Pair, ...]  # failed in A, passed in B

    @property
    def delta(self) -> float:
        return self.test.value

    def interval(self, confidence: float) -> tuple[float, float]:
        """The two-sided interval of the difference."""
        tail = (1 - confidence) / 2
        return self.test.lower(tail), self.test.upper(tail)


@dataclass(frozen=True)
class PairedRuns:
    capabilities: tuple[PairedDelta, ...]
    aggregate: PairedDelta
    aggregate_weight: float  # the weight the aggregate covers, of 1.00
    common: int
    only_a: int
    only_b: int

    @property
    def deltas(self) -> tuple[PairedDelta, ...]:
        """Every capability, then the aggregate: the regression checks of one gate run."""
        return (*self.capabilities, self.aggregate)


def pair_runs(items_a: Iterable[Item], items_b: Iterable[Item], weights: Mapping[str, float]) -> PairedRuns | None:
    """Pair by case id; None when the runs share no case. `weights` are the capabilities' (A's, for compare)."""
    by_id_a = {item["id"]: item for item in items_a}
    by_id_b = {item["id"]: item for item in items_b}
    common = sorted(by_id_a.keys() & by_id_b.keys())
    if not common:
        return None
    pairs = [(by_id_a[case_id], by_id_b[case_id]) for case_id in common]
    groups = {name: [pair for pair in pairs if pair[0]["capability"] == name] for name in weights}
    groups = {name: group for name, group in groups.items() if group}
    capabilities = tuple(_delta(name, group, None) for name, group in groups.items())
    covered = {name: weights[name] for name in groups}
    total = sum(covered.values())
    return PairedRuns(
        capabilities=capabilities,
        aggregate=_delta("weighted aggregate", pairs, covered),
        aggregate_weight=total,
        common=len(common),
        only_a=len(by_id_a) - len(common),
        only_b=len(by_id_b) - len(common),
    )


def _delta(name: str, pairs: Sequence[Pair], weights: Mapping[str, float] | None) -> PairedDelta:
    scores_a = [a["score"] for a, _ in pairs]
    scores_b = [b["score"] for _, b in pairs]
    clusters = [cluster_key(a) for a, _ in pairs]
    if weights is None:
        test = stats.paired_test(scores_a, scores_b, clusters)
        mean_a, mean_b = _mean(scores_a), _mean(scores_b)
    else:
        capabilities = [a["capability"] for a, _ in pairs]
        test = stats.paired_test(scores_a, scores_b, clusters, capabilities, weights)
        mean_a = _weighted_mean(scores_a, capabilities, weights)
        mean_b = _weighted_mean(scores_b, capabilities, weights)
    return PairedDelta(
        name=name,
        n=len(pairs),
        mean_a=mean_a,
        mean_b=mean_b,
        test=test,
        flipped=tuple((a, b) for a, b in pairs if a["passed"] and not b["passed"]),
        fixed=tuple((a, b) for a, b in pairs if not a["passed"] and b["passed"]),
    )


def _mean(scores: Sequence[float]) -> float:
    return sum(scores) / len(scores)


def _weighted_mean(scores: Sequence[float], capabilities: Sequence[str], weights: Mapping[str, float]) -> float:
    """The weighted sum of capability means (never renormalised)."""
    return sum(
        weight * _mean([s for s, c in zip(scores, capabilities, strict=True) if c == name])
        for name, weight in weights.items()
    )
