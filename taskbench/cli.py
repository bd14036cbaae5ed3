"""The `taskbench` command: one subcommand per concern, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from taskbench.errors import TaskbenchError

# Each module defines `register(subparsers)`, adding its subcommands with `set_defaults(run=...)`.
COMMAND_MODULES = (
    "taskbench.datagen.commands",
    "taskbench.demo_model.commands",
    "taskbench.gate.compare",
    "taskbench.gate.plan",
    "taskbench.lmeval.commands",
    "taskbench.fuzz.commands",
    "taskbench.history",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskbench", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except TaskbenchError as exc:
        print(f"taskbench {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"taskbench {args.command}: interrupted", file=sys.stderr)
        return 130
