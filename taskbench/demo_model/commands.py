"""`taskbench model build|path`: build the demo model ahead of a run, or find it."""

from __future__ import annotations

import argparse
import sys
import time

from taskbench.demo_model import demo_model_dir, ensure_demo_model
from taskbench.demo_model.adapter import ensure_demo_adapter


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model", help="the embedded demo model", description="The demo model taskbench trains and serves by default."
    )
    commands = parser.add_subparsers(dest="model_command", required=True, metavar="SUBCOMMAND")
    build = commands.add_parser("build", help="train the demo model into the cache unless its inputs are unchanged")
    build.add_argument("--force", action="store_true", help="rebuild even when a build for these inputs exists")
    build.add_argument(
        "--adapter",
        action="store_true",
        help="also train the LoRA adapter on the 25 %% checkpoint (for sweeps; `pytest --demo-sweep` builds it too)",
    )
    build.set_defaults(run=run_build)
    path = commands.add_parser("path", help="print the demo model's folder for the current inputs (built or not)")
    path.set_defaults(run=run_path)


def run_build(args: argparse.Namespace) -> int:
    started = time.monotonic()
    existed = demo_model_dir().is_dir()
    folder = ensure_demo_model(lambda line: print(line, file=sys.stderr, flush=True), force=args.force)
    if existed and not args.force:
        print(f"already built: {folder}")
    else:
        print(f"built in {time.monotonic() - started:.0f} s: {folder}")
    if args.adapter:
        print(f"adapter: {ensure_demo_adapter(lambda line: print(line, file=sys.stderr, flush=True))}")
    return 0


def run_path(args: argparse.Namespace) -> int:
    print(demo_model_dir())
    return 0
