"""Score: the one value every scorer returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PASS_THRESHOLD = 0.8
FAILURE_THRESHOLD = 0.5


class Failure(StrEnum):
    """Why an answer lost points. One kind per Score: the first thing that went wrong."""

    NONE = "none"
    EMPTY = "empty"
    CODE_FENCE = "code_fence"
    PROSE = "prose"
    TRUNCATED = "truncated"
    INVALID_JSON = "invalid_json"
    NOT_OBJECT = "not_object"
    SCHEMA = "schema_violation"
    WRONG_ACTION = "wrong_action"
    MISSING_FIELD = "missing_field"
    WRONG_FIELD = "wrong_field"
    INVENTED_FIELD = "invented_field"
    SAFETY = "safety"
    INVALID_CASE = "invalid_case"  # the case record itself cannot be scored against
    # --answer-mode tools: the message's tool calls did not carry exactly one contract action
    NO_TOOL_CALL = "no_tool_call"
    SEVERAL_TOOL_CALLS = "several_tool_calls"
    UNKNOWN_FUNCTION = "unknown_function"
    TOOL_ARGUMENTS = "tool_arguments_not_json"
    TOOL_CALL_IN_TEXT = "tool_call_in_text"  # the server's tool-call parser did not recognise the call

    @property
    def is_tool_call_failure(self) -> bool:
        return self in _TOOL_CALL_FAILURES

    @property
    def is_parse_failure(self) -> bool:
        return self in _PARSE_FAILURES


_PARSE_FAILURES = frozenset(
    {Failure.EMPTY, Failure.CODE_FENCE, Failure.PROSE, Failure.TRUNCATED, Failure.INVALID_JSON, Failure.NOT_OBJECT}
)
_TOOL_CALL_FAILURES = frozenset(
    {
        Failure.NO_TOOL_CALL,
        Failure.SEVERAL_TOOL_CALLS,
        Failure.UNKNOWN_FUNCTION,
        Failure.TOOL_ARGUMENTS,
        Failure.TOOL_CALL_IN_TEXT,
    }
)


@dataclass(frozen=True)
class Score:
    """`score` in [0, 1]; `failure` names the first thing that went wrong (NONE when nothing did);
    `explanation` is one sentence a person reads; `details` is JSON-serialisable evidence
    (per-field verdicts, schema violations, the parsed answer's action)."""

    score: float
    failure: Failure = Failure.NONE
    explanation: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.score >= PASS_THRESHOLD

    @property
    def safety(self) -> bool:
        return self.failure is Failure.SAFETY

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "passed": self.passed,
            "failure": self.failure.value,
            "explanation": self.explanation,
            "details": self.details,
        }
