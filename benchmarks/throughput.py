"""taskbench against real vLLM: does the harness keep the server as busy as a bare client, and how much faster
is it than a suite that asks the model inside each item?

One vLLM server on the embedded demo model; the same N prompts (default: the full tier's 1000 requests, built
by taskbench.model.session.build_request with default settings) for:

  (1) raw       a plain aiohttp loop, every request in flight at once (no taskbench code)
  (2) harness   `pytest evals/ --tier full --model-url URL --no-cache` end to end: generation seconds (from
                results.json) and wall time; target: generation throughput >= 0.90 x raw
  (3) naive     a generated pytest file whose items each send their own request, one at a time (urllib), and
                score the answer; run on --naive-n prompts and extrapolated to N; target: harness generation >= 8x the
                naive suite's requests/s (the whole command's ratio is printed too)
  (4) replay    10,000 items (the full tier re-id'd 10x) generated once against vLLM, then
                `pytest evals/ --cases FILE --replay RUN`: wall seconds <= 15 and peak RSS <= 500 MB

`pytest evals/` means its case items (bench.CASE_EVALS: fuzzing and episodes are left out).

    .venv/bin/python benchmarks/throughput.py [--n 1000] [--naive-n 100] [--replay-n 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import (
    CASE_EVALS,
    PYTEST_QUIET,
    WITHOUT_TASKBENCH,
    PytestRun,
    bodies_for,
    copies,
    flag,
    full_tier,
    latest_results,
    load_average,
    phase_line,
    print_table,
    raw_aiohttp,
    requests_for,
    run_pytest,
    timed,
    write_cases,
)

from taskbench.data.cases import Case
from taskbench.demo_model import SERVED_NAME, demo_model_server

RAW_MIN_RATIO = 0.90
NAIVE_MIN_SPEEDUP = 8.0
REPLAY_MAX_S = 15.0
RSS_MAX_MB = 500.0
WARM_UP_REQUESTS = 64

NAIVE_SUITE = '''"""The naive suite: every item asks the model itself, one request at a time."""
import json
import urllib.request
from pathlib import Path

import pytest

from taskbench.scorers import score_case

URL = {url!r} + "/v1/chat/completions"
ROWS = json.loads(Path(__file__).with_name("naive.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", ROWS, ids=[row["case"]["id"] for row in ROWS])
def test_case(row):
    request = urllib.request.Request(
        URL, data=json.dumps(row["body"]).encode(), headers={{"Content-Type": "application/json"}}
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        text = json.loads(response.read())["choices"][0]["message"]["content"] or ""
    score_case(row["case"], text)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="prompts for raw, harness and naive (default: 1000)")
    parser.add_argument("--naive-n", type=int, default=100, help="prompts the naive suite really sends (default 100)")
    parser.add_argument("--replay-n", type=int, default=10_000, help="items in the replay run (default 10000)")
    parser.add_argument("--keep", type=Path, help="keep case files, reports and the vLLM log in this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        measure(args.n, min(args.naive_n, args.n), args.replay_n, work)


def measure(n: int, naive_n: int, replay_n: int, work: Path) -> None:
    print(f"load average before: {load_average():.2f} (2 cores: figures are noisy above ~1.5)")
    cases = copies(full_tier(), n, distinct_requests=True)
    requests = requests_for(cases)
    bodies = bodies_for(requests, SERVED_NAME)
    reports = work / "reports"

    with demo_model_server(work / "vllm.log", print) as server:
        url = server.url
        timed(raw_aiohttp, url, bodies[-WARM_UP_REQUESTS:], 0)  # the server's first requests are slow
        raw_s = timed(raw_aiohttp, url, bodies, 0)

        selection = ["--tier", "full"] if n == 1000 else ["--cases", str(write_cases(work / "cases.jsonl", cases))]
        harness = run_pytest([*CASE_EVALS, *selection, "--model-url", url, "--no-cache", *_reports(reports)])
        harness_results = latest_results(reports)

        naive = run_naive(url, cases[:naive_n], bodies[:naive_n], work / "naive")

        # 10x the full tier under new ids: the same requests, so generation sends each once.
        replay_file = write_cases(work / "replay.jsonl", copies(full_tier(), replay_n, distinct_requests=False))
        evals = [*CASE_EVALS, "--cases", str(replay_file), *_reports(reports)]
        generated = run_pytest([*evals, "--model-url", url, "--cache-dir", str(work / "cache")])
    replay = run_pytest([*evals, "--replay", str(reports / latest_results(reports)["run_id"])])
    # Failing items cost pytest a report each, so the replay's time depends on how many the model fails.
    replay_failing = sum(not item["passed"] for item in latest_results(reports)["items"])
    report(n, naive_n, raw_s, harness, harness_results, naive, generated, replay, replay_n, replay_failing)
    print(f"\nload average after: {load_average():.2f}")


def _reports(reports: Path) -> list[str]:
    return ["--reports-dir", str(reports), *PYTEST_QUIET]


def run_naive(url: str, cases: Sequence[Case], bodies: Sequence[bytes], folder: Path) -> PytestRun:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"case": case.to_record(), "body": json.loads(body)} for case, body in zip(cases, bodies, strict=True)]
    (folder / "naive.json").write_text(json.dumps(rows), encoding="utf-8")
    suite = folder / "test_naive.py"
    suite.write_text(NAIVE_SUITE.format(url=url), encoding="utf-8")
    return run_pytest([str(suite), *PYTEST_QUIET, *WITHOUT_TASKBENCH], folder)


def report(
    n: int,
    naive_n: int,
    raw_s: float,
    harness: PytestRun,
    harness_results: dict[str, Any],
    naive: PytestRun,
    generated: PytestRun,
    replay: PytestRun,
    replay_n: int,
    replay_failing: int,
) -> None:
    for name, run in (("harness", harness), ("naive", naive), ("10k generation", generated), ("replay", replay)):
        if run.returncode not in (0, 1):  # 1: some items failed, which the demo model is meant to do
            print(f"WARNING: the {name} run exited {run.returncode}:\n{run.tail()}")

    generation_s = harness_results["generation"]["seconds"]
    raw_rate, harness_rate = n / raw_s, n / generation_s
    # The naive suite's items are its whole cost past start-up; N items take N times one item.
    naive_item_s = naive.phases["items"] / naive_n
    naive_s = naive.seconds - naive.phases["items"] + n * naive_item_s
    # The target is on generation throughput (harness requests/s over the naive suite's); the whole
    # command, start-up and reports included, is shown beside it.
    generation_speed_up = naive_s / generation_s
    speed_up = naive_s / harness.seconds
    print_table(
        f"taskbench against real vLLM (demo model, {n:,} prompts; load average {load_average():.1f})",
        ["measure", "time", "requests/s", "target", ""],
        [
            ["(1) raw aiohttp, all in flight", f"{raw_s:.1f} s", f"{raw_rate:.1f}", "", ""],
            [
                "(2) harness generation",
                f"{generation_s:.1f} s",
                f"{harness_rate:.1f}",
                f">= {RAW_MIN_RATIO} x raw",
                f"{harness_rate / raw_rate:.2f} x {flag(harness_rate / raw_rate, RAW_MIN_RATIO, at_least=True)}",
            ],
            ["(2) harness end to end (wall)", f"{harness.seconds:.1f} s", f"{n / harness.seconds:.1f}", "", ""],
            [
                f"(3) naive suite ({naive_n} sent, extrapolated)",
                f"{naive_s:.1f} s",
                f"{n / naive_s:.1f}",
                f"harness generation >= {NAIVE_MIN_SPEEDUP:g}x its rate",
                f"{generation_speed_up:.1f}x {flag(generation_speed_up, NAIVE_MIN_SPEEDUP, at_least=True)}",
            ],
            ["(3) naive vs harness end to end (wall)", "", "", "", f"{speed_up:.1f}x"],
            [
                f"(4) --replay of {replay_n:,} items ({replay_failing:,} failing)",
                f"{replay.seconds:.1f} s",
                f"{replay_n / replay.seconds:,.0f} items/s",
                f"<= {REPLAY_MAX_S:g} s",
                flag(replay.seconds, REPLAY_MAX_S, at_least=False),
            ],
            [
                "(4) --replay peak RSS",
                f"{replay.peak_rss_mb:.0f} MB",
                "",
                f"<= {RSS_MAX_MB:g} MB",
                flag(replay.peak_rss_mb, RSS_MAX_MB, at_least=False),
            ],
        ],
    )
    print("\nwhere the time goes (wall seconds per phase):")
    for name, run in (("(2) harness", harness), ("(3) naive", naive), ("(4) replay", replay)):
        print(f"  {name}: {phase_line(run)}")
    print(f"  10k generation run (fills the replay): {generated.seconds:.1f} s: {phase_line(generated)}")


if __name__ == "__main__":
    main()
