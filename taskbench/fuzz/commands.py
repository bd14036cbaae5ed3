"""The `taskbench promote` command: a fuzz run's minimal failures become regression cases."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from taskbench.fuzz.promote import REGRESSIONS, promote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("promote", help="turn a run's minimal fuzz failures into regression cases")
    parser.add_argument("run_path", type=Path, metavar="RUN", help="run folder or its results.json")
    parser.add_argument("--out", type=Path, default=REGRESSIONS, help=f"case file to append to (default {REGRESSIONS})")
    parser.set_defaults(run=run_promote)


def run_promote(args: argparse.Namespace) -> int:
    promotion = promote(args.run_path, args.out)
    for case in promotion.added:
        print(f"added {case['id']} ({case['template']}): {case['input']!r}")
    for reason in promotion.refused:
        print(f"refused {reason}")
    print(f"taskbench promote: {len(promotion.added)} added to {args.out}, {len(promotion.refused)} refused")
    return 0
