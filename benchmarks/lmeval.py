"""lm-evaluation-harness against `pytest evals/` on the same vLLM server and the same cases: wall time of each
whole command, as a user waits for it, and their ratio.

The tier is exported with `taskbench export lm-eval` and run by the lm_eval package (local-chat-completions,
--apply_chat_template) at several num_concurrent values; `pytest evals/` runs at its default --concurrency.
Both send the same requests (same messages, max_tokens, temperature and seed) with no response cache, after one
untimed warm-up run, so neither pays for the server's first requests. Every command runs --repeats times,
interleaved, and the fastest run counts (other load on the machine only ever slows a run down). The weighted
score column shows both did the same work.

    .venv/bin/python benchmarks/lmeval.py [--tier dev] [--num-concurrent 1 8 64] [--repeats 3] [--model-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import PYTEST_QUIET, PytestRun, latest_results, load_average, phase_line, print_table, run_pytest

from taskbench.demo_model import SERVED_NAME, demo_model_server
from taskbench.lmeval.export import ExportedTask, export_task, lm_eval_command
from taskbench.options import OPTIONS_BY_NAME
from taskbench.paths import TIERS

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@dataclass(frozen=True)
class LmEvalRun:
    seconds: float
    weighted_score: float


@contextlib.contextmanager
def served(model_url: str | None, work: Path) -> Iterator[tuple[str, str]]:
    """(URL, served name): the given server, or vLLM started on the demo model for the benchmark."""
    if model_url:
        yield model_url, SERVED_NAME
        return
    with demo_model_server(work / "vllm.log") as server:
        yield server.url, SERVED_NAME


def run_lm_eval(url: str, model: str, task: ExportedTask, num_concurrent: int, out: Path, *extra: str) -> LmEvalRun:
    command = [sys.executable, "-m", *lm_eval_command(url, model, task.folder, task.name, num_concurrent, out), *extra]
    env = {**os.environ, **OFFLINE, "HF_DATASETS_CACHE": str(out / "hf")}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"lm_eval failed ({done.returncode}):\n{done.stderr[-3000:]}")
    (results,) = out.rglob("results_*.json")
    metrics = json.loads(results.read_text(encoding="utf-8"))["results"][task.name]
    return LmEvalRun(seconds, metrics["weighted_score,none"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=TIERS, default="dev", help="tier to run (default dev)")
    parser.add_argument("--num-concurrent", type=int, nargs="+", default=[1, 8, 64], help="lm_eval's to try")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command; the fastest counts (default 3)")
    parser.add_argument("--model-url", help="a running server of the demo model (default: start vLLM on it)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch, served(args.model_url, Path(scratch)) as (url, model):
        work = Path(scratch)
        task = export_task(work / "task", args.tier)
        pytest_args = ["evals", *PYTEST_QUIET, "--model-url", url, "--no-cache", "--tier", args.tier]
        run_pytest([*pytest_args, "--reports-dir", str(work / "warm-up")], ROOT)  # untimed warm-up
        natives: list[PytestRun] = []
        start_ups: list[LmEvalRun] = []
        runs: defaultdict[int, list[LmEvalRun]] = defaultdict(list)
        for repeat in range(args.repeats):
            natives.append(run_pytest([*pytest_args, "--reports-dir", str(work / f"reports-{repeat}")], ROOT))
            start_ups.append(run_lm_eval(url, model, task, 1, work / f"limit-1-{repeat}", "--limit", "1"))
            for n in args.num_concurrent:
                runs[n].append(run_lm_eval(url, model, task, n, work / f"lm_eval-{n}-{repeat}"))
        native = min(natives, key=lambda run: run.seconds)
        native_score = latest_results(work / "reports-0")["summary"]["aggregate"]["value"]
        start_up = min(start_ups, key=lambda run: run.seconds)
        fastest = {n: min(timings, key=lambda run: run.seconds) for n, timings in runs.items()}

    best = min(fastest, key=lambda n: fastest[n].seconds)
    concurrency = OPTIONS_BY_NAME["concurrency"].default
    rows = [[f"`pytest evals/` (--concurrency {concurrency})", f"{native.seconds:.1f}", "1.00", f"{native_score:.4f}"]]
    rows += [
        [
            f"lm_eval num_concurrent={n}" + (" (best)" if n == best else ""),
            f"{run.seconds:.1f}",
            f"{run.seconds / native.seconds:.2f}",
            f"{run.weighted_score:.4f}",
        ]
        for n, run in fastest.items()
    ]
    rows.append(["lm_eval --limit 1 (its start-up)", f"{start_up.seconds:.1f}", "", ""])
    print_table(
        f"{args.tier} tier ({task.docs} cases), demo model on vLLM, fastest of {args.repeats}; "
        f"load average {load_average():.1f}",
        ["command", "wall s", "x pytest", "weighted score"],
        rows,
    )
    print(f"\npytest phases: {phase_line(native)}")
    print(f"lm_eval at its best (num_concurrent={best}) takes {fastest[best].seconds / native.seconds:.1f}x as long")


if __name__ == "__main__":
    main()
