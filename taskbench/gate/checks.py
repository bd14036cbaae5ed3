"""The gate's checks over one run's results, the verdict they add up to, and that verdict as Markdown.

Checks, by the severity of their failure:

* infrastructure (exit 7): the run is incomplete (a worker crashed, items never reported a result) or more
  items and episodes errored than `max_errors` allows (default 0: fail closed);
* refused (exit 4, pytest's usage error): a check over fewer than `min_cases` scored cases of a capability (or
  episodes), an aggregate threshold over a run that leaves capabilities out, an episode floor over a run without
  episodes, a baseline sharing no case with the run;
* quality (exit 6): a mean score or the episode pass rate below its threshold, or a regression against the
  baseline (see `RegressionRule`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pytest

from taskbench.exitcodes import EXIT_INFRASTRUCTURE, EXIT_QUALITY
from taskbench.gate.baseline import Baseline
from taskbench.gate.paired import PairedDelta, pair_runs
from taskbench.options import GateSettings
from taskbench.reports.format import markdown_text
from taskbench.results import stats
from taskbench.results.episodes import CONFIDENCE as EPISODE_CONFIDENCE

SUPERIORITY = "superiority"
NON_INFERIORITY = "non_inferiority"
HOLM, BONFERRONI, NO_CORRECTION = "holm", "bonferroni", "none"
# The power at which a detectable drop is stated.
POWER = 0.8
FLIPS_SHOWN = 10


class Outcome(StrEnum):
    """Declared from least to most severe: the verdict is the most severe outcome of its checks."""

    PASSED = "passed"
    FAILED = "failed"
    REFUSED = "refused"
    INFRASTRUCTURE = "infrastructure"


EXIT_CODES = {
    Outcome.PASSED: int(pytest.ExitCode.OK),
    Outcome.FAILED: EXIT_QUALITY,
    Outcome.REFUSED: int(pytest.ExitCode.USAGE_ERROR),
    Outcome.INFRASTRUCTURE: EXIT_INFRASTRUCTURE,
}
MARKS = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.REFUSED: "REFUSED", Outcome.INFRASTRUCTURE: "INFRA"}
ICONS = {Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.REFUSED: "⛔", Outcome.INFRASTRUCTURE: "⚠️"}


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    notes: tuple[str, ...]
    family: str = ""  # how the regression checks share alpha, when there are any

    @property
    def outcome(self) -> Outcome:
        severity = list(Outcome)
        return max((check.outcome for check in self.checks), key=severity.index, default=Outcome.PASSED)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


@dataclass(frozen=True)
class RegressionRule:
    """How the regression checks of one run (each capability and the weighted aggregate) are decided, as one
    family.

    * superiority: a check fails on a drop larger than `max_regression` whose one-sided p, adjusted for the
      family (Holm by default), is below alpha. The chance that a run with no real drop fails any check is at
      most alpha.
    * non_inferiority: a check passes only when the one-sided (1 - alpha) upper bound of its drop is below
      `max_regression`; thin evidence (a wide bound) fails. Passing needs every check to pass
      (intersection-union), so the chance of passing a run where some check truly dropped by max_regression or
      more is at most alpha, with no correction.

    Every method takes tests with array fields too (rows of simulated runs), so the simulations of
    tests/test_gate_power.py and benchmarks/gate_power.py judge with this code.
    """

    mode: str = SUPERIORITY
    correction: str = HOLM
    alpha: float = 0.05
    max_regression: float = 0.0

    def level(self, checks: int) -> float:
        """The one-sided level one drop is tested at (Holm's first step, the stricter one) in a family of `checks`."""
        if self.mode == SUPERIORITY and self.correction != NO_CORRECTION:
            return self.alpha / checks
        return self.alpha

    def detectable_drop(self, test: stats.PairedTest, checks: int) -> Any:
        """Superiority: the true drop this check detects with probability POWER. Non-inferiority: the smallest
        max_regression at which the check passes a model that did not change with probability POWER."""
        if self.mode == NON_INFERIORITY:
            return test.provable_margin(self.alpha, POWER)
        return test.detectable_drop(self.level(checks), POWER)

    def size_factor(self, test: stats.PairedTest, checks: int, drop: float) -> Any:
        """How many times the cases this check needs for `detectable_drop` to become `drop`."""
        if self.mode == NON_INFERIORITY:
            return test.size_factor(drop, self.alpha, POWER, flips=False)
        return test.size_factor(drop, self.level(checks), POWER)

    def adjusted_p(self, tests: Sequence[stats.PairedTest]) -> np.ndarray:
        """The family-adjusted one-sided p-values of the drops, one row per check."""
        p = np.array([test.p_drop() for test in tests], dtype=float)
        k = len(tests)
        if self.correction == BONFERRONI:
            return np.minimum(1.0, k * p)
        if self.correction != HOLM:
            return p
        order = np.argsort(p, axis=0, kind="stable")
        ranked = np.take_along_axis(p, order, axis=0)
        factors = (k - np.arange(k)).reshape((k,) + (1,) * (p.ndim - 1))
        stepped = np.minimum(1.0, np.maximum.accumulate(factors * ranked, axis=0))
        adjusted = np.empty_like(p)
        np.put_along_axis(adjusted, order, stepped, axis=0)
        return adjusted

    def failing(self, tests: Sequence[stats.PairedTest]) -> np.ndarray:
        """Which checks fail, one row per check."""
        if self.mode == NON_INFERIORITY:
            bounds = np.array([-test.lower(self.alpha) for test in tests], dtype=float)
            return ~(bounds < self.max_regression)  # NaN: nothing shown, so it fails
        drops = np.array([-test.value for test in tests], dtype=float)
        return (self.adjusted_p(tests) < self.alpha) & (drops > self.max_regression)

    def describe(self, checks: int) -> str:
        if self.mode == NON_INFERIORITY:
            return (
                f"regression checks: {checks}, non-inferiority (each at alpha {self.alpha:g}, all must pass): "
                f"family-wise alpha {self.alpha:g}"
            )
        if self.correction == NO_CORRECTION:
            return (
                f"regression checks: {checks}, superiority, each at alpha {self.alpha:g} without correction: "
                f"family-wise alpha up to {min(1.0, checks * self.alpha):.2g}"
            )
        return f"regression checks: {checks}, superiority, {self.correction.title()}: family-wise alpha {self.alpha:g}"


def rule_of(settings: GateSettings) -> RegressionRule:
    return RegressionRule(settings.mode, settings.correction, settings.alpha, settings.max_regression)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _pt(value: float) -> str:
    return f"{100 * value:+.1f} pt"


def _size(value: float) -> str:
    return f"{100 * value:.1f} pt"


def _ci(ci: Sequence[float] | None, confidence: float) -> str:
    return "no CI" if ci is None else f"{100 * confidence:.0f}% CI [{_pct(ci[0])}, {_pct(ci[1])}]"


def completeness_check(results: Mapping[str, Any]) -> Check:
    # The plugin lists items that were selected but never reported among the reasons.
    reasons = list(results["incomplete_reasons"])
    if reasons:
        return Check("complete", Outcome.INFRASTRUCTURE, "incomplete run: " + "; ".join(reasons), {"reasons": reasons})
    return Check("complete", Outcome.PASSED, "complete run: every selected case reported")


def errors_check(results: Mapping[str, Any], settings: GateSettings) -> Check:
    aggregate = results["summary"]["aggregate"]
    errors, selected = aggregate["errors"], aggregate["selected"]
    # An errored episode is no failure, but neither is it a pass: it counts against max_errors like an item.
    episodes = results.get("episodes")
    if episodes:
        errors += episodes["errored"]
        selected += episodes["episodes"] + episodes["errored"]
    share = errors / selected if selected else 0.0
    numbers = {"errors": errors, "selected": selected, "share": share, "max_errors": settings.max_errors}
    what = "items and episodes" if episodes else "items"
    message = f"errors: {errors} of {selected} {what} errored ({_pct(share)}), allowed {_pct(settings.max_errors)}"
    listed = [*results["errors"], *(episodes["errors"] if episodes else [])]
    if listed:
        first = listed[0]
        last_line = (first["message"].strip().splitlines() or [""])[-1][:200]
        message += f"; first: {first['id']}: {last_line}"
    return Check("errors", Outcome.INFRASTRUCTURE if share > settings.max_errors else Outcome.PASSED, message, numbers)


def _too_few(counts: Mapping[str, int], settings: GateSettings) -> str | None:
    few = {name: n for name, n in counts.items() if n < settings.min_cases}
    if not few:
        return None
    listed = ", ".join(f"{name} has {n}" for name, n in few.items())
    return f"too few scored cases for a gate ({listed}; --gate-min-cases is {settings.min_cases})"


def threshold_checks(results: Mapping[str, Any], settings: GateSettings) -> list[Check]:
    summary = results["summary"]
    capabilities, aggregate = summary["capabilities"], summary["aggregate"]
    confidence = summary["statistics"]["confidence"]
    checks = []
    if settings.min_aggregate is not None:
        covered = {name: capabilities[name]["n"] for name in aggregate["covered"]}
        checks.append(
            _threshold(
                "min_aggregate",
                "weighted aggregate",
                aggregate["value"],
                aggregate["ci"],
                confidence,
                aggregate["scored"],
                settings.min_aggregate,
                _aggregate_refusal(aggregate) or _too_few(covered, settings),
            )
        )
    for name, minimum in settings.min_capability.items():
        cell = capabilities[name]
        refusal = _too_few({name: cell["n"]}, settings)
        checks.append(
            _threshold(
                f"min_capability:{name}", name, cell["mean"], cell["mean_ci"], confidence, cell["n"], minimum, refusal
            )
        )
    return checks


def episode_check(results: Mapping[str, Any], settings: GateSettings) -> Check | None:
    """The floor on the episode pass rate; a run with no episode to judge fails closed (refused)."""
    minimum = settings.min_episode_pass_rate
    if minimum is None:
        return None
    section = results.get("episodes")
    if section is None:
        refusal = "no episodes ran (select them, or drop the episode floor)"
        return _threshold("min_episode_pass_rate", "episode pass rate", None, None, 0, 0, minimum, refusal)
    ci = None if section["ci_low"] is None else [section["ci_low"], section["ci_high"]]
    return _threshold(
        "min_episode_pass_rate",
        "episode pass rate",
        section["pass_rate"],
        ci,
        EPISODE_CONFIDENCE,
        section["episodes"],
        minimum,
        _too_few({"episodes": section["episodes"]}, settings),
    )


def _aggregate_refusal(aggregate: Mapping[str, Any]) -> str | None:
    if not aggregate["missing"]:
        return None
    return (
        f"the run leaves out {', '.join(aggregate['missing'])}, so its aggregate covers weight "
        f"{aggregate['covered_weight']:.2f} of 1.00; an aggregate threshold needs every capability"
    )


def _threshold(
    name: str,
    label: str,
    value: float | None,
    ci: Sequence[float] | None,
    confidence: float,
    n: int,
    minimum: float,
    refusal: str | None,
) -> Check:
    numbers = {"value": value, "minimum": minimum, "ci": ci, "confidence": confidence, "n": n}
    if refusal is not None:
        return Check(name, Outcome.REFUSED, f"{label} >= {_pct(minimum)}: refused: {refusal}", numbers)
    assert value is not None  # n >= min_cases >= 1
    passed = value >= minimum
    message = f"{label} {_pct(value)} {'>=' if passed else '<'} minimum {_pct(minimum)} ({_ci(ci, confidence)}, n={n})"
    return Check(name, Outcome.PASSED if passed else Outcome.FAILED, message, numbers)


def regression_checks(
    results: Mapping[str, Any], baseline: Baseline, settings: GateSettings
) -> tuple[list[Check], list[str], str]:
    """Per capability and for the weighted aggregate, paired by case id, decided as one family; plus notes on
    what was paired and the family's description."""
    weights = {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()}
    paired = pair_runs([asdict(item) for item in baseline.items], results["items"], weights)
    pairs = 0 if paired is None else paired.common
    notes = [
        f"baseline {baseline.path} (run {baseline.run_id}, {baseline.created}): {pairs} paired cases, "
        f"{len(baseline.items) - pairs} only in the baseline, {len(results['items']) - pairs} only in this run"
    ]
    if paired is None:
        return (
            [Check("regression", Outcome.REFUSED, "regression: refused: the baseline shares no scored case")],
            notes,
            "",
        )
    deltas = paired.deltas
    aggregate_label = (
        "weighted aggregate"
        if paired.aggregate_weight > 1 - 1e-9
        else f"weighted aggregate (weight {paired.aggregate_weight:.2f} of 1.00)"
    )
    labels = [delta.name for delta in paired.capabilities] + [aggregate_label]
    names = [f"regression:{delta.name}" for delta in paired.capabilities] + ["regression:aggregate"]
    counts = [{delta.name: delta.n} for delta in paired.capabilities]
    refusals = [_too_few(count, settings) for count in [*counts, {k: v for c in counts for k, v in c.items()}]]
    # A check refused for too few cases leaves the family; the others are decided among themselves.
    judged = [i for i, refusal in enumerate(refusals) if refusal is None]
    rule = rule_of(settings)
    tests = [deltas[i].test for i in judged]
    decided = dict(zip(judged, zip(rule.failing(tests), rule.adjusted_p(tests), strict=True), strict=True))
    checks = []
    for i, (name, label, delta) in enumerate(zip(names, labels, deltas, strict=True)):
        if i in decided:
            fails, adjusted = decided[i]
            checks.append(_regression(name, label, delta, rule, len(judged), bool(fails), float(adjusted)))
        else:
            refusal = f"{label} vs baseline: refused: {refusals[i]}"
            checks.append(Check(name, Outcome.REFUSED, refusal, {"n": delta.n}))
    return checks, notes, rule.describe(len(judged)) if judged else ""


def _regression(
    name: str, label: str, delta: PairedDelta, rule: RegressionRule, checks: int, fails: bool, adjusted_p: float
) -> Check:
    test = delta.test
    detectable = float(rule.detectable_drop(test, checks))
    confidence = 1 - 2 * rule.alpha
    low, high = delta.interval(confidence)
    head = (
        f"{label} vs baseline: {_pct(delta.mean_a)} -> {_pct(delta.mean_b)}, {_pt(test.value)} "
        f"({100 * confidence:.0f}% CI [{_pt(low)}, {_pt(high)}])"
    )
    if rule.mode == NON_INFERIORITY:
        bound = -test.lower(rule.alpha)
        head += f"; the drop is at most {_size(max(bound, 0.0))} (one-sided {100 * (1 - rule.alpha):.0f}% bound)"
        judgement = (
            f"NOT SHOWN to be below the allowed {_size(rule.max_regression)}"
            if fails
            else f"shown to be below the allowed {_size(rule.max_regression)}"
        )
        if rule.max_regression < detectable:
            judgement += (
                f"; evidence too thin: an unchanged model passes this check with {100 * POWER:.0f}% power only "
                f"when the allowed drop is at least {_size(detectable)}"
            )
    else:
        head += f", one-sided p={test.p_drop():.4f}"
        if rule.correction != NO_CORRECTION:
            head += f" ({rule.correction.title()}-adjusted {adjusted_p:.4f})"
        beyond = -test.value > rule.max_regression
        if fails:
            judgement = f"REGRESSION: a drop beyond the allowed {_size(rule.max_regression)}, significant"
        elif beyond:
            judgement = f"not significant at family-wise alpha {rule.alpha:g} (within noise)"
        else:
            judgement = f"within the allowed drop of {_size(rule.max_regression)}"
        judgement += f"; detectable drop {_size(detectable)} ({100 * POWER:.0f}% power)"
        if rule.max_regression < detectable:
            wanted = f"a drop of {_size(rule.max_regression)}" if rule.max_regression > 0 else "every drop"
            judgement += f"; this run cannot detect {wanted}, it can detect {_size(detectable)}"
    flips = [old["id"] for old, _ in delta.flipped]
    message = f"{head}: {judgement}; {len(flips)} flipped pass->fail"
    if flips:
        shown = ", ".join(flips[:FLIPS_SHOWN])
        message += f": {shown}" + (f" (+{len(flips) - FLIPS_SHOWN} more)" if len(flips) > FLIPS_SHOWN else "")
    numbers = {
        "n": delta.n,
        "templates": test.clusters,
        "baseline_mean": delta.mean_a,
        "mean": delta.mean_b,
        "delta": test.value,
        "stderr": test.stderr,
        "ci": [low, high],
        "confidence": confidence,
        "p": test.p_drop(),
        "p_adjusted": adjusted_p,
        "mode": rule.mode,
        "alpha": rule.alpha,
        "level": rule.level(checks),
        "detectable_drop": detectable,
        "power": POWER,
        "drop_bound": -test.lower(rule.alpha),
        "max_regression": rule.max_regression,
        "flipped_pass_to_fail": flips,
        "fixed_fail_to_pass": len(delta.fixed),
    }
    return Check(name, Outcome.FAILED if fails else Outcome.PASSED, message, numbers)


def evaluate(results: Mapping[str, Any], settings: GateSettings, baseline: Baseline | None) -> Verdict:
    checks = [completeness_check(results), errors_check(results, settings), *threshold_checks(results, settings)]
    episodes = episode_check(results, settings)
    if episodes is not None:
        checks.append(episodes)
    if baseline is None:
        return Verdict(tuple(checks), ())
    regressions, notes, family = regression_checks(results, baseline, settings)
    return Verdict(tuple(checks + regressions), tuple(notes), family)


def verdict_line(verdict: Verdict, only: bool) -> str:
    line = f"gate {verdict.outcome.value.upper()} (exit {verdict.exit_code})"
    if verdict.family:
        line += f"; {verdict.family}"
    if only and verdict.outcome is Outcome.PASSED:
        line += "; --gate-only: failing items are informational"
    return line


def render_markdown(verdict: Verdict) -> str:
    """gate.md: the verdict for a pull-request comment, above summary.md."""
    title = f"## taskbench gate: {ICONS[verdict.outcome]} {verdict.outcome.value} (exit {verdict.exit_code})"
    lines = [title, ""]
    if verdict.family:
        lines += [f"*{markdown_text(verdict.family)}*", ""]
    lines += [f"- {ICONS[check.outcome]} {markdown_text(check.message, limit=1000)}" for check in verdict.checks]
    regressions = [check for check in verdict.checks if "detectable_drop" in check.numbers]
    if regressions:
        lines += [
            "",
            "| vs baseline | n | baseline | now | delta | p (adjusted) | detectable drop (80% power) |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        for check in regressions:
            n = check.numbers
            lines.append(
                f"| {ICONS[check.outcome]} {markdown_text(check.name.removeprefix('regression:'))} | {n['n']} | "
                f"{_pct(n['baseline_mean'])} | {_pct(n['mean'])} | {_pt(n['delta'])} | "
                f"{n['p']:.3f} ({n['p_adjusted']:.3f}) | {_size(n['detectable_drop'])} |"
            )
    if verdict.notes:
        lines += ["", *(f"> {markdown_text(note, limit=1000)}" for note in verdict.notes)]
    return "\n".join(lines) + "\n"
