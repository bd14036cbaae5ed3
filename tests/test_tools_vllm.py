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

from taskbench.model.tools import ACTION_OF_FUNCTION

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
    assert results["config"]["answer_mode"] == "tools" and results["config"]["tool_choice"] == tool_choice
    # The server returned calls, not text: vLLM's hermes parser (auto) or its hermes grammar (required).
    assert tool_failures(results)["tool_call_in_text"] == 0, tool_failures(results)
    called = [
        item
        for item in items
        if len(item.get("tool_calls", [])) == 1 and item["tool_calls"][0]["name"] in ACTION_OF_FUNCTION
    ]
    assert len(called) >= 0.8 * len(items), tool_failures(results)
    # Each call is scored as the contract answer it stands for.
    for item in called:
        call = item["tool_calls"][0]
        arguments = json.loads(call["arguments"])
        if isinstance(arguments, dict) and item["failure"] != "tool_arguments_not_json":
            assert item["details"]["answer"] == {"action": ACTION_OF_FUNCTION[call["name"]], **arguments}
    assert any(item["passed"] for item in called)
    turns = [turn for episode in results["episodes"]["items"] for turn in episode["turns"]]
    assert turns and any(turn["passed"] for turn in turns), "episodes run in tools mode too"


def test_a_wrong_parser_is_reported_as_the_cause_not_as_a_format_failure(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # taskbench starts the demo server itself, with the flag overriding its hermes parser.
    args = ["--cache-dir", str(tmp_path / "cache"), "--answer-mode", "tools", "-m", "simple and not episodes"]
    _, results = run_evals(pytester, *args, "--vllm-arg=--tool-call-parser=pythonic")
    items = results["items"]
    kinds = Counter(item["failure"] for item in items)
    assert kinds["tool_call_in_text"] >= 0.8 * len(items), kinds
    assert not {"prose", "invalid_json", "code_fence"} & set(kinds)
    explanation = next(item["explanation"] for item in items if item["failure"] == "tool_call_in_text")
    assert "its --tool-call-parser is pythonic, which does not read that format (try hermes)" in explanation
    assert "--tool-call-parser=pythonic" in results["model"]["server_args"]
    served = json.loads(next((pytester.path / "reports").glob("*/served.json")).read_text())
    assert "--tool-call-parser=pythonic" in served["served"]["server_args"]
    summary = (pytester.path / "reports" / "latest" / "summary.md").read_text()
    assert "tool_call_in_text" in summary and "try hermes" in summary
