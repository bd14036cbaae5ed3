"""Generation against real vLLM: one request per case under xdist, resume after a dead server, offline
replay, several replicas. Requests are counted at the server, from vLLM's own /metrics."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from evalrun import EPISODE_TURNS, SHIPPED_EPISODES, copy_evals, run_evals

from taskbench.demo_model import demo_model_server
from taskbench.model.cache import ResponseCache

pytestmark = pytest.mark.vllm


def requests_served(url: str) -> float:
    """Finished requests as vLLM counts them (every finish reason)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("vllm:request_success_total{")
    )


def test_each_request_reaches_the_server_once_under_xdist(pytester: pytest.Pytester, demo_server: Any) -> None:
    before = requests_served(demo_server.url)
    _, results = run_evals(pytester, "--model-url", demo_server.url, "--no-cache", "-n", "2")
    sent = requests_served(demo_server.url) - before
    assert results["generation"]["sent"] == 100 + EPISODE_TURNS
    assert sent == 100 + EPISODE_TURNS
    assert len(results["items"]) + len(results["errors"]) == 100
    assert results["episodes"]["episodes"] + results["episodes"]["errored"] == len(SHIPPED_EPISODES)


def test_replay_without_a_server_reproduces_the_aggregates(
    pytester: pytest.Pytester, demo_server: Any, tmp_path: Path
) -> None:
    _, live = run_evals(pytester, "--model-url", demo_server.url, "--cache-dir", str(tmp_path))
    run_folder = pytester.path / "reports" / live["run_id"]
    _, replayed = run_evals(pytester, "--replay", str(run_folder))
    assert replayed["generation"]["sent"] == 0
    assert replayed["replayed_from"] == str(run_folder)
    assert replayed["model"] == live["model"]
    assert replayed["summary"] == live["summary"]


def test_replay_of_a_case_with_no_stored_answer_is_an_error(pytester: pytest.Pytester, demo_server: Any) -> None:
    _, live = run_evals(pytester, "--model-url", demo_server.url, "--no-cache", "-m", "simple")
    result, replayed = run_evals(pytester, "--replay", str(pytester.path / "reports" / live["run_id"]))
    missing_cases = 100 - len(live["items"])
    missing_episodes = len(SHIPPED_EPISODES) - live["episodes"]["episodes"]
    assert result.parseoutcomes().get("errors", 0) == missing_cases + missing_episodes
    assert len(replayed["errors"]) == missing_cases
    assert len(replayed["episodes"]["errors"]) == missing_episodes
    errors = [*replayed["errors"], *replayed["episodes"]["errors"]]
    assert all("holds no answer" in error["message"] for error in errors)


def test_a_killed_server_loses_no_answer_and_the_next_run_sends_only_the_rest(
    pytester: pytest.Pytester, demo_server: Any, demo_model_dir: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    server = demo_model_server(tmp_path / "vllm.log")
    url = server.start()
    try:
        args = [*copy_evals(pytester), "--tier", "full", "--concurrency", "2", "--cache-dir", str(cache_dir)]
        run = pytester.popen([*pytester._getpytestargs(), *args, "--model-url", url], stdout=subprocess.PIPE)
        cache_file = cache_dir / "responses.sqlite"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if cache_file.exists():
                with ResponseCache(cache_file) as cache:
                    if len(cache) >= 100:
                        break
            time.sleep(0.2)
    finally:
        server.stop()
    output = run.stdout.read().decode()
    run.wait(timeout=120)
    assert run.returncode == 7, output[-3000:]
    assert "stopped answering" in output
    with ResponseCache(cache_file) as cache:
        kept = len(cache)
    total = 1000 + EPISODE_TURNS
    assert 100 <= kept < total

    before = requests_served(demo_server.url)
    _, results = run_evals(pytester, "--tier", "full", "--cache-dir", str(cache_dir), "--model-url", demo_server.url)
    assert results["generation"]["from_cache"] == kept
    assert results["generation"]["requested"] == total
    assert results["generation"]["sent"] == total - kept
    assert requests_served(demo_server.url) - before == total - kept
    assert len(results["items"]) == 1000


def test_two_replicas_both_receive_requests(
    pytester: pytest.Pytester, demo_server: Any, demo_model_dir: Path, tmp_path: Path
) -> None:
    with demo_model_server(tmp_path / "vllm.log") as second:
        before = [requests_served(demo_server.url), requests_served(second.url)]
        _, results = run_evals(
            pytester, "--model-url", demo_server.url, "--model-url", second.url, "--no-cache", "--tier", "gate"
        )
        served = [requests_served(demo_server.url) - before[0], requests_served(second.url) - before[1]]
        urls = [demo_server.url, second.url]
    assert sum(served) == results["generation"]["sent"] == 500 + EPISODE_TURNS
    assert min(served) > 0, f"one replica got nothing: {served}"
    assert results["model"]["urls"] == urls
