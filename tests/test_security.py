"""The API key never leaves the Authorization header: not in results.json, the reports, answers, served.json,
the response cache, the terminal, nor in an error message that quotes what a server echoed back."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import Any

import pytest
from evalrun import copy_evals, run_evals
from faultproxy import FaultProxy, always, echo_headers

from taskbench.exitcodes import EXIT_INFRASTRUCTURE
from taskbench.model.client import MODELS_PATH

pytestmark = pytest.mark.vllm

SECRET = "sk-" + secrets.token_hex(16)
# Any 10 characters of the key count as a leak (a message cut short may keep only half of it): all random
# hex but for "sk-", so none of them turns up by chance.
FRAGMENTS = {SECRET[i : i + 10] for i in range(len(SECRET) - 9)}
# The proxy's echo reads "<pad>refused Bearer <key>; ...": this pad puts the key's middle where taskbench cuts
# a server's error message (300 characters).
ACROSS_THE_CUT = 300 - len("refused Bearer ") - len(SECRET) // 2


def leaks(text: str) -> set[str]:
    return {fragment for fragment in FRAGMENTS if fragment in text}


def assert_no_leak(pytester: pytest.Pytester, result: pytest.RunResult) -> list[Path]:
    """Searches stdout, stderr and every file the run left in its folder; returns the files searched."""
    assert not leaks(result.stdout.str() + result.stderr.str()), "the key is in pytest's output"
    files = [path for path in pytester.path.rglob("*") if path.is_file()]
    for path in files:
        assert not leaks(path.read_bytes().decode("utf-8", errors="replace")), f"the key is in {path}"
    return files


def key_args(cache: str, via: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key given as an option or in the environment, and a response cache inside the searched folder."""
    if via == "env":
        monkeypatch.setenv("TASKBENCH_API_KEY", SECRET)
        return ["--cache-dir", cache]
    return ["--api-key", SECRET, "--cache-dir", cache]


@pytest.mark.parametrize("via", ["option", "env"])
def test_a_full_run_writes_the_key_nowhere(
    pytester: pytest.Pytester, demo_server: Any, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    with FaultProxy(demo_server.url) as proxy:
        # Episodes too (they replay earlier answers); not the fuzz tests, which would take minutes here.
        run_args = ["-m", "not fuzz", "--model-url", proxy.url, *key_args("cache", via, monkeypatch)]
        result, results = run_evals(pytester, *run_args)
    assert proxy.stats.authorization == {f"Bearer {SECRET}"}, "the key must really be sent"
    assert len(results["items"]) == 100 and results["config"]["api_key"] == "***"
    names = {path.name for path in assert_no_leak(pytester, result)}
    assert {"results.json", "summary.md", "report.html", "answers.jsonl", "served.json", "responses.sqlite"} <= names


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("wrong", ["nobody listening", "wrong path"])
def test_a_wrong_url_fails_without_the_key(
    pytester: pytest.Pytester, demo_server: Any, monkeypatch: pytest.MonkeyPatch, wrong: str
) -> None:
    url = refused_url() if wrong == "nobody listening" else f"{demo_server.url}/wrong"
    result = pytester.runpytest_subprocess(
        *copy_evals(pytester), "--model-url", url, *key_args("cache", "option", monkeypatch)
    )
    assert result.ret == EXIT_INFRASTRUCTURE, result.stdout.str()[-3000:]
    assert url in result.stdout.str() + result.stderr.str()
    assert_no_leak(pytester, result)


@pytest.mark.parametrize(
    ("status", "pad"), [(401, 0), (500, 0), (500, ACROSS_THE_CUT)], ids=["401", "500", "500-key-across-the-cut"]
)
def test_errors_echoing_the_headers_are_masked(
    pytester: pytest.Pytester, demo_server: Any, monkeypatch: pytest.MonkeyPatch, status: int, pad: int
) -> None:
    with FaultProxy(demo_server.url, always(echo_headers(status, pad))) as proxy:
        result, results = run_evals(
            pytester, "--model-url", proxy.url, *key_args("cache", "option", monkeypatch),
            "--max-retries", "1", "-m", "action_recognition",
        )  # fmt: skip
    assert proxy.stats.injected[f"echo_headers-{status}"] > 0
    assert len(results["errors"]) == 20 and results["items"] == []
    assert all("refused Bearer ***" in error["message"] for error in results["errors"])
    assert_no_leak(pytester, result)


def test_a_server_refusing_the_key_is_reported_without_it(
    pytester: pytest.Pytester, demo_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultProxy(demo_server.url, always(echo_headers(401), paths=(MODELS_PATH,))) as proxy:
        result = pytester.runpytest_subprocess(
            *copy_evals(pytester), "--model-url", proxy.url, *key_args("cache", "env", monkeypatch)
        )
    assert result.ret == EXIT_INFRASTRUCTURE
    assert "the server refused the API key" in result.stdout.str() + result.stderr.str()
    assert_no_leak(pytester, result)
