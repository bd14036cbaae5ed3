"""Error bars for benchmark scores: intervals that keep their promised coverage and never claim certainty.

Every item has a score in [0, 1]. Items generated from the same template are correlated, so every
function takes optional `clusters` (the template of each item) and then treats templates, not items,
as the independent units.

Methods, and why:

* `mean_ci` and `weighted_aggregate_ci` share one resampling core: a cluster bootstrap (whole templates
  are resampled; with capabilities, within each capability separately, i.e. stratified) of the
  item-weighted mean (sum of scores / number of items), read off as an *expanded BCa* interval:

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
  25 templates, ~93 % at 10 (the full tier has 10-23 templates per capability). With a handful of
  templates (capability x level cells have 1-7) no bootstrap is reliable: the interval cannot reach beyond
  the range of the template means, and `Estimate.clusters` shows how few there were.

* `paired_test`: the difference b - a between two runs on the same cases (per capability, or the weighted
  aggregate stratified by capability) with a cluster-robust t test: the standard error is the
  linearisation variance of the template sums of differences (the same ratio estimator and G/(G-1) factor
  as `Estimate.stderr`), read with t on G - 1 degrees of freedom (Welch-Satterthwaite across capabilities).
  Not the bootstrap, for three reasons: on rare pass/fail flips the expanded BCa interval covered 92.9 %
  where this t interval covers 94-95 % (tests/test_stats.py); the gate's minimum detectable drop, its
  family-wise decision and `taskbench plan` all need one closed-form standard error, so that what the gate
  says it can detect is what it detects (tests/test_gate_power.py simulates it); and rows of 2-D scores
  are tested at once, which makes thousands of simulated gate runs take milliseconds. Differences that do
  not vary at all: 0 on every case (identical answers) is exact, a standard error of 0, an interval of
  zero width and p = 1; a constant x != 0 gets the standard error it would have if one more case had not
  changed, |x| / (n + 1), so a single case that dropped is no certain drop. Template means that do not
  vary fall back to the items, as below.

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
lm-eval's sample standard deviation / sqrt(n), except that it never collapses to 0 (see above). A paired
difference's may: see `paired_test`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# scipy.stats.t.ppf is stdtrit; importing scipy.stats would cost ~1 s of every run's start-up.
from scipy.special import ndtr, ndtri, stdtr, stdtrit

SCORE_RANGE = (0.0, 1.0)
MIN_RESAMPLES = 100

# Caps the resample-index matrix (rows x clusters) per draw, so 10000 resamples of 1000 items stay ~30 MB.
_CHUNK_ELEMENTS = 2_000_000
# Replicates within this of the estimate count as ties: summation order differs between them.
_TIE_TOLERANCE = 1e-12


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


@dataclass(frozen=True)
class PairedTest:
    """mean(b - a) over the same cases, its cluster-robust standard error, t degrees of freedom and the
    skewness of the mean (from the same template sums).

    Bounds and p read the t distribution, widened (never narrowed) by Hall's (1992) monotone cubic
    transformation, which corrects the studentized mean for skew: losses concentrated in a few templates make
    the lower bound of a plain t interval miss up to four times as often as it promises. Only the widening is
    kept because with a handful of flips the estimated skew is itself noise: used both ways it made 10 % of
    simulated unchanged gate-tier runs fail under Holm (0.85 % with the plain t or widening only;
    tests/gate_simulation.py).

    The fields are floats, or arrays with one entry per row when `paired_test` got 2-D scores.
    """

    value: Any
    stderr: Any
    dof: Any
    skew: Any
    n: int
    clusters: int
    # The variance the difference would have if each case's difference had variance 1 and cases were
    # independent: 1 / n, or sum of weight^2 / n per capability for an aggregate.
    case_variance: float = math.nan

    def lower(self, alpha: float) -> Any:
        """One-sided lower (1 - alpha) bound on the difference."""
        t = _t_quantile(self.dof, 1.0 - alpha)
        return _plain(self.value - self._scaled(np.maximum(t, self._unskewed(t))))

    def upper(self, alpha: float) -> Any:
        """One-sided upper (1 - alpha) bound on the difference."""
        t = _t_quantile(self.dof, 1.0 - alpha)
        return _plain(self.value + self._scaled(np.maximum(t, -self._unskewed(-t))))

    def p_drop(self) -> Any:
        """One-sided p-value against H0: mean(b - a) >= 0, i.e. for "b is worse than a".

        p < alpha exactly when upper(alpha) < 0. An exact difference gets 1 (>= 0) or 0 (a certain drop).
        """
        a, b = self.skew / 3, self.skew / 6
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.divide(self.value, self.stderr)
            p = stdtr(self.dof, np.maximum(x, x + a * x**2 + a**2 * x**3 / 3 + b))
        return _plain(np.where(self.stderr == 0, np.where(self.value < 0, 0.0, 1.0), p))

    def detectable_drop(self, alpha: float, power: float = 0.8) -> Any:
        """The smallest true drop D a one-sided test at `alpha` detects with probability `power`:
        D = c x sqrt(stderr^2 + D (1 - D) x case_variance), c = t_{1 - alpha} + t_{power}.

        The second term is the variance a drop adds by itself: on pass/fail scores a drop of D turns at least a
        share D of the cases from pass to fail. Without it the drop stated from an unchanged run was detected
        half the time, not 80 % (tests/test_gate_power.py). Scores that fall by less than 1 on more cases add
        less, so for them D is on the safe side.
        """
        c2 = (_t_quantile(self.dof, 1.0 - alpha) + _t_quantile(self.dof, power)) ** 2
        s = c2 * self.case_variance
        with np.errstate(invalid="ignore"):
            drop = (s + np.sqrt(s * s + 4 * (1 + s) * c2 * self.stderr**2)) / (2 * (1 + s))
        # Near a drop of 1, D (1 - D) vanishes; no drop is detectable below what the spread alone allows.
        return _plain(np.maximum(drop, self.provable_margin(alpha, power)))

    def size_factor(self, drop: float, alpha: float, power: float = 0.8, *, flips: bool = True) -> Any:
        """How many times as many cases (at the same cases per template) the detectable drop needs to become
        `drop`; without `flips`, the same for the provable margin. Every variance term falls as 1 / cases."""
        c2 = (_t_quantile(self.dof, 1.0 - alpha) + _t_quantile(self.dof, power)) ** 2
        added = drop * (1 - drop) * self.case_variance if flips else 0.0
        return _plain(c2 * (self.stderr**2 + added) / drop**2)

    def provable_margin(self, alpha: float, power: float = 0.8) -> Any:
        """The smallest margin M below which a non-inferiority test at `alpha` shows the drop with probability
        `power` when nothing changed: (t_{1 - alpha} + t_{power}) x stderr."""
        quantiles = _t_quantile(self.dof, 1.0 - alpha) + _t_quantile(self.dof, power)
        return _plain(self._scaled(quantiles))

    def _unskewed(self, quantile: Any) -> Any:
        """The studentized difference whose Hall transform is `quantile`."""
        a, b = self.skew / 3, self.skew / 6
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(a) < 1e-9, quantile - b, (np.cbrt(1 + 3 * a * (quantile - b)) - 1) / a)

    def _scaled(self, studentized: Any) -> Any:
        """stderr x a studentized difference; 0 for an exact difference."""
        with np.errstate(invalid="ignore"):
            return np.where(self.stderr == 0, 0.0, studentized * self.stderr)


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    clusters: Sequence[str] | None = None,
    capabilities: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> PairedTest:
    """mean(b - a) paired by position (negative: b scores lower), or with `capabilities` and `weights` the
    weighted aggregate of b minus that of a, stratified by capability (weights as given, never renormalised).

    2-D `a` and `b` (rows x cases) are rows of runs over the same cases, tested at once.
    """
    before, after = _as_rows(a, "a"), _as_rows(b, "b")
    if before.shape != after.shape:
        raise ValueError(f"a and b must score the same cases: {before.shape[-1]} vs {after.shape[-1]} scores")
    deltas = after - before
    n = deltas.shape[1]
    labels = _as_labels(clusters, n)
    if n == 0:
        return PairedTest(math.nan, math.nan, math.nan, math.nan, 0, 0)
    if capabilities is None or weights is None:
        groups = [(1.0, np.ones(n, dtype=bool))]
    else:
        groups = _capability_members(_as_capabilities(capabilities, n), _as_weights(weights))
    value, variance, dof_terms, second, third, units, case_variance = 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0
    for weight, members in groups:
        part = _clustered_mean(deltas[:, members], None if labels is None else labels[members])
        value = value + weight * part.mean
        share = weight**2 * part.variance
        variance = variance + share
        with np.errstate(divide="ignore", invalid="ignore"):
            dof_terms = dof_terms + np.where(share > 0, share**2 / part.dof, 0.0)
        second = second + weight**2 * (part.residuals**2).sum(axis=1)
        third = third + weight**3 * (part.residuals**3).sum(axis=1)
        units += part.units
        case_variance += weight**2 / int(members.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        # Welch-Satterthwaite; with no variance anywhere the degrees of freedom do not matter.
        dof = np.where(dof_terms > 0, variance**2 / dof_terms, math.inf)
        # At most 1 in size for a mean; the clip only guards rounding of tiny differences.
        skew = np.clip(np.where(second**1.5 > 0, third / second**1.5, 0.0), -1.0, 1.0)
    fields = (value, np.sqrt(variance), dof, skew)
    if np.ndim(a) == 1:
        fields = tuple(_plain(np.asarray(field)[0]) for field in fields)
    return PairedTest(*fields, n=n, clusters=units, case_variance=case_variance)


@dataclass(frozen=True)
class _ClusteredMean:
    """Per row of a rows x items array: the mean, its cluster-robust variance and t degrees of freedom, and
    the residuals (unit sum - mean x unit size) / items the variance is made of."""

    mean: np.ndarray
    variance: np.ndarray
    dof: Any
    residuals: np.ndarray
    units: int


def _clustered_mean(values: np.ndarray, labels: np.ndarray | None) -> _ClusteredMean:
    """Items are the units without labels, with one template, or where the template means of a row do not
    vary (as in `_stratum`)."""
    n = values.shape[1]
    mean = values.mean(axis=1)
    item_residuals = (values - mean[:, None]) / n
    flat = np.ptp(values, axis=1) <= _TIE_TOLERANCE
    spread = n / max(n - 1, 1) * (item_residuals**2).sum(axis=1)
    # No variation: exact when every difference is 0; otherwise as if one more case had not changed.
    item_variance = np.where(flat, (mean / (n + 1)) ** 2, spread)
    item_dof = np.where(flat, n, n - 1)
    items = _ClusteredMean(mean, item_variance, item_dof, item_residuals, n)
    if labels is None:
        return items
    _, unit_of_item = np.unique(labels, return_inverse=True)
    units = int(unit_of_item.max()) + 1
    if units < 2:
        return dataclasses.replace(items, units=units)
    membership = np.zeros((n, units))
    membership[np.arange(n), unit_of_item] = 1.0
    sums, counts = values @ membership, membership.sum(axis=0)
    _, template_variance = _ratio_and_variance(sums, counts)
    varies = (np.ptp(sums / counts, axis=1) > _TIE_TOLERANCE)[:, None]
    template_residuals = (sums - mean[:, None] * counts) / n
    # Rows whose template means do not vary keep their item residuals (padded to a common width).
    width = max(units, n)
    return _ClusteredMean(
        mean,
        np.where(varies[:, 0], template_variance, item_variance),
        np.where(varies[:, 0], units - 1, item_dof),
        np.where(varies, _padded(template_residuals, width), _padded(item_residuals, width)),
        units,
    )


def _padded(array: np.ndarray, width: int) -> np.ndarray:
    return np.pad(array, ((0, 0), (0, width - array.shape[1])))


def _t_quantile(dof: Any, level: float) -> Any:
    with np.errstate(invalid="ignore"):
        return stdtrit(dof, level)


def _plain(value: Any) -> Any:
    """A float for a 0-d result, the array otherwise."""
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array


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


def _ratio_and_variance(unit_sums: np.ndarray, unit_counts: np.ndarray) -> tuple[Any, Any]:
    """Ratio estimator over the units of the last axis and its variance (G/(G-1) small-sample factor)."""
    units = unit_sums.shape[-1]
    total = unit_counts.sum()
    ratio = unit_sums.sum(axis=-1) / total
    residuals = unit_sums - np.multiply.outer(ratio, np.ones(units)) * unit_counts
    return _plain(ratio), _plain(units / (units - 1) * (residuals**2).sum(axis=-1) / total**2)


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
    return [
        _stratum(values[members], None if labels is None else labels[members], weight)
        for weight, members in _capability_members(capabilities, weights)
    ]


def _capability_members(capabilities: np.ndarray, weights: Mapping[str, float]) -> list[tuple[float, np.ndarray]]:
    """(weight, which items) per weighted capability, by name; ValueError naming unweighted or empty ones."""
    present = set(capabilities.tolist())
    unweighted = sorted(present - set(weights))
    if unweighted:
        raise ValueError(f"items belong to capabilities without a weight: {', '.join(unweighted)}")
    missing = sorted(set(weights) - present)
    if missing:
        raise ValueError(f"weighted capabilities have no items: {', '.join(missing)}")
    return [(weights[name], capabilities == name) for name in sorted(weights)]


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


def _as_rows(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """Scores as rows x cases: one row for a flat sequence."""
    array = np.asarray(values, dtype=float)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be a flat sequence of numbers, or rows of them")
    _as_values(array.ravel(), name, SCORE_RANGE)
    return array.reshape(1, -1) if array.ndim == 1 else array


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
