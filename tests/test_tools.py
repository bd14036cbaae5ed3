"""--answer-mode tools without a model: the functions generated from the contract schema, and a message's
tool calls read back as the contract answer or as the tool-call failure that says what went wrong."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from synthetic_results import synthetic_results
from taskbench.scorers import Failure, score_case
from taskbench.scorers.contract import ACTIONS, contract_schema, contract_violations

from taskbench import demo_model
from taskbench.data.cases import load_tier
from taskbench.errors import TaskbenchError
from taskbench.gate.compare import Run, compare_runs
from taskbench.model import tools
from taskbench.model.client import Answer, ServedModel
from taskbench.model.prompts import answer_json
from taskbench.model.reading import AnswerReader, Reading, score_reading
from taskbench.model.tools import (
    ACTION_OF_FUNCTION,
    FUNCTION_OF_ACTION,
    TOOL_RESULT,
    ToolCall,
    function_parameters,
    read_tool_calls,
    server_tool_parser,
    tool_call_of,
    tool_definitions,
    tools_messages,
)
from taskbench.options import Settings, resolve_settings

GATE = load_tier("gate").cases
EXPECTED = [case.expected for case in GATE]


def arguments_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "action"}


def parameters_validator(action: str) -> Draft202012Validator:
    return Draft202012Validator(function_parameters(action))


# --- the functions ---------------------------------------------------------------------------------------


def test_one_function_per_contract_action_with_no_reference_left() -> None:
    definitions = tool_definitions()
    assert [d["function"]["name"] for d in definitions] == [FUNCTION_OF_ACTION[a] for a in ACTIONS]
    assert "$ref" not in json.dumps(definitions)
    for definition in definitions:
        Draft202012Validator.check_schema(definition["function"]["parameters"])


@pytest.mark.parametrize("answer", EXPECTED, ids=[case.id for case in GATE])
def test_every_expected_answer_is_valid_arguments_of_its_function(answer: dict[str, Any]) -> None:
    assert list(parameters_validator(answer["action"]).iter_errors(arguments_of(answer))) == []


BROKEN = [
    {"action": "create", "title": "x", "priority": "whenever", "due_date": None, "due_time": None},
    {"action": "create", "title": "", "priority": "low", "due_date": None, "due_time": None},
    {"action": "create", "title": "x", "priority": "low", "due_date": "2026-13-01", "due_time": None},
    {"action": "create", "title": "x", "priority": "low", "due_date": None},
    {"action": "update", "title": "x"},
    {"action": "list", "filter": "soon"},
    {"action": "delete", "title": "x", "priority": "low"},
    {"action": "clarify", "question": ""},
]


@pytest.mark.parametrize("answer", BROKEN, ids=[json.dumps(b) for b in BROKEN])
def test_an_answer_that_breaks_the_contract_is_refused_by_its_function(answer: dict[str, Any]) -> None:
    assert contract_violations(answer)
    assert list(parameters_validator(answer["action"]).iter_errors(arguments_of(answer)))


def test_the_functions_follow_the_schema_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parameters are generated, not written out: a field added to the contract reaches the function.
    schema = copy.deepcopy(contract_schema())
    schema["$defs"]["complete"]["properties"]["note"] = {"type": "string"}
    schema["$defs"]["complete"]["required"].append("note")
    monkeypatch.setattr(tools, "contract_schema", lambda: schema)
    parameters = function_parameters("complete")
    assert parameters["properties"]["note"] == {"type": "string"}
    assert parameters["required"] == ["title", "note"]
    assert parameters["additionalProperties"] is False


# --- a tool call read back --------------------------------------------------------------------------------


@given(st.sampled_from(EXPECTED))
def test_the_call_of_an_answer_reads_back_as_that_answer(answer: dict[str, Any]) -> None:
    call = tool_call_of(answer, "call_0")["function"]
    reading = read_tool_calls([ToolCall(call["name"], call["arguments"])], "")
    assert reading.failure is Failure.NONE and reading.output == answer_json(answer)


@given(
    calls=st.lists(st.builds(ToolCall, st.sampled_from([*ACTION_OF_FUNCTION, "x"]) | st.text(), st.text()), max_size=3),
    content=st.text(),
    parser=st.none() | st.text(max_size=10),
)
def test_reading_any_message_never_raises_and_fails_only_without_an_output(
    calls: list[ToolCall], content: str, parser: str | None
) -> None:
    reading = read_tool_calls(calls, content, parser)
    assert (reading.output is None) == (reading.failure is not Failure.NONE)
    assert reading.failure is Failure.NONE or reading.failure.is_tool_call_failure
    assert reading.explanation


CREATE = '{"title":"Buy milk","priority":"medium","due_date":null,"due_time":null}'


@pytest.mark.parametrize(
    ("calls", "content", "failure", "says"),
    [
        ([], "", Failure.NO_TOOL_CALL, "got none and no text"),
        ([], '{"action":"list","filter":"all"}', Failure.NO_TOOL_CALL, "the message text is"),
        ([ToolCall("create_task", CREATE), ToolCall("list_tasks", "{}")], "", Failure.SEVERAL_TOOL_CALLS, "got 2"),
        ([ToolCall("create_reminder", CREATE)], "", Failure.UNKNOWN_FUNCTION, '"create_reminder"'),
        ([ToolCall("create_task", '{"title": "Buy milk"')], "", Failure.TOOL_ARGUMENTS, "stops"),
        ([ToolCall("create_task", '["Buy milk"]')], "", Failure.TOOL_ARGUMENTS, "not one JSON object"),
        ([ToolCall("list_tasks", '{"action":"delete"}')], "", Failure.TOOL_ARGUMENTS, "another action"),
    ],
)
def test_each_tool_call_failure_is_named(calls: list[ToolCall], content: str, failure: Failure, says: str) -> None:
    reading = read_tool_calls(calls, content)
    assert reading.failure is failure and reading.output is None
    assert says in reading.explanation


HERMES_TEXT = '<tool_call>{"name": "create_task", "arguments": ' + CREATE + "}</tool_call>"


@pytest.mark.parametrize(
    ("content", "parser", "says"),
    [
        (HERMES_TEXT, None, "was vLLM started with --enable-auto-tool-choice --tool-call-parser hermes?"),
        (HERMES_TEXT, "pythonic", "its --tool-call-parser is pythonic, which does not read that format (try hermes)"),
        (HERMES_TEXT, "hermes", "although its --tool-call-parser is hermes: the call is malformed"),
        ('[TOOL_CALLS][{"name": "list_tasks", "arguments": {}}]', None, "--tool-call-parser mistral"),
        ('{"name": "list_tasks", "parameters": {"filter": "all"}}', None, "--tool-call-parser llama3_json"),
        ('[list_tasks(filter="all")]', "hermes", "(try pythonic)"),
    ],
)
def test_a_call_left_in_the_text_names_the_parser(content: str, parser: str | None, says: str) -> None:
    reading = read_tool_calls([], content, parser)
    assert reading.failure is Failure.TOOL_CALL_IN_TEXT
    assert says in reading.explanation


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('<tool_call>{"name": "list_tasks", "arguments": {"filter":"all"}</tool_call>', "bracket(s) still open"),
        ('<tool_call>{"title": "Buy milk"}</tool_call>', 'without "name" and "arguments"'),
    ],
)
def test_a_broken_call_in_the_text_is_the_models_fault_not_the_parsers(content: str, says: str) -> None:
    reading = read_tool_calls([], content, "hermes")
    assert reading.failure is Failure.TOOL_ARGUMENTS
    assert "no parser can read" in reading.explanation and says in reading.explanation


def test_the_server_parser_is_read_from_its_flags() -> None:
    assert server_tool_parser(["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]) == "hermes"
    assert server_tool_parser(["--tool-call-parser=pythonic", "--max-num-seqs", "8"]) == "pythonic"
    assert server_tool_parser(["--enable-auto-tool-choice"]) is None


# --- scoring a tools-mode answer --------------------------------------------------------------------------


def tools_answer(*calls: tuple[str, str], text: str = "") -> Answer:
    listed = [{"name": name, "arguments": arguments} for name, arguments in calls]
    return Answer(text, "tool_calls", 10, 5, 0.1, json.dumps(listed) if listed else None)


# Not named `case`: the plugin takes a test with a `case` parameter for an evaluation item.
@pytest.mark.parametrize("tier_case", GATE[:60], ids=[case.id for case in GATE[:60]])
def test_a_right_call_scores_as_the_same_answer_in_the_text_does(tier_case: Any) -> None:
    record = tier_case.to_record()
    call = tool_call_of(tier_case.expected, "call_0")["function"]
    reading = AnswerReader("tools").read(tools_answer((call["name"], call["arguments"])))
    assert score_reading(record, reading) == score_case(record, answer_json(tier_case.expected))


def test_a_tool_call_failure_scores_zero_with_its_kind_and_an_invalid_case_stays_invalid() -> None:
    case = GATE[0].to_record()
    reading = AnswerReader("tools").read(tools_answer(text=HERMES_TEXT))
    score = score_reading(case, reading)
    assert (score.score, score.failure) == (0.0, Failure.TOOL_CALL_IN_TEXT)
    assert score.details == {"expected_action": case["expected"]["action"], "answer": None}
    assert score_reading({"id": "x"}, reading).failure is Failure.INVALID_CASE


def test_a_call_cut_off_at_max_tokens_is_truncated() -> None:
    cut = Answer('<tool_call>{"name": "create_task", "arguments": {"title":"Quarterly quarterly', "length", 9, 256, 1.0)
    reading = AnswerReader("tools").read(cut)
    assert reading.failure is Failure.TRUNCATED and "cut off at --max-tokens" in reading.explanation
    assert AnswerReader("tools").read(dataclasses.replace(cut, finish_reason="stop")).failure is Failure.TOOL_ARGUMENTS


def test_content_mode_reads_the_text_and_ignores_tool_calls() -> None:
    answer = tools_answer(("list_tasks", '{"filter":"all"}'), text='{"action":"list","filter":"today"}')
    assert AnswerReader("content").read(answer) == Reading('{"action":"list","filter":"today"}')


# --- the history of a tools conversation --------------------------------------------------------------------


def test_earlier_answers_become_calls_with_their_results_and_unparseable_ones_stay_text() -> None:
    messages = [
        {"role": "system", "content": "Today is Tuesday."},
        {"role": "user", "content": "what is on my list"},
        {"role": "assistant", "content": '{"action":"list","filter":"all"}'},
        {"role": "user", "content": "hmm"},
        {"role": "assistant", "content": "sure thing"},
        {"role": "user", "content": "delete the budget"},
    ]
    converted = tools_messages(messages)
    assert converted[2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "list_tasks", "arguments": '{"filter":"all"}'}}
        ],
    }
    assert converted[3] == {"role": "tool", "tool_call_id": "call_2", "content": TOOL_RESULT}
    assert converted[5] == messages[4] and converted[-1] == messages[-1] and len(converted) == len(messages) + 1


# --- compare across answer modes ----------------------------------------------------------------------------


def test_compare_pairs_a_content_run_with_a_tools_run_and_says_what_differs() -> None:
    content = synthetic_results(run_id="content", per_capability=20)
    served = synthetic_results(run_id="tools", quality={"format_compliance": 0.5}, per_capability=20)
    served["config"] = {**served.get("config", {}), "answer_mode": "tools", "tool_choice": "required"}
    comparison = compare_runs(Run("content", content), Run("tools", served))
    assert comparison.common == len(content["items"])
    assert any("content mode (content) and tools mode, tool_choice required (tools)" in w for w in comparison.warnings)
    same = compare_runs(Run("content", content), Run("again", content))
    assert not any("answered differently" in w for w in same.warnings)


# --- the options ----------------------------------------------------------------------------------------------


def settings_for(pytester: pytest.Pytester, *args: str, pyproject: str = "") -> Settings:
    pytester.makefile(".toml", pyproject=pyproject)
    return resolve_settings(pytester.parseconfig(*args))


def test_the_options_come_from_the_command_line_the_environment_and_pyproject(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = settings_for(pytester, "--answer-mode", "tools", "--vllm-arg=--tool-call-parser=hermes", "--vllm-arg=-tp=1")
    assert (given.answer_mode, given.tool_choice, given.reasoning) == ("tools", "auto", "auto")
    assert given.vllm_arg == ("--tool-call-parser=hermes", "-tp=1")
    monkeypatch.setenv("TASKBENCH_VLLM_ARG", "--enable-auto-tool-choice,--tool-call-parser=hermes")
    monkeypatch.setenv("TASKBENCH_REASONING", "strip")
    table = '[tool.taskbench]\nanswer_mode = "tools"\ntool_choice = "required"\n'
    configured = settings_for(pytester, pyproject=table)
    assert configured.vllm_arg == ("--enable-auto-tool-choice", "--tool-call-parser=hermes")
    assert (configured.answer_mode, configured.tool_choice, configured.reasoning) == ("tools", "required", "strip")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--model-url", "http://127.0.0.1:1", "--vllm-arg=--tool-call-parser=hermes"], "give those flags to your own"),
        (["--answer-mode", "tools", "--structured-outputs", "on"], "use --tool-choice required"),
    ],
)
def test_options_that_cannot_work_together_are_refused(pytester: pytest.Pytester, args: list[str], says: str) -> None:
    with pytest.raises(TaskbenchError, match=says):
        settings_for(pytester, *args)


def test_a_spawned_server_gets_the_flags_after_its_own_and_they_change_the_model_identity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo_model, "ensure_demo_model", lambda progress=None: Path("/models/demo"))  # no build
    server = demo_model.demo_model_server(Path("vllm.log"), vllm_args=("--tool-call-parser=pythonic",))
    assert server.extra_args == (*demo_model.SERVER_ARGS, "--tool-call-parser=pythonic")
    assert server_tool_parser(server.extra_args) == "pythonic"  # vLLM keeps the last value given
    served = ServedModel("demo", ("http://x",), "/m", 1024, "0.32.0")
    assert dataclasses.replace(served, server_args=server.extra_args).identity() != served.identity()
