"""`taskbench plan --detect 0.02`: how many cases and templates a gate needs to detect a drop of that size.

The answer scales a previous run's variance: every variance term of the detectable drop falls as 1 / size, so
the factor solves D = detectable drop at (factor x the cases), at the same cases per template (so as many times
the templates). The detectable drop is the gate's own (taskbench.gate.checks.RegressionRule, 80 % power, Holm's
first step in superiority mode).

The variance comes from
* two runs of the same cases (`--from A --against B`: e.g. two checkpoints, or two seeds at temperature > 0):
  their paired, template-clustered variance, exactly what the gate would see;
* one run (`--from A`): a model of the next change, in which a share `--churn` of the cases (default 10 %)
  get a fresh answer. A fresh answer differs from the old as two draws from the case's template do, so the
  variance of a paired difference is 2 x churn x the run's within-template variance.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from rich.table import Table
from rich.text import Text

from taskbench.artifacts import LATEST_LINK, load_results
from taskbench.errors import TaskbenchError
from taskbench.gate.checks import NON_INFERIORITY, POWER, SUPERIORITY, RegressionRule
from taskbench.gate.paired import pair_runs
from taskbench.options import argument_type, fraction, significance_level
from taskbench.reports.format import NO_VALUE
from taskbench.reports.terminal import command_console
from taskbench.results import stats

DEFAULT_CHURN = 0.10


@dataclass(frozen=True)
class PlanRow:
    name: str
    cases: int
    templates: int
    detectable_drop: float
    scale: float  # how many times the cases (and templates) the target needs; inf when the run has no variance

    def needed(self, count: int) -> int | None:
        return (
            None if math.isinf(self.scale) or math.isnan(self.scale) else math.ceil(count * max(self.scale, 0) - 1e-9)
        )  # 1e-9: a factor of 1 computed as 1.0000000000000002


def plan(
    tests: Mapping[str, stats.PairedTest], aggregate: stats.PairedTest, rule: RegressionRule, detect: float
) -> list[PlanRow]:
    """One row per capability and one for the weighted aggregate (scaling every capability alike)."""
    checks = len(tests) + 1
    rows = []
    for name, test in [*tests.items(), ("weighted aggregate", aggregate)]:
        detectable = float(rule.detectable_drop(test, checks))
        rows.append(PlanRow(name, test.n, test.clusters, detectable, float(rule.size_factor(test, checks, detect))))
    return rows


def churn_tests(
    items: Sequence[Mapping[str, Any]], weights: Mapping[str, float], churn: float
) -> tuple[dict[str, stats.PairedTest], stats.PairedTest]:
    """The paired tests a change that gives a share `churn` of the cases fresh answers would meet, from one run."""
    tests = {}
    for name in weights:
        scores = [(item["template"], item["score"]) for item in items if item["capability"] == name]
        if not scores:
            continue
        templates = sorted({template for template, _ in scores})
        values = np.array([score for _, score in scores])
        of_template = np.array([templates.index(template) for template, _ in scores])
        means = np.bincount(of_template, weights=values) / np.bincount(of_template)
        spread = max(len(values) - len(templates), 1)
        within = float(((values - means[of_template]) ** 2).sum() / spread)
        stderr = math.sqrt(2 * churn * within / len(values))
        tests[name] = stats.PairedTest(
            0.0, stderr, max(len(templates) - 1, 1), 0.0, len(values), len(templates), 1 / len(values)
        )
    covered = {name: weights[name] for name in tests}
    variance = sum(covered[name] ** 2 * test.stderr**2 for name, test in tests.items())
    terms = sum((covered[name] ** 2 * test.stderr**2) ** 2 / test.dof for name, test in tests.items())
    dof = variance**2 / terms if terms > 0 else math.inf
    aggregate = stats.PairedTest(
        0.0,
        math.sqrt(variance),
        dof,
        0.0,
        sum(test.n for test in tests.values()),
        sum(test.clusters for test in tests.values()),
        sum(covered[name] ** 2 * test.case_variance for name, test in tests.items()),
    )
    return tests, aggregate


PLAN_HEADERS = ("", "cases", "templates", "detectable now", "needed: cases", "needed: templates")
NEEDED_NOTE = (
    "Needed: for that check to detect the drop, at the run's cases per template (the aggregate's row scales every "
    "capability alike). Fewer than now means the run already detects it."
)


def _title(detect: float, rule: RegressionRule) -> str:
    level = f"one-sided alpha {rule.alpha:g}" + (", Holm" if rule.mode == SUPERIORITY else ", non-inferiority")
    return f"taskbench plan: detecting a drop of {100 * detect:.1f} pt ({100 * POWER:.0f}% power, {level})"


def _cells(row: PlanRow) -> tuple[str, ...]:
    cases, templates = row.needed(row.cases), row.needed(row.templates)
    return (
        row.name,
        str(row.cases),
        str(row.templates),
        f"{100 * row.detectable_drop:.1f} pt",
        NO_VALUE if cases is None else str(cases),
        NO_VALUE if templates is None else str(templates),
    )


def render(rows: Sequence[PlanRow], detect: float, rule: RegressionRule, source: str) -> str:
    """The plan as Markdown (a PR comment, a file)."""
    lines = [
        f"## {_title(detect, rule)}",
        "",
        source,
        "",
        "| " + " | ".join(PLAN_HEADERS) + " |",
        "|---|" + "--:|" * (len(PLAN_HEADERS) - 1),
        *("| " + " | ".join(_cells(row)) + " |" for row in rows),
        "",
        NEEDED_NOTE,
    ]
    return "\n".join(lines) + "\n"


def render_terminal(rows: Sequence[PlanRow], detect: float, rule: RegressionRule, source: str, out: IO[str]) -> None:
    """The plan as a rich table."""
    console = command_console(out)
    console.print(Text(_title(detect, rule), style="bold"), soft_wrap=True)
    console.print(Text(source, style="dim"), soft_wrap=True)
    table = Table(show_edge=False)
    for i, header in enumerate(PLAN_HEADERS):
        table.add_column(Text(header), justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in _cells(row)))
    console.print(table)
    console.print(Text(NEEDED_NOTE, style="dim"), soft_wrap=True)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("plan", help="how many cases and templates a gate needs to detect a drop")
    parser.add_argument(
        "--detect", type=argument_type(fraction), required=True, metavar="DROP", help="the drop to detect (0.02 = 2 pt)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=Path("reports") / LATEST_LINK,
        metavar="RUN",
        help="run folder or results.json whose variance to scale (default: reports/latest)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="RUN_B",
        help="a second run of the same cases: use the two runs' measured paired variance instead of --churn",
    )
    parser.add_argument(
        "--churn",
        type=argument_type(fraction),
        default=DEFAULT_CHURN,
        help=f"with one run: the share of cases the next change answers afresh (default {DEFAULT_CHURN:g})",
    )
    parser.add_argument("--alpha", type=argument_type(significance_level), default=0.05, help="default 0.05")
    parser.add_argument("--mode", choices=(SUPERIORITY, NON_INFERIORITY), default=SUPERIORITY)
    parser.add_argument(
        "--format", choices=("terminal", "md"), default="terminal", help="terminal (a rich table, the default) or md"
    )
    parser.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    if args.detect <= 0:
        raise TaskbenchError("--detect must be above 0: no run detects a drop of 0")
    results = load_results(args.source)
    weights = {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()}
    rule = RegressionRule(mode=args.mode, alpha=args.alpha)
    if args.against is None:
        tests, aggregate = churn_tests(results["items"], weights, args.churn)
        source = (
            f"Variance of {args.source}, for a change that answers {100 * args.churn:.0f}% of the cases afresh "
            "(--churn)."
        )
    else:
        paired = pair_runs(results["items"], load_results(args.against)["items"], weights)
        if paired is None:
            raise TaskbenchError(f"{args.source} and {args.against} share no case ids: no paired variance")
        tests = {delta.name: delta.test for delta in paired.capabilities}
        aggregate = paired.aggregate.test
        source = f"Paired variance of {args.source} and {args.against} ({paired.common} common cases)."
    if not tests:
        raise TaskbenchError(f"{args.source}: no scored cases to plan from")
    rows = plan(tests, aggregate, rule, args.detect)
    if args.format == "md":
        sys.stdout.write(render(rows, args.detect, rule, source))
    else:
        render_terminal(rows, args.detect, rule, source, sys.stdout)
    return 0
