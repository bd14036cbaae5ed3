"""The harness's ceiling, with no model: how fast taskbench itself goes on this machine.

Every request goes to a loopback STAND-IN (benchmarks/oracle_standin.py: tests/standin.py in oracle mode, in
its own process) that answers at once with the case's expected answer. Nothing here measures inference;
every item passes and is scored in full. One run measures, on the same N distinct requests:

  (1)  a raw aiohttp client, every request started at once     requests/s
  (1b) httpx.AsyncClient and openai.AsyncOpenAI the same way,  requests/s, for the record (on --clients-n
       beside aiohttp                                            requests: httpx's pool is quadratic in them)
  (2)  taskbench's generation path (generate + ModelClient)     requests/s, target >= 0.8 x (1)
  (3)  `pytest evals/ --no-cache` end to end on N cases         items/s,    target >= 0.5 x (4)
  (4)  bare pytest on N trivial parametrized items              items/s
  (5)  `pytest evals/ --replay` of the run in (3)               wall seconds <= 8, peak RSS <= 500 MB

(3), (4) and (5) run --repeat times each ((4) and (5) alternated) and the run of median wall time is shown,
every run's time listed below the table: on a shared 2-core machine one run can be off by half a second.
`pytest evals/` means its case items (bench.CASE_EVALS: fuzzing and episodes are left out).

    .venv/bin/python benchmarks/ceiling.py [--n 10000] [--clients-n 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    CASE_EVALS,
    HARNESS_CONCURRENCY,
    PYTEST_QUIET,
    WITHOUT_TASKBENCH,
    PytestRun,
    bodies_for,
    copies,
    flag,
    full_tier,
    installed,
    latest_results,
    load_average,
    phase_line,
    print_table,
    raw_aiohttp,
    raw_httpx,
    raw_openai,
    requests_for,
    run_pytest,
    taskbench_generation,
    timed,
    write_bare_suite,
    write_cases,
)
from oracle_standin import SERVED_NAME, oracle_process

GENERATION_MIN_RATIO = 0.8
PYTEST_MIN_RATIO = 0.5
REPLAY_MAX_S = 8.0
RSS_MAX_MB = 500.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="requests, cases and items (default 10000)")
    parser.add_argument(
        "--clients-n", type=int, default=1000, help="requests for the aiohttp/httpx/openai comparison (default 1000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of (3), (4) and (5) each; the median run is shown (default 3)"
    )
    parser.add_argument("--keep", type=Path, help="keep the case file and reports in this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        measure(args.n, min(args.clients_n, args.n), max(args.repeat, 1), work)


def measure(n: int, clients_n: int, repeat: int, work: Path) -> None:
    print(f"load average before: {load_average():.2f} (2 cores: figures are noisy above ~1.5)")
    # Distinct requests, so the stand-in answers all N (taskbench sends identical requests only once).
    cases = copies(full_tier(), n, distinct_requests=True)
    cases_file = write_cases(work / "cases.jsonl", cases)
    requests = requests_for(cases)
    bodies = bodies_for(requests, SERVED_NAME)
    reports = work / "reports"
    evals = [*CASE_EVALS, "--cases", str(cases_file), "--reports-dir", str(reports), *PYTEST_QUIET]
    run_pytest([*CASE_EVALS, "--collect-only", *PYTEST_QUIET])  # warm-up: bytecode and file caches

    with oracle_process(cases_file) as url:
        timed(raw_aiohttp, url, bodies[:500], HARNESS_CONCURRENCY)  # warm-up: the stand-in's first requests
        clients = {"aiohttp": timed(raw_aiohttp, url, bodies[:clients_n], HARNESS_CONCURRENCY)}
        for module, client in (("httpx", raw_httpx), ("openai", raw_openai)):
            if installed(module):
                clients[module] = timed(client, url, bodies[:clients_n], HARNESS_CONCURRENCY)
        raw_s = timed(raw_aiohttp, url, bodies, HARNESS_CONCURRENCY)
        harness_s = timed(taskbench_generation, url, requests, HARNESS_CONCURRENCY)
        lives = [run_pytest([*evals, "--model-url", url, "--no-cache"]) for _ in range(repeat)]
    live_results = latest_results(reports)
    bare_suite = write_bare_suite(work / "bare", n)
    replays, bares = [], []
    for _ in range(repeat):  # alternated, so a noisy spell of the machine falls on both
        replays.append(run_pytest([*evals, "--replay", str(reports / live_results["run_id"])]))
        bares.append(run_pytest([str(bare_suite), *PYTEST_QUIET, *WITHOUT_TASKBENCH], work / "bare"))

    check(n, lives[-1], live_results, replays)
    print_clients(clients_n, clients)
    print_ceiling(n, raw_s, harness_s, median_run(lives), median_run(replays), median_run(bares))
    if repeat > 1:
        print(f"\nmedian of {repeat} runs each; all runs (wall seconds):")
        for name, runs in (("(3) evals", lives), ("(4) bare", bares), ("(5) replay", replays)):
            print(f"  {name}: {', '.join(f'{run.seconds:.1f}' for run in runs)}")
    print(f"\nload average after: {load_average():.2f}")


def median_run(runs: list[PytestRun]) -> PytestRun:
    """The run of median wall time (the lower middle one of an even count), with its own phases."""
    return sorted(runs, key=lambda run: run.seconds)[(len(runs) - 1) // 2]


def check(n: int, live: PytestRun, live_results: dict[str, Any], replays: list[PytestRun]) -> None:
    passed = sum(item["passed"] for item in live_results["items"])
    if live.returncode != 0 or passed != n:
        print(f"WARNING: the evals run exited {live.returncode} with {passed} of {n} items passed:\n{live.tail()}")
    for replay in replays:
        if replay.returncode != 0:
            print(f"WARNING: a replay exited {replay.returncode}:\n{replay.tail()}")


def print_clients(n: int, clients: dict[str, float]) -> None:
    aiohttp_s = clients["aiohttp"]
    print_table(
        f"HTTP clients against the stand-in: {n:,} requests started at once, {HARNESS_CONCURRENCY} connections",
        ["client", "time", "requests/s", "x aiohttp"],
        [[name, f"{s:.2f} s", f"{n / s:,.0f}", f"{aiohttp_s / s:.2f}"] for name, s in clients.items()],
    )


def print_ceiling(n: int, raw_s: float, harness_s: float, live: PytestRun, replay: PytestRun, bare: PytestRun) -> None:
    raw, harness = n / raw_s, n / harness_s
    evals_rate, bare_rate = n / live.seconds, n / bare.seconds
    print_table(
        f"taskbench's ceiling: {n:,} requests / items, loopback stand-in, no inference",
        ["measure", "figure", "target", "ratio"],
        [
            ["(1) raw aiohttp, all in flight", f"{raw:,.0f} requests/s", "", ""],
            [
                "(2) taskbench generation",
                f"{harness:,.0f} requests/s",
                f">= {GENERATION_MIN_RATIO} x (1)",
                f"{harness / raw:.2f} {flag(harness / raw, GENERATION_MIN_RATIO, at_least=True)}",
            ],
            [
                "(3) pytest evals/ end to end",
                f"{evals_rate:,.0f} items/s ({live.seconds:.1f} s, CPU {live.cpu_seconds:.1f} s)",
                f">= {PYTEST_MIN_RATIO} x (4)",
                f"{evals_rate / bare_rate:.2f} {flag(evals_rate / bare_rate, PYTEST_MIN_RATIO, at_least=True)}",
            ],
            [
                "(4) bare pytest",
                f"{bare_rate:,.0f} items/s ({bare.seconds:.1f} s, CPU {bare.cpu_seconds:.1f} s)",
                "",
                "",
            ],
            [
                "(5) --replay",
                f"{replay.seconds:.1f} s (CPU {replay.cpu_seconds:.1f} s)",
                f"<= {REPLAY_MAX_S:g} s",
                flag(replay.seconds, REPLAY_MAX_S, at_least=False),
            ],
            [
                "(5) --replay peak RSS",
                f"{replay.peak_rss_mb:.0f} MB",
                f"<= {RSS_MAX_MB:g} MB",
                flag(replay.peak_rss_mb, RSS_MAX_MB, at_least=False),
            ],
            ["(3) peak RSS", f"{live.peak_rss_mb:.0f} MB", "", ""],
        ],
    )
    print("\nwhere the time goes (wall seconds per phase):")
    for name, run in (("(3) evals", live), ("(5) replay", replay), ("(4) bare", bare)):
        print(f"  {name}: {phase_line(run)}")


if __name__ == "__main__":
    main()
