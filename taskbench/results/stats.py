"""Error bars for benchmark scores: intervals that keep their promised coverage and never claim certainty.

Every item has a score in [0, 1]. Items generated from the same template are correlated, so every
function takes optional `clusters` (the template of each item) and then treats templates, not items,
as the independent units.

Methods, and why:

* `mean_ci`, `weighted_aggregate_ci`, `paired_delta_ci`, `weighted_paired_delta_ci` and the two p-values
  share one resampling core: a cluster bootstrap (whole templates are resampled; with capabilities, within
  each capability separately, i.e. stratified) of the item-weighted mean (sum of scores / number of items),
  read off as an *expanded BCa* interval:

  - BCa (bias-corrected and accelerated): z0 from the replicates, ties counted half because pass/fail
    data put many replicates exactly on the estimate; acceleration from the leave-one-template-out
    jackknife (scipy's multi-sample formula). It corrects for the skew of scores piled up near 1 and,
    unlike the studentized bootstrap, stays sane when only a few templates fail (the studentized one
    covered well in the interior but gave intervals 0.6 wide there: a template-free resample has spread 0).
  - Expanded (Hesterberg 2015, "What teachers should know about the bootstrap"): the tail level alpha is
    replaced by Phi(c * t_nu(alpha)) before the BCa adjustment. c^2 = G/(G-1) undoes the bootstrap's
    variance shrinkage with G templates; t_nu (nu = G - 1, Welch-Satterthwaite across capabilities)
    accounts for estimating the spread from few templates. Plain BCa covers ~89 % at 10 templates.

  scipy.stats.bootstrap is not used: it cannot resample templates of unequal size within capabilities
  and does not expose z0 and the acceleration, which the p-values need (tests check it agrees without
  clusters).

  Simulated coverage of nominal 95 % (tests/test_stats.py gives the set-ups): 95.3-95.5 % at 40 templates
  and without clusters (100 items), 94.4 % for the weighted aggregate at 5 x 40 templates, ~94 % at
  25 templates, ~93 % at 10 (the full tier has 10-23 templates per capability). Known weak spot: paired
  differences that are rare pass/fail flips, 92.9 %. With a handful of templates (capability x level
  cells have 1-7) no bootstrap is reliable: the interval cannot reach beyond the range of the template
  means, and `Estimate.clusters` shows how few there were.

* `pass_rate_ci`: Wilson score interval, never zero-width at 0 % or 100 %. With clusters, Wilson on an
  effective sample size n_eff = n / deff * (z / t_{G-1})^2: deff = cluster-robust variance / binomial
  variance, floored at 1 (clustering never buys precision), and the t factor is Korn & Graubard's (1998)
  small-sample correction. Simulated coverage 95.2 % at 40 templates, 95 % at 10-17.

Degenerate inputs, shared by every function:

* n == 0: every float field of the Estimate is NaN (p-values: NaN).
* Template means that do not vary (one template, or templates that agree exactly): there is nothing to
  resample at template level, so items are resampled (pass_rate_ci: Wilson on n). With one template
  the between-template spread is unknowable; `clusters == 1` flags it.
* Every item of a capability has the same value x (n == 1 included), so resampling can only reproduce
  x: the capability gets the *no-variation bound* [x - (x - lo) q, x + (hi - x) q], q = z^2 / (n + z^2),
  with [lo, hi] the range of the data ([0, 1] for scores, [-1, 1] for paired differences). q is the Wilson
  upper bound on the share of items that would differ when none of n did, so at x = 0 or 1 this is
  exactly the Wilson interval: 100/100 passes give [0.963, 1], with or without templates (no variation
  seen, so no correlation seen either). In an aggregate these margins (weighted) are added to the
  bootstrap bounds of the other capabilities and their normal equivalent (half-width / z) to the stderr,
  so a capability at 100 % widens the aggregate instead of vanishing.

`Estimate.stderr` is the cluster-robust (linearisation) standard error; without clusters it equals
lm-eval's sample standard deviation / sqrt(n), except that it never collapses to 0 (see above).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

# scipy.stats.t.ppf is stdtrit; importing scipy.stats would cost ~1 s of every run's start-up.
from scipy.special import ndtr, ndtri, stdtrit

SCORE_RANGE = (0.0, 1.0)
DELTA_RANGE = (-1.0, 1.0)
MIN_RESAMPLES = 100

# Caps the resample-index matrix (rows x clusters) per draw, so 10000 resamples of 1000 items stay ~30 MB.
_CHUNK_ELEMENTS = 2_000_000
# Replicates within this of the estimate count as ties: summation order differs between them.
_TIE_TOLERANCE = 1e-12
_BISECTION_STEPS = 60


@dataclass(frozen=True)
class Estimate:
    value: float
    stderr: float
    low: float
    high: float
    n: int
    clusters: int

    @classmethod
    def empty(cls) -> Estimate:
        return cls(math.nan, math.nan, math.nan, math.nan, 0, 0)

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready: NaN becomes None."""
        return {
            key: None if isinstance(value, float) and math.isnan(value) else value
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True)
class _Stratum:
    """One capability's items, summed per resampling unit: a template, or an item (see `_stratum`)."""

    weight: float
    unit_sums: np.ndarray
    unit_counts: np.ndarray
    templates: int

    @property
    def n_items(self) -> int:
        return int(self.unit_counts.sum())

    @property
    def mean(self) -> float:
        return float(self.unit_sums.sum() / self.unit_counts.sum())

    @property
    def varies(self) -> bool:
        unit_means = self.unit_sums / self.unit_counts
        return bool(np.ptp(unit_means) > _TIE_TOLERANCE)

    def weighted_variance(self) -> float:
        """Cluster-robust variance of weight x mean (ratio estimator, G/(G-1) small-sample factor)."""
        _, variance = _ratio_and_variance(self.unit_sums, self.unit_counts)
        return float(self.weight**2 * variance)

    def jackknife_influence(self) -> np.ndarray:
        """(G-1) * (mean of leave-one-out estimates - each), scaled by the weight."""
        left_out = (self.unit_sums.sum() - self.unit_sums) / (self.unit_counts.sum() - self.unit_counts)
        return self.weight * (self.unit_sums.size - 1) * (left_out.mean() - left_out)


@dataclass(frozen=True)
class _Bootstrap:
    """The resampled distribution of an aggregate, from which bounds at any level are read."""

    value: float
    replicates: np.ndarray
    bias_z: float
    acceleration: float
    spread: float
    dof: float
    resampled_variance: float
    flat: tuple[_Stratum, ...]
    data_range: tuple[float, float]
    bounds: tuple[float, float]

    def lower(self, alpha: float) -> float:
        """One-sided lower (1 - alpha) bound; increasing in alpha."""
        margin = sum(s.weight * (s.mean - self.data_range[0]) * _unseen_share(alpha, s.n_items) for s in self.flat)
        return min(max(self._replicate_bound(alpha) - margin, self.bounds[0]), self.value)

    def upper(self, alpha: float) -> float:
        """One-sided upper (1 - alpha) bound; decreasing in alpha."""
        margin = sum(s.weight * (self.data_range[1] - s.mean) * _unseen_share(alpha, s.n_items) for s in self.flat)
        return max(min(self._replicate_bound(1.0 - alpha) + margin, self.bounds[1]), self.value)

    def stderr(self, confidence: float) -> float:
        z = _two_sided_z(confidence)
        width = self.data_range[1] - self.data_range[0]
        flat_variance = sum((s.weight * width * z / (2 * (s.n_items + z * z))) ** 2 for s in self.flat)
        return math.sqrt(self.resampled_variance + flat_variance)

    def _replicate_bound(self, tail: float) -> float:
        """The expanded-BCa quantile of the replicates at nominal level `tail` (the estimate if none vary)."""
        if not self.replicates.size:
            return self.value
        level = self._bca_level(self.spread * float(stdtrit(self.dof, tail)))
        return float(np.quantile(self.replicates, level))

    def _bca_level(self, z: float) -> float:
        shifted = self.bias_z + z
        denominator = 1.0 - self.acceleration * shifted
        # Past the pole of the BCa map the level saturates; beyond it the formula would turn back.
        if denominator <= 0:
            return 1.0 if shifted > 0 else 0.0
        return float(ndtr(self.bias_z + shifted / denominator))


def mean_ci(
    scores: Sequence[float],
    clusters: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Mean score with a cluster-bootstrap expanded-BCa interval (see the module docstring)."""
    values = _as_values(scores, "scores", SCORE_RANGE)
    labels = _as_labels(clusters, values.size)
    return _estimate(_strata(values, None, None, labels), SCORE_RANGE, confidence, resamples, seed)


def weighted_aggregate_ci(
    scores: Sequence[float],
    capabilities: Sequence[str],
    weights: Mapping[str, float],
    clusters: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """sum over capabilities of weight x mean score, bootstrapped within each capability.

    Weights are used as given, never renormalised: every weighted capability needs items and every item
    a weighted capability, else ValueError naming them (a partial run passes only the weights it covers).
    """
    values = _as_values(scores, "scores", SCORE_RANGE)
    labels = _as_labels(clusters, values.size)
    strata = _strata(values, _as_capabilities(capabilities, values.size), _as_weights(weights), labels)
    return _estimate(strata, SCORE_RANGE, confidence, resamples, seed)


def _paired_strata(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[str] | None,
    capabilities: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[_Stratum]:
    """The per-case differences b - a, grouped for resampling: one stratum, or one per weighted capability."""
    deltas = _paired_deltas(a, b)
    labels = _as_labels(clusters, deltas.size)
    if capabilities is None or weights is None:
        return _strata(deltas, None, None, labels)
    return _strata(deltas, _as_capabilities(capabilities, deltas.size), _as_weights(weights), labels)


def paired_delta_ci(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """mean(b - a) over the same cases (paired by position); negative means b scores lower."""
    return _estimate(_paired_strata(a, b, clusters), DELTA_RANGE, confidence, resamples, seed)


def weighted_paired_delta_ci(
    a: Sequence[float],
    b: Sequence[float],
    capabilities: Sequence[str],
    weights: Mapping[str, float],
    clusters: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Weighted aggregate of b minus that of a, paired by position, stratified by capability."""
    strata = _paired_strata(a, b, clusters, capabilities, weights)
    return _estimate(strata, DELTA_RANGE, confidence, resamples, seed)


def one_sided_p_drop(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[str] | None = None,
    *,
    resamples: int = 10000,
    seed: int = 0,
) -> float:
    """Paired bootstrap p-value for "b is worse than a", i.e. against H0: mean(b - a) >= 0.

    p is the smallest alpha at which the one-sided upper (1 - alpha) bound on mean(b - a) -- built
    exactly like `paired_delta_ci`'s upper end, from the same resamples -- is below 0. So with equal
    `resamples` and `seed`, p < (1 - confidence) / 2 exactly when paired_delta_ci(...).high < 0.
    p is 1 when mean(b - a) >= 0, at least 1 / resamples, and NaN when there are no items.
    """
    return _p_below_zero(_paired_strata(a, b, clusters), resamples, seed)


def weighted_one_sided_p_drop(
    a: Sequence[float],
    b: Sequence[float],
    capabilities: Sequence[str],
    weights: Mapping[str, float],
    clusters: Sequence[str] | None = None,
    *,
    resamples: int = 10000,
    seed: int = 0,
) -> float:
    """`one_sided_p_drop` for the weighted aggregate, the dual of `weighted_paired_delta_ci`."""
    return _p_below_zero(_paired_strata(a, b, clusters, capabilities, weights), resamples, seed)


def pass_rate_ci(
    passed: Sequence[bool], clusters: Sequence[str] | None = None, *, confidence: float = 0.95
) -> Estimate:
    """Share passed with a Wilson interval; with clusters, on the design-effect sample size.

    Without clusters this is exactly scipy.stats.binomtest(k, n).proportion_ci(method="wilson"); the
    formula is written out because the effective sample size is fractional. With clusters: 0 % or 100 %
    uses n (no variation seen, so no correlation seen), and so does a single template (nothing to compare it with).
    stderr is the interval's half-width / z, so it never collapses to 0.
    """
    flags = _as_flags(passed)
    labels = _as_labels(clusters, flags.size)
    _check_confidence(confidence)
    if flags.size == 0:
        return Estimate.empty()
    rate = float(flags.mean())
    z = _two_sided_z(confidence)
    if labels is None:
        effective_n, units = float(flags.size), flags.size
    else:
        sums, counts = _unit_totals(flags, labels)
        effective_n, units = _effective_size(rate, sums, counts, confidence), sums.size
    low, high = _wilson(rate, effective_n, z)
    return Estimate(rate, (high - low) / (2 * z), low, high, int(flags.size), int(units))


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of the chance that k fresh attempts all pass (tau-bench's pass^k): C(c,k)/C(n,k)."""
    _check_counts(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of the chance that at least one of k attempts passes: 1 - C(n-c,k)/C(n,k)."""
    _check_counts(n, c, k)
    # One integer numerator, so k = 1 gives exactly c / n.
    return (math.comb(n, k) - math.comb(n - c, k)) / math.comb(n, k)


def _estimate(
    strata: Sequence[_Stratum], data_range: tuple[float, float], confidence: float, resamples: int, seed: int
) -> Estimate:
    _check_confidence(confidence)
    _check_resamples(resamples)
    if not strata:
        return Estimate.empty()
    boot = _bootstrap(strata, data_range, resamples, seed)
    alpha = (1.0 - confidence) / 2
    return Estimate(
        value=boot.value,
        stderr=boot.stderr(confidence),
        low=boot.lower(alpha),
        high=boot.upper(alpha),
        n=sum(s.n_items for s in strata),
        clusters=sum(s.templates for s in strata),
    )


def _p_below_zero(strata: Sequence[_Stratum], resamples: int, seed: int) -> float:
    _check_resamples(resamples)
    if not strata:
        return math.nan
    boot = _bootstrap(strata, DELTA_RANGE, resamples, seed)
    resolution = 1.0 / resamples
    if boot.upper(resolution) < 0:
        return resolution
    if boot.upper(1.0 - resolution) >= 0:
        return 1.0
    # upper() decreases in alpha, so bisect for where it crosses below zero.
    above, below = resolution, 1.0 - resolution
    for _ in range(_BISECTION_STEPS):
        middle = (above + below) / 2
        if boot.upper(middle) < 0:
            below = middle
        else:
            above = middle
    return below


def _bootstrap(strata: Sequence[_Stratum], data_range: tuple[float, float], resamples: int, seed: int) -> _Bootstrap:
    varying = [s for s in strata if s.varies]
    flat = tuple(s for s in strata if not s.varies)
    value = sum(s.weight * s.mean for s in strata)
    total_weight = sum(s.weight for s in strata)
    bounds = (data_range[0] * total_weight, data_range[1] * total_weight)
    if not varying:
        return _Bootstrap(value, np.empty(0), 0.0, 0.0, 1.0, math.inf, 0.0, flat, data_range, bounds)

    rng = np.random.default_rng(seed)
    replicates = np.full(resamples, sum(s.weight * s.mean for s in flat), dtype=float)
    for stratum in varying:
        replicates += stratum.weight * _resampled_means(stratum, resamples, rng)

    below = np.count_nonzero(replicates < value - _TIE_TOLERANCE)
    ties = np.count_nonzero(np.abs(replicates - value) <= _TIE_TOLERANCE)
    share_below = np.clip((below + ties / 2) / resamples, 0.5 / resamples, 1 - 0.5 / resamples)

    influences = [s.jackknife_influence() for s in varying]
    skew = sum(float((u**3).sum()) / u.size**3 for u in influences)
    scale = sum(float((u**2).sum()) / u.size**2 for u in influences)

    variances = np.array([s.weighted_variance() for s in varying])
    clusters = np.array([s.unit_sums.size for s in varying], dtype=float)
    spread = math.sqrt(variances.sum() / (variances * (clusters - 1) / clusters).sum())
    dof = variances.sum() ** 2 / (variances**2 / (clusters - 1)).sum()

    return _Bootstrap(
        value=value,
        replicates=replicates,
        bias_z=float(ndtri(share_below)),
        acceleration=skew / (6 * scale**1.5),
        spread=spread,
        dof=float(dof),
        resampled_variance=float(variances.sum()),
        flat=flat,
        data_range=data_range,
        bounds=bounds,
    )


def _resampled_means(stratum: _Stratum, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Item-weighted means of `resamples` cluster bootstrap samples (whole units drawn with replacement)."""
    units = stratum.unit_sums.size
    rows = max(1, _CHUNK_ELEMENTS // units)
    means = np.empty(resamples)
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        picks = rng.integers(0, units, size=(stop - start, units))
        means[start:stop] = stratum.unit_sums[picks].sum(axis=1) / stratum.unit_counts[picks].sum(axis=1)
    return means


def _ratio_and_variance(unit_sums: np.ndarray, unit_counts: np.ndarray) -> tuple[float, float]:
    units = unit_sums.size
    total = unit_counts.sum()
    ratio = unit_sums.sum() / total
    residuals = unit_sums - ratio * unit_counts
    return float(ratio), float(units / (units - 1) * (residuals**2).sum() / total**2)


def _effective_size(rate: float, unit_sums: np.ndarray, unit_counts: np.ndarray, confidence: float) -> float:
    n = float(unit_counts.sum())
    if rate in (0.0, 1.0) or unit_sums.size == 1:
        return n
    _, clustered_variance = _ratio_and_variance(unit_sums, unit_counts)
    design_effect = max(1.0, clustered_variance / (rate * (1 - rate) / n))
    small_sample = _two_sided_z(confidence) / float(stdtrit(unit_sums.size - 1, 0.5 + confidence / 2))
    return n / design_effect * small_sample**2


def _wilson(rate: float, n: float, z: float) -> tuple[float, float]:
    z2_n = z * z / n
    centre = (rate + z2_n / 2) / (1 + z2_n)
    half = z / (1 + z2_n) * math.sqrt(rate * (1 - rate) / n + z2_n / (4 * n))
    # Clamped to the rate: at 0 % or 100 % rounding would otherwise put a bound a hair past it.
    return min(rate, max(0.0, centre - half)), max(rate, min(1.0, centre + half))


def _unseen_share(alpha: float, units: int) -> float:
    """Wilson upper (1 - alpha) bound on a share never observed in `units` tries; 0 at alpha >= 0.5."""
    z = max(float(ndtri(1.0 - alpha)), 0.0)
    return z * z / (units + z * z)


def _two_sided_z(confidence: float) -> float:
    return float(ndtri(0.5 + confidence / 2))


def _strata(
    values: np.ndarray,
    capabilities: np.ndarray | None,
    weights: Mapping[str, float] | None,
    labels: np.ndarray | None,
) -> list[_Stratum]:
    if capabilities is None or weights is None:
        return [_stratum(values, labels, 1.0)] if values.size else []
    present = set(capabilities.tolist())
    unweighted = sorted(present - set(weights))
    if unweighted:
        raise ValueError(f"items belong to capabilities without a weight: {', '.join(unweighted)}")
    missing = sorted(set(weights) - present)
    if missing:
        raise ValueError(f"weighted capabilities have no items: {', '.join(missing)}")
    strata = []
    for name in sorted(weights):
        members = capabilities == name
        strata.append(_stratum(values[members], None if labels is None else labels[members], weights[name]))
    return strata


def _stratum(values: np.ndarray, labels: np.ndarray | None, weight: float) -> _Stratum:
    templates = values.size
    if labels is not None:
        sums, counts = _unit_totals(values, labels)
        by_template = _Stratum(weight, sums, counts, sums.size)
        # With no spread between template means (e.g. one template) there is nothing to resample at that level.
        if by_template.varies:
            return by_template
        templates = sums.size
    return _Stratum(weight, values.copy(), np.ones(values.size), templates)


def _unit_totals(values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, unit_of_item = np.unique(labels, return_inverse=True)
    return np.bincount(unit_of_item, weights=values), np.bincount(unit_of_item).astype(float)


def _as_values(values: Sequence[float], name: str, value_range: tuple[float, float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers")
    if not np.isfinite(array).all() or ((array < value_range[0]) | (array > value_range[1])).any():
        raise ValueError(f"{name} must be finite numbers in [{value_range[0]:g}, {value_range[1]:g}]")
    return array


def _as_flags(passed: Sequence[bool]) -> np.ndarray:
    array = np.asarray(passed)
    if array.ndim != 1 or (array.size and not np.isin(array, (0, 1)).all()):
        raise ValueError("passed must be a flat sequence of booleans")
    return array.astype(float)


def _paired_deltas(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    before = _as_values(a, "a", SCORE_RANGE)
    after = _as_values(b, "b", SCORE_RANGE)
    if before.size != after.size:
        raise ValueError(f"a and b must score the same cases: {before.size} vs {after.size} scores")
    return after - before


def _as_labels(labels: Sequence[str] | None, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    array = np.asarray(labels, dtype=str)
    if array.shape != (n,):
        raise ValueError(f"clusters must give one label per item: {array.size} labels for {n} items")
    return array


def _as_capabilities(capabilities: Sequence[str], n: int) -> np.ndarray:
    array = np.asarray(capabilities, dtype=str)
    if array.shape != (n,):
        raise ValueError(f"capabilities must give one name per item: {array.size} names for {n} items")
    return array


def _as_weights(weights: Mapping[str, float]) -> dict[str, float]:
    checked = {}
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"weight of {name} must be a positive number, got {weight!r}")
        checked[str(name)] = float(weight)
    return checked


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def _check_resamples(resamples: int) -> None:
    if isinstance(resamples, bool) or not isinstance(resamples, numbers.Integral) or resamples < MIN_RESAMPLES:
        raise ValueError(f"resamples must be an integer >= {MIN_RESAMPLES}, got {resamples!r}")


def _check_counts(n: int, c: int, k: int) -> None:
    for name, count in (("n", n), ("c", c), ("k", k)):
        if isinstance(count, bool) or not isinstance(count, numbers.Integral):
            raise ValueError(f"{name} must be an integer, got {count!r}")
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
