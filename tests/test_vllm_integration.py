"""Model access against real vLLM: the embedded default, server lifecycle, wrong URLs, structured outputs."""

from __future__ import annotations

import signal
import time
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from evalrun import copy_evals, run_evals
from taskbench.scorers import parse_answer
from taskbench.scorers.contract import contract_violations

pytestmark = pytest.mark.vllm

VLLM_ENTRYPOINTS = ("vllm.entrypoints.openai.api_server", "vllm serve")


def vllm_pids(port: int | None = None) -> set[int]:
    """vLLM processes running now (only those serving on `port`, if given: other sessions may run servers)."""
    pids = set()
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if any(entry in cmdline for entry in VLLM_ENTRYPOINTS) and (port is None or f"--port {port}" in cmdline):
            pids.add(process.info["pid"])
    return pids


def test_the_embedded_default_is_served_and_stopped_even_when_cases_fail(
    pytester: pytest.Pytester, demo_model_dir: Any
) -> None:
    # Complex entity extraction is where the demo model is weakest: this session fails.
    result, results = run_evals(pytester, "--no-cache", "-m", "entity_extraction and complex")
    assert result.ret == 1, result.stdout.str()[-2000:]
    result.stderr.fnmatch_lines(["*serving the embedded demo model*"])
    assert results["model"]["name"] == "taskbench-demo"
    assert results["model"]["root"] == str(demo_model_dir)
    assert (pytester.path / "reports" / "latest" / "vllm.log").stat().st_size > 0
    port = urlsplit(results["model"]["urls"][0]).port
    assert vllm_pids(port) == set(), "the spawned vLLM server outlived the session"


def test_ctrl_c_during_server_start_leaves_no_server(pytester: pytest.Pytester, demo_model_dir: Any) -> None:
    before = vllm_pids()
    # SIGINT at its default, as in a terminal's foreground (a background job of a shell without job control, as CI
    # may be, inherits it ignored).
    process = pytester.popen(
        [*pytester._getpytestargs(), *copy_evals(pytester)],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )
    try:
        deadline = time.monotonic() + 120
        while not (vllm_pids() - before) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert vllm_pids() - before, "no vLLM server was started"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.terminate()  # pytest's SIGTERM ends the server it started too
            process.wait(timeout=60)
    deadline = time.monotonic() + 30
    while vllm_pids() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert vllm_pids() - before == set(), "Ctrl-C left a vLLM server running"


def test_a_wrong_model_url_fails_fast_and_names_the_url(pytester: pytest.Pytester) -> None:
    started = time.monotonic()
    result = pytester.runpytest_subprocess(*copy_evals(pytester), "--model-url", "http://127.0.0.1:9")
    elapsed = time.monotonic() - started
    assert result.ret == 7
    assert elapsed < 20
    output = result.stdout.str() + result.stderr.str()
    assert "http://127.0.0.1:9" in output
    assert "Traceback" not in output


def test_structured_outputs_give_a_contract_valid_answer_for_every_dev_case(
    pytester: pytest.Pytester, demo_server: Any, tmp_path: Any
) -> None:
    # The schema bounds every string and list, so the grammar closes the JSON within the token budget
    # even when the demo model starts repeating itself inside a title.
    args = ["--structured-outputs", "on", "--max-tokens", "1024", "--cache-dir", str(tmp_path)]
    _, results = run_evals(pytester, "--model-url", demo_server.url, *args)
    assert len(results["items"]) == 100
    invalid = {}
    for item in results["items"]:
        parsed = parse_answer(item["output"])
        problems = [parsed.explanation] if parsed.answer is None else contract_violations(parsed.answer)
        if problems:
            invalid[item["id"]] = (item["finish_reason"], problems)
    assert invalid == {}
