"""--answer-mode tools against real vLLM serving the demo model: its tool calls parsed by vLLM's hermes
parser (auto), constrained by vLLM's hermes grammar (required), and a server started with the wrong parser
reported as such rather than as a format failure."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from evalrun import run_evals

pytestmark = pytest.mark.vllm


def tool_failures(results: dict[str, Any]) -> Counter[str]:
    kinds = {"no_tool_call", "several_tool_calls", "unknown_function", "tool_arguments_not_json", "tool_call_in_text"}
    return Counter(item["failure"] for item in results["items"] if item["failure"] in kinds)


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
def test_the_demo_model_answers_through_tool_calls(
    pytester: pytest.Pytester, demo_server: Any, tmp_path: Path, tool_choice: str
) -> None:
    args = ["--model-url", demo_server.url, "--cache-dir", str(tmp_path / "cache"), "--answer-mode", "tools"]
    _, results = run_evals(pytester, *args, "--tool-choice", tool_choice)
    items = results["items"]
    called = [item for item in items if len(item.get("tool_calls", [])) == 1]
    # The server returned calls, not text: vLLM's parser (auto) or grammar (required) did its part.
    assert len(called) >= 0.95 * len(items), tool_failures(results)
    assert tool_failures(results)["tool_call_in_text"] == 0
    assert results["config"]["answer_mode"] == "tools" and results["config"]["tool_choice"] == tool_choice
    # A right call is scored as the contract answer it stands for.
    passed = [item for item in called if item["passed"]]
    assert len(passed) >= len(items) / 2
    for item in passed[:20]:
        call = item["tool_calls"][0]
        assert item["details"]["answer"] == {
            "action": item["details"]["answer"]["action"],
            **json.loads(call["arguments"]),
        }
    assert results["episodes"]["items"], "episodes run in tools mode too"


def test_a_wrong_parser_is_reported_as_the_cause_not_as_a_format_failure(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # taskbench starts the demo server itself, with the flag overriding its hermes parser.
    args = ["--cache-dir", str(tmp_path / "cache"), "--answer-mode", "tools", "-m", "simple and not episodes"]
    _, results = run_evals(pytester, *args, "--vllm-arg=--tool-call-parser=pythonic")
    items = results["items"]
    kinds = Counter(item["failure"] for item in items)
    assert kinds["tool_call_in_text"] >= 0.9 * len(items), kinds
    assert not {"prose", "invalid_json", "code_fence"} & set(kinds)
    explanation = next(item["explanation"] for item in items if item["failure"] == "tool_call_in_text")
    assert "its --tool-call-parser is pythonic, which does not read that format (try hermes)" in explanation
    assert "--tool-call-parser=pythonic" in results["model"]["server_args"]
    served = json.loads(next((pytester.path / "reports").glob("*/served.json")).read_text())
    assert "--tool-call-parser=pythonic" in served["served"]["server_args"]
    summary = (pytester.path / "reports" / "latest" / "summary.md").read_text()
    assert "tool_call_in_text" in summary and "try hermes" in summary
