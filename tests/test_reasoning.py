"""--reasoning: a reasoning model's thinking taken out before scoring and kept in the record. Unit tests of
the split, and runs of evals/ against a stand-in that thinks (the HTTP layer and the plugin, not a model:
what the demo model answers is tested against real vLLM elsewhere)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from evalrun import run_evals
from hypothesis import given
from hypothesis import strategies as st
from standin import StandIn, socket_bound_to

from taskbench.data.cases import load_tier
from taskbench.model.client import Answer
from taskbench.model.prompts import answer_json
from taskbench.model.reading import AnswerReader, reasoning_tokens
from taskbench.model.reasoning import split_reasoning

free_text = st.text().filter(lambda t: "<think>" not in t and "</think>" not in t)


@given(thought=free_text, answer=free_text, lead=st.sampled_from(["", " ", "\n"]))
def test_a_leading_block_is_taken_out_in_auto_and_strip_and_kept_in_off(thought: str, answer: str, lead: str) -> None:
    text = f"{lead}<think>{thought}</think>{answer}"
    for mode in ("auto", "strip"):
        split = split_reasoning(text, mode)
        assert (split.answer, split.reasoning) == (answer.strip(), thought.strip())
    assert split_reasoning(text, "off").answer == text


@given(text=free_text)
def test_text_without_reasoning_is_left_as_it_is(text: str) -> None:
    for mode in ("auto", "strip", "off"):
        assert split_reasoning(text, mode).answer == text and split_reasoning(text, mode).reasoning is None


def test_a_block_opened_by_the_chat_template_is_taken_out_only_by_strip() -> None:
    text = 'the user wants a list</think>\n{"action":"list","filter":"all"}'
    assert split_reasoning(text, "auto").answer == text
    split = split_reasoning(text, "strip")
    assert (split.answer, split.reasoning) == ('{"action":"list","filter":"all"}', "the user wants a list")


def test_a_block_that_never_closes_leaves_no_answer() -> None:
    split = split_reasoning('<think>first the date, then {"action":', "auto")
    assert (split.answer, split.reasoning) == ("", 'first the date, then {"action":')


def test_the_servers_token_count_wins_and_a_think_block_gets_its_share_of_the_completion() -> None:
    apart = Answer('{"action":"list","filter":"all"}', "stop", 5, 40, 0.1, None, "thinking", 31)
    assert reasoning_tokens(apart, AnswerReader().read(apart)) == 31
    inline = Answer("<think>" + "x" * 60 + "</think>" + "y" * 25, "stop", 5, 100, 0.1)
    assert reasoning_tokens(inline, AnswerReader().read(inline)) == 60  # 60 of the 100 characters
    plain = Answer('{"action":"list","filter":"all"}', "stop", 5, 9, 0.1)
    assert reasoning_tokens(plain, AnswerReader().read(plain)) is None


# --- end to end, against a stand-in that thinks ---------------------------------------------------------------

DEV = load_tier("dev").cases
# Inputs that name one expected answer (a few inputs recur across capabilities with other answers).
EXPECTED_BY_INPUT = {
    case.input: case.expected for case in DEV if sum(c.input == case.input for c in DEV) == 1
}  # fmt: skip
THOUGHT = "The user wants this; today is the reference date, so the date follows."
SERVER_REASONING_TOKENS = 17


class ThinkingStandIn(StandIn):
    """Answers each case with its expected answer, after thinking: in a <think> block at the start of the
    content ("inline"), or apart in `reasoning_content` with a token count in the usage ("apart")."""

    def __init__(self, style: str) -> None:
        super().__init__()
        self.style = style

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        expected = EXPECTED_BY_INPUT.get(body["messages"][-1]["content"], {"action": "list", "filter": "all"})
        message: dict[str, Any] = {"role": "assistant", "content": answer_json(expected)}
        usage: dict[str, Any] = {"prompt_tokens": 50, "completion_tokens": 60}
        if self.style == "inline":
            message["content"] = f"<think>{THOUGHT}</think>\n{message['content']}"
        else:
            message["reasoning_content"] = THOUGHT
            usage["completion_tokens_details"] = {"reasoning_tokens": SERVER_REASONING_TOKENS}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return web.json_response({"object": "chat.completion", "choices": [choice], "usage": usage})


@contextlib.contextmanager
def serving(standin: StandIn) -> Iterator[str]:
    """The stand-in on its own event loop in a thread, so a pytest subprocess can reach it."""
    loop = asyncio.new_event_loop()
    url = loop.run_until_complete(standin.start(socket_bound_to(0)))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(standin.stop())
        loop.close()


def run_against(pytester: pytest.Pytester, style: str, reasoning: str) -> dict[str, Any]:
    with serving(ThinkingStandIn(style)) as url:
        args = ["--model-url", url, "--no-cache", "--reasoning", reasoning, "-m", "not episodes"]
        _, results = run_evals(pytester, *args)
    return results


def summary_md(pytester: pytest.Pytester) -> str:
    return (pytester.path / "reports" / "latest" / "summary.md").read_text(encoding="utf-8")


def known(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in results["items"] if item["input"] in EXPECTED_BY_INPUT]


def test_a_think_block_is_scored_without_it_and_kept_in_the_record(pytester: pytest.Pytester) -> None:
    results = run_against(pytester, "inline", "auto")
    items = known(results)
    assert len(items) > 80
    assert all(item["passed"] for item in items)
    assert all(item["reasoning"] == THOUGHT for item in items)
    # No count from the server: the thought's share of the completion's 60 tokens.
    assert all(0 < item["reasoning_tokens"] < 60 for item in items)
    assert all(item["output"].startswith("<think>") for item in items)  # the record keeps the raw text
    tokens = sum(item["reasoning_tokens"] for item in results["items"])
    shown = f"reasoning taken out before scoring: {len(results['items'])} answers, {tokens:,} tokens"
    assert shown in summary_md(pytester)


def test_off_scores_the_raw_text_so_the_think_block_is_a_format_failure(pytester: pytest.Pytester) -> None:
    items = known(run_against(pytester, "inline", "off"))
    assert {item["failure"] for item in items} == {"prose"}
    assert not any("reasoning" in item for item in items)
    assert "reasoning taken out" not in summary_md(pytester)


def test_reasoning_content_is_kept_with_the_servers_token_count(pytester: pytest.Pytester) -> None:
    results = run_against(pytester, "apart", "off")
    items = known(results)
    assert all(item["passed"] for item in items)
    assert all(item["reasoning"] == THOUGHT for item in items)
    assert all(item["reasoning_tokens"] == SERVER_REASONING_TOKENS for item in items)
    total = SERVER_REASONING_TOKENS * len(results["items"])
    assert f"{len(results['items'])} answers, {total:,} tokens ({SERVER_REASONING_TOKENS} per answer)" in summary_md(
        pytester
    )
