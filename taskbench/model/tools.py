"""--answer-mode tools: the contract as OpenAI functions, and a tool call read back as the contract answer.

Each contract action is one function (create_task, ...). Its parameters are the action's branch of
fixtures/schema/task_action.schema.json with the `action` key taken out and every $ref written in place,
so the functions and the contract cannot drift apart. The answer is the message's `tool_calls`: exactly
one call to a known function with a JSON object as arguments becomes `{"action": ..., **arguments}`, which
the capability scorers judge like any content answer. Anything else is a tool-call failure of its own kind
(taskbench.scorers.Failure), so a serving problem is not mistaken for a bad model:

- NO_TOOL_CALL: the message has no tool call (the model answered in text, or not at all).
- SEVERAL_TOOL_CALLS: more than one call where one action was expected.
- UNKNOWN_FUNCTION: a call to a function that was not offered.
- TOOL_ARGUMENTS: the arguments are not one JSON object (or name another action than the function), or a
  Hermes <tool_call> left in the text is itself broken JSON, which no parser could have read.
- TOOL_CALL_IN_TEXT: no tool call, but the text holds one in a known model format: the server's
  --tool-call-parser is missing or does not read that format.

Earlier turns are sent the way a tools API conversation has them: an assistant message with the call,
then a tool message with its result (TOOL_RESULT).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from taskbench.model.prompts import answer_json
from taskbench.scorers import Failure, parse_answer
from taskbench.scorers.contract import ACTIONS, contract_schema
from taskbench.scorers.render import show

FUNCTION_OF_ACTION = {
    "create": "create_task",
    "complete": "complete_task",
    "update": "update_task",
    "delete": "delete_task",
    "list": "list_tasks",
    "clarify": "ask_clarification",
}
ACTION_OF_FUNCTION = {function: action for action, function in FUNCTION_OF_ACTION.items()}
DESCRIPTIONS = {
    "create": "Create a task.",
    "complete": "Mark a task as done.",
    "update": "Change a task: give its current title and only the fields to change.",
    "delete": "Delete a task.",
    "list": "List tasks matching a filter.",
    "clarify": "Ask the user a question instead of acting, when the request is ambiguous or risky.",
}
TOOL_RESULT = '{"ok":true}'  # what an earlier turn's call returned, as the tool message of the history

_HERMES_OPEN, _HERMES_CLOSE = "<tool_call>", "</tool_call>"
# Tool calls written as text, by the model families that write them so, and the parser that reads each.
_MARKUPS = (
    ("<tool_call>", "hermes (<tool_call>…</tool_call>)", "hermes"),
    ("[TOOL_CALLS]", "mistral ([TOOL_CALLS])", "mistral"),
    ("<|python_tag|>", "llama 3 (<|python_tag|>)", "llama3_json"),
    ("functools[", "phi-4-mini (functools[…])", "phi4_mini_json"),
)
_JSON_CALL = re.compile(r'\{\s*"name"\s*:\s*"(' + "|".join(ACTION_OF_FUNCTION) + r')"')
_PYTHONIC_CALL = re.compile(r"\[\s*(" + "|".join(ACTION_OF_FUNCTION) + r")\(")


def _inline(schema: Any, defs: Mapping[str, Any]) -> Any:
    """`schema` with every local $ref replaced by what it names: servers' grammar backends and many
    clients do not follow references inside a function's parameters."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(value, defs) for value in schema]
    return schema


def function_parameters(action: str) -> dict[str, Any]:
    """The JSON schema of one function's arguments: the action's contract branch without `action`."""
    schema = contract_schema()
    branch = _inline(schema["$defs"][action], schema["$defs"])
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {name: rule for name, rule in branch["properties"].items() if name != "action"},
        "required": [name for name in branch["required"] if name != "action"],
        "additionalProperties": branch.get("additionalProperties", True),
    }
    if "minProperties" in branch:
        # Counted with `action` in the contract; the arguments are the same object without it.
        parameters["minProperties"] = branch["minProperties"] - 1
    return parameters


@cache
def tool_definitions_json() -> str:
    """The `tools` of every request in tools mode, as compact JSON text (what a Request holds)."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": FUNCTION_OF_ACTION[action],
                "description": DESCRIPTIONS[action],
                "parameters": function_parameters(action),
            },
        }
        for action in ACTIONS
    ]
    return json.dumps(tools, separators=(",", ":"), ensure_ascii=False)


def tool_definitions() -> list[dict[str, Any]]:
    """The `tools` of every request in tools mode (a fresh copy each call)."""
    return json.loads(tool_definitions_json())


def contract_answer(action: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"action": action, **arguments}


def tool_call_of(answer: Mapping[str, Any], call_id: str) -> dict[str, Any]:
    """The OpenAI tool call that makes a contract answer (the history's earlier turns)."""
    arguments = json.loads(answer_json(answer))
    del arguments["action"]
    return {
        "id": call_id,
        "type": "function",
        "function": {
            "name": FUNCTION_OF_ACTION[answer["action"]],
            "arguments": json.dumps(arguments, separators=(",", ":"), ensure_ascii=False),
        },
    }


def tools_messages(messages: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Content-mode chat messages as a tools conversation: every earlier assistant answer that is one
    contract action becomes a call to its function followed by the tool's result; an answer that is not
    (a model's own unparseable earlier output) stays text, as the model wrote it."""
    converted: list[dict[str, Any]] = []
    for message in messages:
        answer = parse_answer(message["content"]).answer if message["role"] == "assistant" else None
        if answer is None or answer.get("action") not in FUNCTION_OF_ACTION:
            converted.append(dict(message))
            continue
        call_id = f"call_{len(converted)}"
        converted.append({"role": "assistant", "content": "", "tool_calls": [tool_call_of(answer, call_id)]})
        converted.append({"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT})
    return converted


@dataclass(frozen=True)
class ToolCall:
    """One call as the server returned it: the function's name and its arguments text."""

    name: str
    arguments: str


def tool_calls_from_json(text: str | None) -> tuple[ToolCall, ...]:
    """The calls stored on an Answer (compact JSON list of {"name", "arguments"}); () for none."""
    if not text:
        return ()
    return tuple(ToolCall(str(call["name"]), str(call["arguments"])) for call in json.loads(text))


@dataclass(frozen=True)
class ToolReading:
    """A tools-mode message read as an answer: the contract answer's JSON text when the message holds
    exactly one proper call, else None with the failure kind and its explanation."""

    output: str | None
    failure: Failure
    explanation: str


def read_tool_calls(calls: Sequence[ToolCall], content: str, parser: str | None = None) -> ToolReading:
    """Read one message of tools mode; never raises. `parser` is the server's --tool-call-parser when
    taskbench knows it (a server it started), named in the explanation of TOOL_CALL_IN_TEXT."""
    if not calls:
        broken = _broken_hermes_call(content)
        if broken is not None:
            return ToolReading(None, Failure.TOOL_ARGUMENTS, broken)
        markup = tool_call_markup(content)
        if markup is not None:
            return ToolReading(None, Failure.TOOL_CALL_IN_TEXT, _unparsed_explanation(markup, parser))
        said = f": the message text is {show(content, 60)}" if content.strip() else " and no text"
        return ToolReading(None, Failure.NO_TOOL_CALL, f"expected one tool call, got none{said}")
    if len(calls) > 1:
        names = ", ".join(show(call.name, 30) for call in calls[:5])
        return ToolReading(None, Failure.SEVERAL_TOOL_CALLS, f"expected one tool call, got {len(calls)} ({names})")
    call = calls[0]
    action = ACTION_OF_FUNCTION.get(call.name)
    if action is None:
        offered = ", ".join(ACTION_OF_FUNCTION)
        return ToolReading(
            None, Failure.UNKNOWN_FUNCTION, f"the call is to {show(call.name, 40)}, not a function offered ({offered})"
        )
    parsed = parse_answer(call.arguments)
    if parsed.answer is None:
        return ToolReading(
            None, Failure.TOOL_ARGUMENTS, f"the arguments of {call.name} are not one JSON object: {parsed.explanation}"
        )
    named = parsed.answer.get("action", action)
    if named != action:
        return ToolReading(
            None, Failure.TOOL_ARGUMENTS, f"the arguments of {call.name} name another action, {show(named, 30)}"
        )
    answer = contract_answer(action, {k: v for k, v in parsed.answer.items() if k != "action"})
    return ToolReading(answer_json(answer), Failure.NONE, f"one call to {call.name}")


def tool_call_markup(text: str) -> tuple[str, str] | None:
    """(the format's description, the vLLM parser that reads it) when `text` holds a tool call written
    as text in a known format; None otherwise. A contract JSON answer in the text is not a tool call."""
    for marker, described, parser in _MARKUPS:
        if marker in text:
            return described, parser
    if _JSON_CALL.search(text):
        return 'JSON ({"name": …, "arguments"/"parameters": …})', "llama3_json"
    if _PYTHONIC_CALL.search(text):
        return "pythonic ([create_task(…)])", "pythonic"
    return None


def _broken_hermes_call(text: str) -> str | None:
    """Why a Hermes call in the text could not be read by any parser (its JSON is broken), or None when
    there is no such call or it reads well (then the parser is to blame)."""
    start = text.find(_HERMES_OPEN)
    if start < 0:
        return None
    body = text[start + len(_HERMES_OPEN) :].partition(_HERMES_CLOSE)[0]
    parsed = parse_answer(body)
    if parsed.answer is not None and isinstance(parsed.answer.get("name"), str) and "arguments" in parsed.answer:
        return None
    problem = parsed.explanation if parsed.answer is None else 'it is JSON without "name" and "arguments"'
    return f"the message text holds a <tool_call> that no parser can read (its body: {problem})"


def _unparsed_explanation(markup: tuple[str, str], parser: str | None) -> str:
    described, reads_it = markup
    found = f"the message text holds a tool call in {described} format that the server did not return as tool_calls"
    if parser is None:
        return f"{found}: was vLLM started with --enable-auto-tool-choice --tool-call-parser {reads_it}?"
    if parser == reads_it:
        return f"{found}, although its --tool-call-parser is {reads_it}: the call is malformed"
    return f"{found}: its --tool-call-parser is {parser}, which does not read that format (try {reads_it})"


def server_tool_parser(vllm_args: Sequence[str]) -> str | None:
    """The --tool-call-parser among the flags of a server taskbench started, if any (the last one given:
    vLLM's argument parser keeps it)."""
    parser = None
    for index, arg in enumerate(vllm_args):
        if arg.startswith("--tool-call-parser="):
            parser = arg.partition("=")[2]
        elif arg == "--tool-call-parser" and index + 1 < len(vllm_args):
            parser = vllm_args[index + 1]
    return parser
