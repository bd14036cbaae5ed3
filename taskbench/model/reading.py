"""What the scorers read from one answer, whatever way it was given: the message text without its
reasoning (--reasoning), or in --answer-mode tools the contract answer of its one tool call.

Every path that judges or replays an answer reads it here: case items, episode turns (and the history
the next turn is sent), fuzzing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from taskbench.model.client import Answer
from taskbench.model.reasoning import split_reasoning
from taskbench.model.tools import read_tool_calls, server_tool_parser, tool_calls_from_json
from taskbench.options import Settings
from taskbench.scorers import Failure, Score, score_case
from taskbench.scorers.capabilities import read_case


@dataclass(frozen=True)
class Reading:
    """`output` is the text the scorers judge (in tools mode, "" when the message held no proper call:
    nothing would have been done); `failure` and `explanation` say why a tools-mode message held none."""

    output: str
    reasoning: str | None = None
    failure: Failure = Failure.NONE
    explanation: str = ""

    @classmethod
    def of_text(cls, answer: Answer) -> Reading:
        """The answer's text as it is (no answer mode or reasoning applied)."""
        return cls(answer.text)


@dataclass(frozen=True)
class AnswerReader:
    answer_mode: str = "content"
    reasoning: str = "auto"
    tool_parser: str | None = None  # the server's --tool-call-parser, when taskbench started it

    @classmethod
    def for_settings(cls, settings: Settings) -> AnswerReader:
        return cls(settings.answer_mode, settings.reasoning, spawned_tool_parser(settings))

    def read(self, answer: Answer) -> Reading:
        split = split_reasoning(answer.text, self.reasoning)
        reasoning = "\n".join(part for part in (answer.reasoning, split.reasoning) if part) or None
        if self.answer_mode == "content":
            return Reading(split.answer, reasoning)
        calls = tool_calls_from_json(answer.tool_calls)
        tools = read_tool_calls(calls, split.answer, self.tool_parser)
        if tools.output is None and not calls and answer.finish_reason == "length":
            # A call cut off at --max-tokens reads as broken or absent; the cut is what went wrong.
            cut = "the answer was cut off at --max-tokens before it made a tool call"
            return Reading("", reasoning, Failure.TRUNCATED, f"{cut}: {tools.explanation}")
        if tools.output is None:
            return Reading("", reasoning, tools.failure, tools.explanation)
        return Reading(tools.output, reasoning)


@cache
def reader_for(settings: Settings) -> AnswerReader:
    return AnswerReader.for_settings(settings)


def record_fields(answer: Answer, reading: Reading) -> dict[str, Any]:
    """What an item's record adds for this answer: its tool calls, and the reasoning taken out of it."""
    fields: dict[str, Any] = {}
    if answer.tool_calls is not None:
        fields["tool_calls"] = json.loads(answer.tool_calls)
    if reading.reasoning is not None:
        fields["reasoning"] = reading.reasoning
        fields["reasoning_tokens"] = reasoning_tokens(answer, reading)
    return fields


def spawned_tool_parser(settings: Settings) -> str | None:
    """The --tool-call-parser of the server taskbench starts for these settings (None: it starts none)."""
    if settings.model_url:
        return None
    if settings.vllm_serve:
        return server_tool_parser(settings.vllm_arg)
    from taskbench.demo_model import SERVER_ARGS

    return server_tool_parser((*SERVER_ARGS, *settings.vllm_arg))


def score_reading(case: Mapping[str, Any], reading: Reading, field_weights: Mapping[str, float] | None = None) -> Score:
    """The case's score of an answer as read: a tools-mode message without one proper call scores 0 with
    its tool-call failure; anything else goes to the capability scorers (taskbench.scorers.score_case, with
    its `field_weights`). Never raises."""
    if reading.failure is Failure.NONE:
        return score_case(case, reading.output, field_weights)
    expectation = read_case(case)
    if isinstance(expectation, Score):
        return expectation
    return Score(0.0, reading.failure, reading.explanation, {"expected_action": expectation.action, "answer": None})


def reasoning_tokens(answer: Answer, reading: Reading) -> int | None:
    """How many of the answer's tokens were reasoning: the server's count, else the reasoning's share of
    the completion's characters (a server without a reasoning parser counts none apart)."""
    if reading.reasoning is None:
        return None
    if answer.reasoning_tokens is not None:
        return answer.reasoning_tokens
    written = len(answer.text) + len(answer.reasoning or "")
    return round(answer.completion_tokens * len(reading.reasoning) / written) if written else 0
