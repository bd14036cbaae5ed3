"""`taskbench compare RUN_A RUN_B`: what changed from run A to run B, on the cases both scored.

Deltas are B - A with paired intervals clustered by template (taskbench.gate.paired, the gate's own pairing),
per capability and for the weighted aggregate over the capabilities both runs cover, with their real weights
(never renormalised). Beside each, the drop the gate would detect with 80 % power at --alpha over this family of
checks (Holm's first step); with --max-regression, a plain sentence for each check that cannot detect that drop.
Cases that flipped pass -> fail (regressions) and fail -> pass (fixes) are listed.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskbench.artifacts import load_results
from taskbench.errors import TaskbenchError
from taskbench.gate.checks import POWER, RegressionRule
from taskbench.gate.paired import Item, PairedDelta, pair_runs
from taskbench.options import argument_type, fraction, significance_level
from taskbench.reports.format import markdown_text, percent
from taskbench.reports.html import template_environment
from taskbench.results.aggregate import CONFIDENCE
from taskbench.results.comparability import field_weight_difference

FORMATS = ("md", "html")


@dataclass(frozen=True)
class Run:
    """A results dict and where it was read from."""

    source: str
    results: Mapping[str, Any]


@dataclass(frozen=True)
class Delta:
    """B - A over `n` common cases: the two means, the paired interval of their difference and the drop the gate
    would detect with 80 % power."""

    name: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    low: float
    high: float
    detectable_drop: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Flip:
    id: str
    capability: str
    level: str
    score_a: float
    score_b: float
    failure_b: str
    explanation_b: str


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    common: int
    only_a: int
    only_b: int
    capabilities: list[Delta]
    aggregate: Delta
    aggregate_weight: float
    regressions: list[Flip]
    fixes: list[Flip]
    warnings: list[str]
    alpha: float
    undetectable: list[str]  # with --max-regression: the checks that cannot detect that drop, as sentences


def load_run(path: Path) -> Run:
    """A run folder (its results.json) or a results.json itself."""
    return Run(str(path), load_results(path))


def compare_runs(run_a: Run, run_b: Run, *, alpha: float = 0.05, max_regression: float | None = None) -> Comparison:
    """Compare on the case ids both runs scored; TaskbenchError naming both when they share none or were scored
    with different field weights."""
    weights_changed = field_weight_difference(run_a.results, run_b.results)
    if weights_changed:
        raise TaskbenchError(
            f"{run_a.source} and {run_b.source} were scored with different entity_extraction field weights "
            f"({weights_changed}), so their scores do not measure the same thing: replay one run with the other's "
            "weights in fixtures/capabilities.toml (pytest evals/ --replay RUN) and compare the replay"
        )
    paired = pair_runs(run_a.results["items"], run_b.results["items"], _weights(run_a.results))
    if paired is None:
        raise TaskbenchError(
            f"{run_a.source} and {run_b.source} share no case ids: nothing to compare "
            f"({len(run_a.results['items'])} and {len(run_b.results['items'])} scored items)"
        )
    rule = RegressionRule(alpha=alpha, max_regression=max_regression or 0.0)
    checks = len(paired.deltas)
    capabilities = [_delta(delta, rule, checks) for delta in paired.capabilities]
    aggregate = _delta(paired.aggregate, rule, checks)
    undetectable = []
    if max_regression is not None:
        undetectable = [
            f"{delta.name}: this comparison cannot detect a drop of {100 * max_regression:.1f} pt; it can detect "
            f"{100 * delta.detectable_drop:.1f} pt"
            for delta in [*capabilities, aggregate]
            if max_regression < delta.detectable_drop
        ]
    return Comparison(
        a=run_a.source,
        b=run_b.source,
        common=paired.common,
        only_a=paired.only_a,
        only_b=paired.only_b,
        capabilities=capabilities,
        aggregate=aggregate,
        aggregate_weight=paired.aggregate_weight,
        regressions=[_flip(a, b) for a, b in paired.aggregate.flipped],
        fixes=[_flip(a, b) for a, b in paired.aggregate.fixed],
        warnings=_warnings(run_a, run_b),
        alpha=alpha,
        undetectable=undetectable,
    )


def _weights(results: Mapping[str, Any]) -> dict[str, float]:
    return {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()}


def _delta(paired: PairedDelta, rule: RegressionRule, checks: int) -> Delta:
    low, high = paired.interval(CONFIDENCE)
    detectable = float(rule.detectable_drop(paired.test, checks))
    return Delta(paired.name, paired.n, paired.mean_a, paired.mean_b, paired.delta, low, high, detectable)


def _flip(a: Item, b: Item) -> Flip:
    return Flip(a["id"], a["capability"], a["level"], a["score"], b["score"], b["failure"], b["explanation"])


def _warnings(run_a: Run, run_b: Run) -> list[str]:
    a, b = run_a.results, run_b.results
    warnings = []
    tier_a, tier_b = a["dataset"]["tier"], b["dataset"]["tier"]
    if tier_a != tier_b:
        warnings.append(f"the runs use different tiers: {tier_a} ({run_a.source}) and {tier_b} ({run_b.source})")
    hash_a, hash_b = a["dataset"]["content_hash"], b["dataset"]["content_hash"]
    if hash_a != hash_b:
        warnings.append(
            f"the runs use different datasets (sha256 {hash_a[:12]} vs {hash_b[:12]}): a case id may not mean "
            "the same case in both"
        )
    if _weights(a) != _weights(b):
        warnings.append(f"the capability weights differ; the aggregate uses those of {run_a.source}")
    mode_a, mode_b = _answer_mode(a), _answer_mode(b)
    if mode_a != mode_b:
        warnings.append(
            f"the runs were answered differently: {mode_a} ({run_a.source}) and {mode_b} ({run_b.source}); "
            "the deltas are what the serving path costs, not a change of the model"
        )
    return warnings


def _answer_mode(results: Mapping[str, Any]) -> str:
    """How a run's model answered: content, or tools with its tool_choice (older runs: content)."""
    config = results.get("config") or {}
    mode = config.get("answer_mode", "content")
    return f"tools mode, tool_choice {config.get('tool_choice', 'auto')}" if mode == "tools" else f"{mode} mode"


def render_markdown(comparison: Comparison) -> str:
    c = comparison
    lines = [
        f"## taskbench compare: {markdown_text(c.a)} → {markdown_text(c.b)}",
        "",
        f"{c.common} common cases ({c.only_a} only in A, {c.only_b} only in B). Delta is B − A with a paired "
        f"{100 * CONFIDENCE:.0f}% interval clustered by template; **bold** when the interval excludes 0. "
        f"{_detectable_note(c)}",
    ]
    if c.warnings:
        lines += ["", "> [!WARNING]", *(f"> - {markdown_text(w, limit=400)}" for w in c.warnings)]
    lines += ["", "| | n | A | B | delta [95% CI] | detectable drop |", "|---|--:|--:|--:|--:|--:|"]
    for delta in [*c.capabilities, c.aggregate]:
        shown = f"{_signed(delta.delta)} {_delta_interval(delta)}"
        lines.append(
            f"| {delta.name} | {delta.n} | {percent(delta.mean_a, 1)} | {percent(delta.mean_b, 1)} | "
            + (f"**{shown}** |" if delta.significant else f"{shown} |")
            + f" {_size(delta.detectable_drop)} |"
        )
    lines.append(f"\nThe aggregate covers weight {c.aggregate_weight:.2f} of 1.00 (not renormalised).")
    lines += [f"\n{markdown_text(sentence, limit=400)}" for sentence in c.undetectable]
    for title, flips in (("pass → fail", c.regressions), ("fail → pass", c.fixes)):
        lines += ["", f"### {title}: {len(flips)}"]
        if flips:
            lines += ["", "| id | capability | level | A | B | B failure | B why |", "|---|---|---|--:|--:|---|---|"]
            lines += [
                f"| {markdown_text(f.id)} | {f.capability} | {f.level} | {f.score_a:.2f} | {f.score_b:.2f} | "
                f"{f.failure_b} | {markdown_text(f.explanation_b)} |"
                for f in flips
            ]
    return "\n".join(lines) + "\n"


def render_html(comparison: Comparison) -> str:
    return (
        template_environment()
        .get_template("compare.html.j2")
        .render(
            comparison=comparison,
            signed=_signed,
            size=_size,
            delta_interval=_delta_interval,
            confidence=CONFIDENCE,
            detectable_note=_detectable_note(comparison),
        )
    )


def _detectable_note(comparison: Comparison) -> str:
    checks = len(comparison.capabilities) + 1
    return (
        f"Detectable drop: the true drop the gate detects with {100 * POWER:.0f}% power at one-sided alpha "
        f"{comparison.alpha:g}, Holm over these {checks} checks."
    )


def _size(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f} pt"


def _signed(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:+.1f} pt"


def _delta_interval(delta: Delta) -> str:
    return f"[{100 * delta.low:+.1f}, {100 * delta.high:+.1f}]"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("compare", help="compare two runs on their common cases (B - A)")
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="run folder or results.json (the baseline)")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="run folder or results.json (the candidate)")
    parser.add_argument("--format", choices=FORMATS, default="md", help="md (default) or html")
    parser.add_argument(
        "--alpha",
        type=argument_type(significance_level),
        default=0.05,
        help="one-sided level the detectable drops are stated at (default 0.05)",
    )
    parser.add_argument(
        "--max-regression",
        type=argument_type(fraction),
        metavar="X",
        help="the drop that matters (0.02 = 2 pt): say which checks cannot detect it",
    )
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")
    parser.set_defaults(run=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    comparison = compare_runs(
        load_run(args.run_a), load_run(args.run_b), alpha=args.alpha, max_regression=args.max_regression
    )
    for warning in comparison.warnings:
        print(f"taskbench compare: warning: {warning}", file=sys.stderr)
    text = render_html(comparison) if args.format == "html" else render_markdown(comparison)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"taskbench compare: wrote {args.out}", file=sys.stderr)
    return 0
