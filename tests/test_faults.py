"""Faults between taskbench and real vLLM (tests/faultproxy.py), and pytest-xdist workers that die.

Whatever happens, no result is lost: every selected case ends in results.json, scored among `items` or apart
among `errors`; transient faults cost only time, persistent ones error their items and the run goes on, and
nothing waits longer than --request-timeout and --max-retries allow.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from evalrun import PROJECT_ROOT, run_evals
from faultproxy import (
    RESET,
    TRUNCATE,
    Arrival,
    Fault,
    FaultProxy,
    Schedule,
    always,
    every_kth,
    first_attempts,
    http_error,
    slow,
    user_text,
)

from taskbench.data.cases import load_tier
from taskbench.exitcodes import EXIT_INFRASTRUCTURE
from taskbench.model.client import CHAT_PATH, ClientSettings

pytestmark = pytest.mark.vllm

DEV = load_tier("dev")
DEV_IDS = {case.id for case in DEV.cases}
# Long enough for a real answer from the demo model on a loaded 2-core machine with 100 requests in flight.
TIMEOUT_S = 30
# One victim per capability, each with an input no other case shares, so a fault aimed at its request hits only it.
VICTIMS = {
    case.capability: case for case in reversed(DEV.cases) if sum(other.input == case.input for other in DEV.cases) == 1
}
VICTIM_INPUTS = {case.input: case.id for case in VICTIMS.values()}
# The case items (and any unmarked test): fuzz tests make up requests as they run, which a fault schedule would
# stretch into hours; episodes are multi-turn and recorded apart.
CASES_ONLY = ("-m", "not fuzz and not episodes")


@pytest.fixture(scope="module")
def direct(demo_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Case id -> answer in a fault-free run straight to the server: what every faulty run must still end with."""
    folder = tmp_path_factory.mktemp("direct")
    shutil.copytree(PROJECT_ROOT / "evals", folder / "evals")
    command = [sys.executable, "-m", "pytest", "evals", "-p", "no:cacheprovider", *CASES_ONLY]
    run = subprocess.run(
        [*command, "--model-url", demo_server.url, "--no-cache"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
    results = json.loads((folder / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    assert results["errors"] == [], run.stdout[-3000:]
    return outputs(results)


def worst_case_s(timeout_s: float, retries: int) -> float:
    """The longest one request may take: every attempt times out, every backoff waits its longest."""
    settings = ClientSettings()
    backoffs = sum(min(settings.backoff_max_s, settings.backoff_base_s * 2 ** (n - 1)) for n in range(1, retries + 1))
    return (retries + 1) * timeout_s + backoffs


def outputs(results: dict[str, Any]) -> dict[str, str]:
    return {item["id"]: item["output"] for item in results["items"]}


def assert_nothing_lost(results: dict[str, Any]) -> None:
    scored = {item["id"] for item in results["items"]}
    errored = {error["id"] for error in results["errors"]}
    assert scored.isdisjoint(errored)
    assert scored | errored == DEV_IDS


def one_fault_each(arrival: Arrival) -> Fault | None:
    """The first attempt of every request fails, the kind of failure taking turns."""
    kinds = (http_error(500), http_error(502), http_error(503), RESET, TRUNCATE, slow(2 * TIMEOUT_S))
    return kinds[arrival.index % len(kinds)] if arrival.path == CHAT_PATH and arrival.attempt == 1 else None


@pytest.mark.parametrize(
    ("schedule", "retries", "per_request"),
    [
        pytest.param(one_fault_each, 4, 1, id="first-attempt-each-kind"),
        pytest.param(first_attempts(2, RESET), 4, 2, id="first-two-attempts-reset"),
        pytest.param(every_kth(4, http_error(502)), 8, None, id="every-4th-502"),
    ],
)
def test_transient_faults_are_retried_and_every_item_gets_its_real_answer(
    pytester: pytest.Pytester,
    demo_server: Any,
    direct: dict[str, str],
    schedule: Schedule,
    retries: int,
    per_request: int | None,
) -> None:
    with FaultProxy(demo_server.url, schedule) as proxy:
        result, results = run_evals(
            pytester, *CASES_ONLY, "--model-url", proxy.url, "--no-cache",
            "--request-timeout", str(TIMEOUT_S), "--max-retries", str(retries),
        )  # fmt: skip
    assert results["errors"] == [], result.stdout.str()[-3000:]
    assert_nothing_lost(results)
    assert outputs(results) == direct
    sent = results["generation"]["sent"]
    injected = sum(proxy.stats.injected.values())
    if per_request is None:  # every 4th arrival failed, the other three were answers
        assert injected == (sent + injected) // 4
    else:
        assert injected == sent * per_request
    assert results["complete"] is True


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (http_error(503), "HTTP 503: fault injected by the proxy"),
        (RESET, "connection error: Server disconnected"),
        (TRUNCATE, "the response body was cut off"),
        (slow(2 * TIMEOUT_S), f"no answer within {TIMEOUT_S} s"),
    ],
    ids=["status-503", "reset", "truncate", "slow"],
)
def test_persistent_faults_error_their_items_and_the_run_goes_on(
    pytester: pytest.Pytester, demo_server: Any, direct: dict[str, str], fault: Fault, reason: str
) -> None:
    retries = 1
    victims = always(fault, where=lambda arrival: user_text(arrival) in VICTIM_INPUTS)
    started = time.monotonic()
    with FaultProxy(demo_server.url, victims) as proxy:
        result, results = run_evals(
            pytester, *CASES_ONLY, "--model-url", proxy.url, "--no-cache",
            "--request-timeout", str(TIMEOUT_S), "--max-retries", str(retries),
        )  # fmt: skip
    elapsed = time.monotonic() - started
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output[-3000:]
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert_nothing_lost(results)
    errors = {error["id"]: error["message"] for error in results["errors"]}
    assert set(errors) == set(VICTIM_INPUTS.values())
    for message in errors.values():
        assert f"failed after {retries + 1} attempts: {reason}" in message
    assert outputs(results) == {case_id: text for case_id, text in direct.items() if case_id not in errors}
    assert proxy.stats.injected[fault.name] == len(errors) * (retries + 1)
    aggregate = results["summary"]["aggregate"]
    assert aggregate["errors"] == len(errors) and aggregate["scored"] == len(DEV_IDS) - len(errors)
    assert results["generation"]["failed"] == len(errors)
    assert results["complete"] is False
    # Generation is bounded by the slowest request; the run around it by pytest's own start-up and reports.
    assert results["generation"]["seconds"] < worst_case_s(TIMEOUT_S, retries) + 10
    assert elapsed < worst_case_s(TIMEOUT_S, retries) + 120


def test_nothing_hangs_when_no_request_is_ever_answered(pytester: pytest.Pytester, demo_server: Any) -> None:
    timeout_s, retries = 1, 2
    started = time.monotonic()
    with FaultProxy(demo_server.url, always(slow(300))) as proxy:
        result, results = run_evals(
            pytester, *CASES_ONLY, "--model-url", proxy.url, "--no-cache",
            "--request-timeout", str(timeout_s), "--max-retries", str(retries),
        )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    assert_nothing_lost(results)
    assert results["items"] == []
    assert all(f"no answer within {timeout_s} s" in error["message"] for error in results["errors"])
    assert results["generation"]["seconds"] < worst_case_s(timeout_s, retries) + 5
    assert elapsed < worst_case_s(timeout_s, retries) + 120, "a hang: the proxy holds every answer for 300 s"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash-cache")


def run_with_a_dying_worker(
    pytester: pytest.Pytester, demo_server: Any, cache_dir: Path, file: str, source: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    """`pytest evals/ -n 2` with a gate, and `source` written to `file` in the pytester folder."""
    (pytester.path / file).parent.mkdir(exist_ok=True)
    (pytester.path / file).write_text(source, encoding="utf-8")
    result, results = run_evals(
        pytester, *CASES_ONLY, "--model-url", demo_server.url, "--cache-dir", str(cache_dir), "-n", "2",
        "--gate-only", "--gate-min-aggregate", "0.5",
    )  # fmt: skip
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == EXIT_INFRASTRUCTURE, output[-3000:]
    assert results["complete"] is False
    reasons = results["incomplete_reasons"]
    assert any(re.match(r"worker gw\d+ crashed", reason) for reason in reasons), reasons
    gate = json.loads((pytester.path / "reports" / "latest" / "gate.json").read_text(encoding="utf-8"))
    assert gate["verdict"] == "infrastructure"
    assert_nothing_lost(results)
    return result, results


def test_a_worker_dying_on_another_test_loses_no_case(
    pytester: pytest.Pytester, demo_server: Any, cache_dir: Path
) -> None:
    source = "import os\n\n\ndef test_the_worker_dies():\n    os._exit(1)\n"
    result, results = run_with_a_dying_worker(pytester, demo_server, cache_dir, "evals/test_dies.py", source)
    assert results["errors"] == []
    result.stdout.fnmatch_lines(["*test_dies.py::test_the_worker_dies*", "gate INFRASTRUCTURE (exit 7)"])


def test_a_worker_dying_on_a_case_makes_that_case_an_error(
    pytester: pytest.Pytester, demo_server: Any, cache_dir: Path
) -> None:
    victim = VICTIMS["format_compliance"].id
    source = (
        "import os\n\nimport pytest\n\n\n"
        "@pytest.fixture(autouse=True)\n"
        "def die_on_one_case(request):\n"
        f"    if request.node.name.endswith('[{victim}]'):\n"
        "        os._exit(1)\n"
    )
    # Beside evals/, not in it: copying evals/ would replace its own conftest.py.
    _, results = run_with_a_dying_worker(pytester, demo_server, cache_dir, "conftest.py", source)
    assert [error["id"] for error in results["errors"]] == [victim]
    assert "crashed" in results["errors"][0]["message"]
    assert results["summary"]["aggregate"]["errors"] == 1
