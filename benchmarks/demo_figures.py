"""The embedded demo model's figures on this machine, as the README quotes them: `pytest evals/ --tier TIER` on
the embedded default (taskbench builds the model if needed and starts vLLM on it), then the weighted aggregate,
the score by level and by capability, and the episodes kept right, with the build they come from.

The build is seeded, but torch's CPU kernels round differently on different CPUs, so another machine can build
other weights from the same inputs: the line `weights sha256` tells two builds apart. CI prints these figures
on every fresh machine it runs on; the README gives the spread seen.

    .venv/bin/python benchmarks/demo_figures.py [--tier gate] [--reports DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from bench import ROOT, latest_results, run_pytest

from taskbench.paths import TIERS
from taskbench.reports.format import interval, percent


def weights_digest(model_root: Path) -> str:
    return hashlib.sha256((model_root / "model.safetensors").read_bytes()).hexdigest()[:16]


def figures(results: dict) -> list[str]:
    model_root = Path(results["model"]["root"])
    build = json.loads((model_root / "build.json").read_text(encoding="utf-8"))
    aggregate = results["summary"]["aggregate"]
    levels = results["analysis"]["failure_patterns"]["score_by_level"]["levels"]
    capabilities = results["summary"]["capabilities"]
    episodes = results.get("episodes") or {}
    lines = [
        f"demo model {model_root.name}: weights sha256 {weights_digest(model_root)}, final loss "
        f"{build['final_loss']:.4f}, built in {build['build_seconds']:.0f} s",
        f"tier {results['dataset']['tier']}: weighted aggregate {percent(aggregate['value'], 1)} "
        f"(95 % CI {interval(aggregate['ci'], 1)}, {aggregate['templates']} templates)",
        "by level: " + ", ".join(f"{s['level']} {percent(s['mean'])}" for s in levels if s["n"]),
        "by capability: " + ", ".join(f"{name} {percent(cell['mean'])}" for name, cell in capabilities.items()),
    ]
    if episodes:
        lines.append(
            f"episodes kept right: {episodes['passed']} of {episodes['episodes']} ({episodes['mode']} mode; turn "
            f"accuracy {percent(episodes['turn_accuracy'])})"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=TIERS, default="gate", help="tier to run (default gate)")
    parser.add_argument("--reports", type=Path, help="where the run folder goes (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        reports = args.reports or Path(scratch) / "reports"
        command = ["evals/", "-q", "-p", "no:cacheprovider", "--tier", args.tier, "--reports-dir", str(reports)]
        run = run_pytest([*command, "--no-cache"], ROOT)
        if run.returncode not in (0, 1):  # 1: some cases failed, which a model is allowed
            print(run.output[-4000:], file=sys.stderr)
            print(f"pytest evals/ ended with exit {run.returncode}", file=sys.stderr)
            return 1
        print("\n".join(figures(latest_results(reports))))
        print(f"pytest evals/ --tier {args.tier}: {run.seconds:.0f} s wall, including the server's start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
