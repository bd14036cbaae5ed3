"""The run folder (taskbench.artifacts) and --replay's reading of it (taskbench.model.replay): answers.jsonl,
served.json and results.json written and read back, the model record found without the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from synthetic_results import synthetic_results

from taskbench.artifacts import (
    ANSWERS_FILE,
    RESULTS_FILE,
    SERVED_FILE,
    load_answers,
    load_results,
    model_record,
    read_served,
    results_chunks,
    save_answers,
    write_results,
    write_served,
)
from taskbench.errors import ModelError, ReplayError, RequestError, TaskbenchError
from taskbench.model.client import Answer, ServedModel
from taskbench.model.replay import load_replay

SERVED = ServedModel("m", ("http://127.0.0.1:1", "http://127.0.0.1:2"), "/w", 2048, "0.32.0")
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
answers = st.dictionaries(
    text,
    st.one_of(
        st.builds(Answer, text, text, st.integers(0, 10**6), st.integers(0, 10**6), st.floats(0, 100)),
        st.builds(ModelError, text),
    ),
    max_size=8,
)


@given(answers)
def test_answers_round_trip(tmp_path_factory: pytest.TempPathFactory, stored: dict) -> None:
    run_dir = tmp_path_factory.mktemp("run")
    save_answers(run_dir, stored)
    loaded = load_answers(run_dir / ANSWERS_FILE)
    assert list(loaded) == list(stored)
    for key, answer in stored.items():
        if isinstance(answer, Answer):
            assert loaded[key] == answer
        else:
            assert isinstance(loaded[key], ModelError) and str(loaded[key]) == str(answer)


def test_served_json_round_trips(tmp_path: Path) -> None:
    write_served(tmp_path, SERVED, model_record(SERVED))
    served = read_served(tmp_path)
    assert (served.served, served.model, served.identity) == (SERVED, model_record(SERVED), SERVED.identity())
    write_served(tmp_path, None, None)
    assert (read_served(tmp_path).served, read_served(tmp_path).identity) == (None, "")
    with pytest.raises(ModelError, match=r"served\.json is missing"):
        read_served(tmp_path / "elsewhere")
    (tmp_path / SERVED_FILE).write_text("[1]", encoding="utf-8")
    with pytest.raises(ModelError, match=r"served\.json: not a served\.json"):
        read_served(tmp_path)


@given(st.dictionaries(text, st.recursive(st.none() | st.booleans() | text | st.integers(), st.lists), max_size=5))
def test_results_text_parses_back_to_the_results(results: dict) -> None:
    rows = {"items": [{"id": "a\nb", "x": [1, {"y": "\u2603"}]}, {"id": "c"}], "errors": []}
    document = {**results, **rows}
    assert json.loads("".join(results_chunks(document))) == document


def test_results_are_written_validated_and_loaded(tmp_path: Path) -> None:
    results = synthetic_results(per_capability=5)
    path = write_results(tmp_path / "run-1", results)
    assert path == tmp_path / "run-1" / RESULTS_FILE
    assert (tmp_path / "latest").resolve() == (tmp_path / "run-1").resolve()
    assert load_results(tmp_path / "run-1") == load_results(path) == json.loads(json.dumps(results))
    broken = {**results, "complete": "yes"}
    with pytest.raises(TaskbenchError, match=r"breaks results\.schema\.json.*complete"):
        write_results(tmp_path / "run-2", broken)
    assert (tmp_path / "run-2" / RESULTS_FILE).is_file(), "the run's only record is written all the same"


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), ("{", "invalid JSON"), ("[]", "no items list"), ('{"items": 3}', "no items list")],
)
def test_a_file_that_is_not_results_is_named(tmp_path: Path, content: str | None, problem: str) -> None:
    if content is not None:
        (tmp_path / RESULTS_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(TaskbenchError, match=rf"{RESULTS_FILE}: .*{problem}"):
        load_results(tmp_path)


def test_replay_takes_the_model_from_served_json_not_the_results(tmp_path: Path) -> None:
    stored = {"a": Answer("{}", "stop", 3, 4, 0.5), "b": RequestError("boom")}
    save_answers(tmp_path, stored)
    write_served(tmp_path, SERVED, model_record(SERVED))
    (tmp_path / RESULTS_FILE).write_text("not JSON: replay must not need it", encoding="utf-8")
    for source in (tmp_path, tmp_path / ANSWERS_FILE):
        answers, model = load_replay(source)
        assert model == model_record(SERVED)
        assert answers["a"] == stored["a"] and str(answers["b"]) == "boom"


def test_replay_of_a_results_json_reads_its_items_and_model(tmp_path: Path) -> None:
    results = synthetic_results(per_capability=3, errored=1)
    write_results(tmp_path, results)
    answers, model = load_replay(tmp_path)
    assert model == results["model"]
    first = results["items"][0]
    assert answers[first["id"]].text == first["output"]
    assert isinstance(answers[results["errors"][0]["id"]], ModelError)
    # An answers.jsonl with no served.json beside it: the model record comes from the results.
    save_answers(tmp_path, {"x": Answer("{}", "stop", 1, 1, 0.1)})
    assert load_replay(tmp_path / ANSWERS_FILE)[1] == results["model"]


def test_nothing_to_replay_is_a_replay_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="nothing to replay"):
        load_replay(tmp_path)
    (tmp_path / RESULTS_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(ReplayError, match="cannot read the run to replay"):
        load_replay(tmp_path)
