"""Two runs' scores on the cases both scored, compared case by case: the one pairing the gate's regression checks
and `taskbench compare` share.

Per capability and for the weighted aggregate over the capabilities both cover (their real weights, never
renormalised): both means, the paired difference B - A with its template-clustered test
(taskbench.results.stats.paired_test), and the cases that flipped pass -> fail and fail -> pass. Per field of a
capability, the same over the cases both runs checked that field on (a case is 1 when the field is right).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taskbench.results import stats
from taskbench.results.aggregate import cluster_key
from taskbench.results.analysis import checked_fields

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
    flipped: tuple[Pair, ...]  # passed in A, failed in B (for a field: right in A, not in B)
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
    pairs: tuple[Pair, ...]  # the common cases, by id

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
    capabilities = tuple(_delta(name, group, _scored) for name, group in groups.items())
    covered = {name: weights[name] for name in groups}
    total = sum(covered.values())
    return PairedRuns(
        capabilities=capabilities,
        aggregate=_delta("weighted aggregate", pairs, _scored, covered),
        aggregate_weight=total,
        common=len(common),
        only_a=len(by_id_a) - len(common),
        only_b=len(by_id_b) - len(common),
        pairs=tuple(pairs),
    )


def field_deltas(pairs: Iterable[Pair]) -> dict[str, PairedDelta]:
    """Per field (of one capability's pairs), B - A in accuracy over the cases both runs checked it on; a field
    no common case was checked on in both runs is left out."""
    checked = [(a, b, checked_fields(a), checked_fields(b)) for a, b in pairs]
    names = sorted({name for _, _, fields_a, fields_b in checked for name in fields_a.keys() & fields_b.keys()})
    return {
        name: _delta(
            name,
            [(a, b) for a, b, fields_a, fields_b in checked if name in fields_a and name in fields_b],
            _field_right(name),
        )
        for name in names
    }


def _scored(item: Item) -> tuple[float, bool]:
    return item["score"], item["passed"]


def _field_right(name: str) -> Callable[[Item], tuple[float, bool]]:
    def right(item: Item) -> tuple[float, bool]:
        is_right = checked_fields(item)[name]
        return float(is_right), is_right

    return right


def _delta(
    name: str,
    pairs: Sequence[Pair],
    measure: Callable[[Item], tuple[float, bool]],
    weights: Mapping[str, float] | None = None,
) -> PairedDelta:
    measured = [(measure(a), measure(b)) for a, b in pairs]
    scores_a = [score for (score, _), _ in measured]
    scores_b = [score for _, (score, _) in measured]
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
        flipped=tuple(pair for pair, ((_, a), (_, b)) in zip(pairs, measured, strict=True) if a and not b),
        fixed=tuple(pair for pair, ((_, a), (_, b)) in zip(pairs, measured, strict=True) if not a and b),
    )


def _mean(scores: Sequence[float]) -> float:
    return sum(scores) / len(scores)


def _weighted_mean(scores: Sequence[float], capabilities: Sequence[str], weights: Mapping[str, float]) -> float:
    """The weighted sum of capability means (never renormalised)."""
    return sum(
        weight * _mean([s for s, c in zip(scores, capabilities, strict=True) if c == name])
        for name, weight in weights.items()
    )
