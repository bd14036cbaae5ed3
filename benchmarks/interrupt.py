"""Ctrl-C during generation: how long from SIGINT to the end of pytest, and how many answers are kept.

An 8,000-request run against the demo model on real vLLM (the full tier's 1,000 cases x `--samples 8` at
`--temperature 0.8`, the case items only), with a response cache of its own. `--after` seconds after the
first answer is stored, SIGINT goes to pytest's process group, as a terminal's Ctrl-C does. Then the same
command runs again: it must send only the requests whose answers had not arrived.

    .venv/bin/python benchmarks/interrupt.py [--after 8] [--model-url URL | --spawn]

By default the script starts the demo model's server itself and hands its URL to pytest; with --spawn pytest
starts it (`pytest evals/` with no model option), so the time to exit includes stopping it, and the script
checks that none of its processes is left.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import CASE_EVALS, ROOT

from taskbench.model.cache import ResponseCache, cache_file
from taskbench.model.server import group_alive

SAMPLES = 8
RUN = (*CASE_EVALS, "-q", "-p", "no:cacheprovider", "--tier", "full", "--samples", str(SAMPLES), "--temperature", "0.8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--after", type=float, default=8.0, help="seconds of generation before Ctrl-C (default 8)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--model-url", help="a running server of the demo model (default: start one here)")
    where.add_argument("--spawn", action="store_true", help="let pytest start the demo model's server itself")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, server_url(args) as url:
        measure(Path(scratch), url, args.after)


@contextlib.contextmanager
def server_url(args: argparse.Namespace) -> Iterator[str | None]:
    if args.model_url or args.spawn:
        yield args.model_url
        return
    from taskbench.demo_model import demo_model_server

    with tempfile.TemporaryDirectory() as logs, demo_model_server(Path(logs) / "vllm.log", print) as server:
        yield server.url


def measure(work: Path, url: str | None, after_s: float) -> None:
    cache_dir = work / "cache"
    command = [sys.executable, "-m", "pytest", *RUN, "--cache-dir", str(cache_dir), "--reports-dir", str(work)]
    command += ["--model-url", url] if url else []
    # Its own process group, SIGINT at its default: pytest as a terminal's foreground job.
    run = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )
    cache = cache_file(cache_dir)
    while stored(cache) == 0:
        if run.poll() is not None:
            sys.exit(f"pytest ended before generating: {run.stdout.read().decode()[-3000:]}")
        time.sleep(0.05)
    time.sleep(after_s)
    servers = spawned_groups(work) if url is None else set()
    os.killpg(run.pid, signal.SIGINT)  # a terminal's Ctrl-C: pytest's whole process group
    interrupted = time.perf_counter()
    output = run.communicate()[0].decode()
    exit_s = time.perf_counter() - interrupted
    kept = stored(cache)
    results = json.loads(next(work.glob("*/results.json")).read_text(encoding="utf-8"))
    line = next((line for line in output.splitlines() if "taskbench: interrupted" in line), "(no line)")
    print(f"SIGINT {after_s:g} s into generation -> exit {run.returncode} after {exit_s:.2f} s")
    print(
        f"answers kept in the cache: {kept} of {SAMPLES * 1000}; results.json complete={results['complete']}, "
        f"generation={results['generation']}"
    )
    print(f"the line: {line}")
    if url is None:
        left = {group for group in servers if group_alive(group)}
        print(f"spawned vLLM process groups {sorted(servers)}: {'none left' if not left else f'LEFT: {left}'}")

    started = time.perf_counter()
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    rerun = max(work.glob("*/results.json"), key=lambda path: path.stat().st_mtime)
    generation = json.loads(rerun.read_text(encoding="utf-8"))["generation"]
    print(
        f"rerun: exit {again.returncode} in {time.perf_counter() - started:.1f} s; {generation['from_cache']} "
        f"answers from the cache, {generation['sent']} sent (expected {SAMPLES * 1000 - kept})"
    )


def stored(path: Path) -> int:
    if not path.is_file():
        return 0
    with ResponseCache(path) as cache:
        return len(cache)


def spawned_groups(work: Path) -> set[int]:
    """Process groups of the vLLM server this run started: its command, port and all, heads its log."""
    ports = {m.group(1) for log in work.glob("*/vllm.log") for m in re.finditer(r"--port (\d+)", log.read_text())}
    groups = set()
    for line in subprocess.run(["ps", "-eo", "pgid=,args="], capture_output=True, text=True).stdout.splitlines():
        if "vllm" in line and any(f"--port {port} " in line + " " for port in ports):
            groups.add(int(line.split()[0]))
    return groups


if __name__ == "__main__":
    main()
