"""What the gate catches, by simulation: for the gate and full tiers and both modes, the share of gate runs that
fail when nothing changed and when every capability truly dropped by 2 or 5 points, plus the detectable drop
(superiority) or provable margin (non-inferiority) the gate states for an unchanged run (the median over runs),
for the aggregate check and the range over the capability checks.

Simulated runs keep each tier's real cases and templates (fixtures/tiers, read now: rerun after the tiers
change); template pass rates come from --run (its template means, e.g. a run of the demo model) or are drawn.
Between baseline and candidate a share --churn of the cases get a fresh answer (tests/gate_simulation.py). The
gate's own code judges every run: taskbench.results.stats.paired_test and taskbench.gate.checks.RegressionRule
(Holm, alpha 0.05; non-inferiority at --margin).

    .venv/bin/python benchmarks/gate_power.py [--run reports/latest] [--runs 4000] [--churn 0.1] [--margin 0.02]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gate_simulation import judged, tier_shape

from taskbench.artifacts import load_results
from taskbench.gate.checks import NON_INFERIORITY, SUPERIORITY, RegressionRule
from taskbench.results.aggregate import cluster_key

DROPS = (0.0, 0.02, 0.05)


def template_rates(run: Path) -> dict[str, float]:
    scores: dict[str, list[float]] = defaultdict(list)
    for item in load_results(run)["items"]:
        scores[cluster_key(item)].append(item["score"])
    return {template: float(np.mean(values)) for template, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="run folder or results.json whose template pass rates to use")
    parser.add_argument("--tiers", nargs="+", default=["gate", "full"])
    parser.add_argument("--runs", type=int, default=4000, help="simulated gate runs per cell")
    parser.add_argument("--churn", type=float, default=0.10, help="share of cases answered afresh (default 0.10)")
    parser.add_argument("--margin", type=float, default=0.02, help="non-inferiority max_regression (default 0.02)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rates = template_rates(args.run) if args.run else None
    source = f"template pass rates of {args.run}" if args.run else "drawn template pass rates (Beta mean 0.75)"
    print(f"{args.runs} simulated gate runs per cell, churn {args.churn:g}, {source}; alpha 0.05 (Holm)\n")
    print("| tier | mode | stated for an unchanged run | fails, no change | fails, 2 pt drop | fails, 5 pt drop |")
    print("|---|---|--:|--:|--:|--:|")
    for tier in args.tiers:
        shape = tier_shape(tier, rates, seed=args.seed)
        for rule in (RegressionRule(), RegressionRule(mode=NON_INFERIORITY, max_regression=args.margin)):
            rates_failing = []
            stated = ""
            for index, drop in enumerate(DROPS):
                failing, tests = judged(shape, rule, args.runs, churn=args.churn, drop=drop, seed=args.seed + index)
                rates_failing.append(failing.any(axis=0).mean())
                if drop == 0:
                    values = [100 * float(np.median(rule.detectable_drop(test, len(tests)))) for test in tests]
                    what = "detectable drop" if rule.mode == SUPERIORITY else "provable margin"
                    stated = f"{what}: aggregate {values[-1]:.1f} pt, capabilities {min(values[:-1]):.1f}-"
                    stated += f"{max(values[:-1]):.1f} pt"
            mode = rule.mode if rule.mode == SUPERIORITY else f"{rule.mode} ({100 * args.margin:.0f} pt)"
            cells = " | ".join(f"{100 * rate:.1f}%" for rate in rates_failing)
            print(f"| {tier} | {mode} | {stated} | {cells} |")


if __name__ == "__main__":
    main()
