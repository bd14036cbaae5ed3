"""`taskbench compare RUN_A RUN_B`: what changed from run A to run B, on the cases both scored.

Deltas are B - A with paired cluster-bootstrap intervals (taskbench.results.stats; templates are the units), per
capability and for the weighted aggregate over the capabilities both runs cover, with their real weights
(never renormalised). Cases that flipped pass -> fail (regressions) and fail -> pass (fixes) are listed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskbench.artifacts import RESULTS_FILE
from taskbench.errors import TaskbenchError
from taskbench.reports.html import template_environment
from taskbench.reports.markdown import markdown_text, percent
from taskbench.results import stats
from taskbench.results.aggregate import CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, cluster_key
from taskbench.results.comparability import field_weight_difference

FORMATS = ("md", "html")


@dataclass(frozen=True)
class Run:
    """A results dict and where it was read from."""

    source: str
    results: Mapping[str, Any]


@dataclass(frozen=True)
class Delta:
    """B - A over `n` common cases: the two means and the paired interval of their difference."""

    name: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    low: float
    high: float

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


def load_run(path: Path) -> Run:
    """A run folder (its results.json) or a results.json itself."""
    file = path / RESULTS_FILE if path.is_dir() else path
    try:
        results = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaskbenchError(f"{file}: cannot read the results: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise TaskbenchError(f"{file}: not a results.json (invalid JSON: {exc})") from None
    if not isinstance(results, dict) or not isinstance(results.get("items"), list):
        raise TaskbenchError(f"{file}: not a results.json (no items list)")
    return Run(str(path), results)


def compare_runs(run_a: Run, run_b: Run, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Comparison:
    """Compare on the case ids both runs scored; TaskbenchError naming both when they share none or were scored
    with different field weights."""
    weights_changed = field_weight_difference(run_a.results, run_b.results)
    if weights_changed:
        raise TaskbenchError(
            f"{run_a.source} and {run_b.source} were scored with different entity_extraction field weights "
            f"({weights_changed}), so their scores do not measure the same thing: replay one run with the other's "
            "weights in fixtures/capabilities.toml (pytest evals/ --replay RUN) and compare the replay"
        )
    items_a = {item["id"]: item for item in run_a.results["items"]}
    items_b = {item["id"]: item for item in run_b.results["items"]}
    common = sorted(items_a.keys() & items_b.keys())
    if not common:
        raise TaskbenchError(
            f"{run_a.source} and {run_b.source} share no case ids: nothing to compare "
            f"({len(items_a)} and {len(items_b)} scored items)"
        )
    pairs = [(items_a[case_id], items_b[case_id]) for case_id in common]
    weights = _weights(run_a.results)
    names = [name for name in weights if any(a["capability"] == name for a, _ in pairs)]
    capabilities = [
        _delta(name, [(a, b) for a, b in pairs if a["capability"] == name], None, resamples, seed) for name in names
    ]
    covered = {name: weights[name] for name in names}
    return Comparison(
        a=run_a.source,
        b=run_b.source,
        common=len(common),
        only_a=len(items_a) - len(common),
        only_b=len(items_b) - len(common),
        capabilities=capabilities,
        aggregate=_delta("weighted aggregate", pairs, covered, resamples, seed),
        aggregate_weight=sum(covered.values()),
        regressions=[_flip(a, b) for a, b in pairs if a["passed"] and not b["passed"]],
        fixes=[_flip(a, b) for a, b in pairs if not a["passed"] and b["passed"]],
        warnings=_warnings(run_a, run_b),
    )


def _weights(results: Mapping[str, Any]) -> dict[str, float]:
    return {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()}


def _delta(
    name: str,
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    weights: Mapping[str, float] | None,
    resamples: int,
    seed: int,
) -> Delta:
    scores_a = [a["score"] for a, _ in pairs]
    scores_b = [b["score"] for _, b in pairs]
    clusters = [cluster_key(a) for a, _ in pairs]
    options = {"confidence": CONFIDENCE, "resamples": resamples, "seed": seed}
    if weights is None:
        estimate = stats.paired_delta_ci(scores_a, scores_b, clusters, **options)
        mean_a, mean_b = _mean(scores_a), _mean(scores_b)
    else:
        capabilities = [a["capability"] for a, _ in pairs]
        estimate = stats.weighted_paired_delta_ci(scores_a, scores_b, capabilities, weights, clusters, **options)
        mean_a = _weighted_mean(scores_a, capabilities, weights)
        mean_b = _weighted_mean(scores_b, capabilities, weights)
    return Delta(name, len(pairs), mean_a, mean_b, estimate.value, estimate.low, estimate.high)


def _mean(scores: Sequence[float]) -> float:
    return sum(scores) / len(scores)


def _weighted_mean(scores: Sequence[float], capabilities: Sequence[str], weights: Mapping[str, float]) -> float:
    return sum(
        weight * _mean([s for s, c in zip(scores, capabilities, strict=True) if c == name])
        for name, weight in weights.items()
    )


def _flip(a: Mapping[str, Any], b: Mapping[str, Any]) -> Flip:
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
    return warnings


def render_markdown(comparison: Comparison) -> str:
    c = comparison
    lines = [
        f"## taskbench compare: {markdown_text(c.a)} → {markdown_text(c.b)}",
        "",
        f"{c.common} common cases ({c.only_a} only in A, {c.only_b} only in B). Delta is B − A with a paired "
        f"{100 * CONFIDENCE:.0f}% interval clustered by template; **bold** when the interval excludes 0.",
    ]
    if c.warnings:
        lines += ["", "> [!WARNING]", *(f"> - {markdown_text(w, limit=400)}" for w in c.warnings)]
    lines += ["", "| | n | A | B | delta [95% CI] |", "|---|--:|--:|--:|--:|"]
    for delta in [*c.capabilities, c.aggregate]:
        shown = f"{_signed(delta.delta)} {_delta_interval(delta)}"
        lines.append(
            f"| {delta.name} | {delta.n} | {percent(delta.mean_a, 1)} | {percent(delta.mean_b, 1)} | "
            + (f"**{shown}** |" if delta.significant else f"{shown} |")
        )
    lines.append(f"\nThe aggregate covers weight {c.aggregate_weight:.2f} of 1.00 (not renormalised).")
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
        .render(comparison=comparison, signed=_signed, delta_interval=_delta_interval, confidence=CONFIDENCE)
    )


def _signed(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:+.1f} pt"


def _delta_interval(delta: Delta) -> str:
    return f"[{100 * delta.low:+.1f}, {100 * delta.high:+.1f}]"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("compare", help="compare two runs on their common cases (B - A)")
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="run folder or results.json (the baseline)")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="run folder or results.json (the candidate)")
    parser.add_argument("--format", choices=FORMATS, default="md", help="md (default) or html")
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")
    parser.set_defaults(run=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    comparison = compare_runs(load_run(args.run_a), load_run(args.run_b))
    for warning in comparison.warnings:
        print(f"taskbench compare: warning: {warning}", file=sys.stderr)
    text = render_html(comparison) if args.format == "html" else render_markdown(comparison)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"taskbench compare: wrote {args.out}", file=sys.stderr)
    return 0
