"""`taskbench export lm-eval` and `taskbench import lm-eval`: the command-line side of taskbench.lmeval."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from taskbench.model.prompts import DEFAULT_SYSTEM_PROMPT, system_prompt_path
from taskbench.paths import TIERS

LM_EVAL = "lm-eval"


def register(subparsers: Any) -> None:
    export = subparsers.add_parser("export", help="write the benchmark in another harness's format")
    formats = export.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    lm_eval = formats.add_parser(LM_EVAL, help="an lm-evaluation-harness task folder (YAML, JSONL, utils.py)")
    lm_eval.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write (lm_eval --include_path)")
    lm_eval.add_argument("--tier", choices=TIERS, default="dev", help="dataset tier to export (default: dev)")
    lm_eval.add_argument(
        "--system-prompt",
        type=system_prompt_path,
        default=DEFAULT_SYSTEM_PROMPT,
        help="jinja2 template of the system prompt, as pytest's --system-prompt (default: taskbench's)",
    )
    lm_eval.set_defaults(run=run_export)

    imports = subparsers.add_parser("import", help="turn another harness's saved answers into taskbench's reports")
    sources = imports.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    samples = sources.add_parser(LM_EVAL, help="lm_eval --log_samples output of an exported task")
    samples.add_argument("samples", type=Path, metavar="SAMPLES.jsonl", help="lm_eval's samples_<task>_<time>.jsonl")
    samples.add_argument("--out", type=Path, help="run folder to write (default: reports/<UTC timestamp>)")
    samples.set_defaults(run=run_import)


def run_export(args: argparse.Namespace) -> int:
    from taskbench.lmeval.export import export_task, lm_eval_command

    task = export_task(args.out_dir, args.tier, args.system_prompt)
    print(f"taskbench export: wrote {task.docs} documents to {task.folder}; run it with", file=sys.stderr)
    print(shlex.join(lm_eval_command("http://HOST:PORT", "NAME", task.folder, task.name)))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from rich.console import Console

    from taskbench.artifacts import RESULTS_FILE, new_run_id
    from taskbench.lmeval.importer import import_samples
    from taskbench.reports.terminal import aggregate_line, summary_table

    run_dir = args.out or Path("reports") / new_run_id()
    results = import_samples(args.samples, run_dir)
    Console(width=120).print(summary_table(results["summary"]))
    print(aggregate_line(results["summary"]))
    print(f"results: {run_dir / RESULTS_FILE}")
    return 0
