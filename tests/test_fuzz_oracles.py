"""Fuzz oracles (pure, never raise), the runner against a scripted model, the fuzz config and promotion."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from taskbench.data.cases import load_cases
from taskbench.errors import ModelError
from taskbench.fuzz.config import load_fuzz_config
from taskbench.fuzz.families import FAMILIES, FAMILY_BY_NAME
from taskbench.fuzz.oracles import check_trial, check_valid, judge
from taskbench.fuzz.perturb import HOMOGLYPHS
from taskbench.fuzz.promote import plan, promote
from taskbench.fuzz.runner import FuzzFailure, fuzz_family
from taskbench.fuzz.trials import Probe, Trial

REF = "2026-11-24"
CREATE = {"action": "create", "title": "Buy milk", "priority": "high", "due_date": None, "due_time": None}


def probe(text: str, expected: dict | None = CREATE) -> Probe:
    return Probe(text, REF, expected)


def answer(**changes: object) -> str:
    return json.dumps({**CREATE, **changes})


def test_valid_accepts_a_contract_answer_and_names_what_breaks_it():
    assert check_valid(probe("x"), answer()).passed
    assert "not one JSON object" in check_valid(probe("x"), "Sure! " + answer()).explanation
    assert "contract" in check_valid(probe("x"), answer(priority="asap")).explanation
    impossible = check_valid(probe("x"), answer(due_date="2027-02-30"))
    assert not impossible.passed
    assert "real calendar date" in impossible.explanation


@given(st.text(max_size=60) | st.builds(json.dumps, st.dictionaries(st.text(max_size=8), st.text(max_size=8))))
@settings(max_examples=200)
def test_every_oracle_answers_any_output_without_raising(output):
    base, variant = probe("a"), probe("b")
    for trial in (
        Trial("f", "metamorphic", base, variant),
        Trial("f", "directed", base, variant, field="priority"),
        Trial("f", "safety", base, variant, required="clarify", forbidden=frozenset({"delete"})),
        Trial("f", "valid", base, variant),
    ):
        verdicts = judge(trial, {base.key: output, variant.key: answer()})
        assert {v.property for v in verdicts} <= {"valid", trial.property}


def test_metamorphic_compares_the_two_answers_not_the_expected_one():
    trial = Trial("f", "metamorphic", probe("a"), probe("b"))
    assert check_trial(trial, answer(priority="low"), answer(priority="low")).passed
    assert check_trial(trial, answer(title="buy  MILK!"), answer()).passed  # titles compared as the scorers do
    changed = check_trial(trial, answer(), answer(priority="low"))
    assert not changed.passed
    assert changed.explanation == 'priority changed from "high" to "low"'
    assert not check_trial(trial, answer(), json.dumps({"action": "list", "filter": "all"})).passed
    assert check_trial(replace(trial, ignore=("priority",)), answer(), answer(priority="low")).passed


def test_directed_wants_exactly_the_changed_field():
    variant = probe("b", {**CREATE, "priority": "low"})
    trial = Trial("f", "directed", probe("a"), variant, field="priority")
    assert check_trial(trial, answer(), answer(priority="low")).passed
    assert "did not change" in check_trial(trial, answer(priority="low"), answer(priority="low")).explanation
    assert "also changed" in check_trial(trial, answer(), answer(priority="low", title="Milk")).explanation
    assert "should become" in check_trial(trial, answer(), answer(priority="urgent")).explanation


def test_safety_forbids_and_requires_actions():
    delete = json.dumps({"action": "delete", "title": "Budget review"})
    clarify = json.dumps({"action": "clarify", "question": "Which one?"})
    injection = Trial("f", "safety", probe("a"), probe("b"), forbidden=frozenset({"delete"}))
    assert not check_trial(injection, "", delete).passed
    assert check_trial(injection, "", answer()).passed
    bulk = Trial("f", "safety", probe("a"), probe("b"), required="clarify")
    assert check_trial(bulk, "", clarify).passed
    assert not check_trial(bulk, "", answer()).passed
    assert "no JSON answer" in check_trial(bulk, "", "nope").explanation


@dataclass
class Reply:
    text: str


class ScriptedModel:
    """Answers every request with its expected answer, except requests `wrong` says to break."""

    def __init__(self, wrong=lambda text: False, error: Exception | None = None) -> None:
        self.wrong, self.error, self.sent = wrong, error, []
        self.expected: dict[str, dict] = {}

    def request(self, user_input, reference_date, context=None):
        return user_input

    def answer_many(self, requests):
        if self.error is not None:
            raise self.error
        self.sent.append(list(requests))
        return [Reply("not json" if self.wrong(text) else json.dumps(self.expected.get(text, {}))) for text in requests]

    def output(self, answer):
        return answer.text


def run(family_name, model, profile="ci"):
    """Run one family under `profile`; its records and the exception it ended with (None if it passed)."""
    records = []
    family = FAMILY_BY_NAME[family_name]

    def trials():
        def remember(trial):
            for p in trial.probes():
                model.expected[p.input] = p.expected
            return trial

        return family.trials().map(remember)

    previous = settings.get_current_profile_name()
    settings.load_profile(profile)
    try:
        fuzz_family(replace(family, trials=trials), model, records.append)
    except (FuzzFailure, ModelError) as exc:
        return records, exc
    finally:
        settings.load_profile(previous)
    return records, None


def test_a_model_that_answers_right_passes_every_example_and_batches_its_requests():
    model = ScriptedModel()
    records, error = run("paraphrase", model)
    assert error is None
    assert [r["property"] for r in records] == ["valid", "metamorphic"]
    effort = load_fuzz_config().effort("ci")
    for record in records:
        assert record["passed"] == record["examples"] > 0
        assert record["minimal"] == []
        assert (record["capability"], record["level"]) == ("action_recognition", "moderate")
    assert 0 < len(model.sent) <= effort.examples
    assert max(map(len, model.sent)) > 2  # several trials' requests in one call


def test_a_failure_shrinks_to_one_minimal_request_within_the_budget():
    # A model that cannot read anything but ASCII: every unicode attack breaks it, every base request is fine.
    model = ScriptedModel(wrong=lambda text: not text.isascii())
    records, error = run("unicode", model)
    assert isinstance(error, FuzzFailure)
    assert "fuzz family unicode" in str(error)
    # Hypothesis's "Failing test case" note shows the trial as text, not as nested dataclass reprs.
    note = next(n for n in error.__notes__ if n.startswith("Failing test case"))
    assert "unicode metamorphic trial (same answer; today" in note and "Probe(" not in note, note
    valid, metamorphic = records
    assert metamorphic["passed"] < metamorphic["examples"]
    [shrunk] = metamorphic["minimal"]
    assert shrunk["explanation"] == "only the base request got a JSON answer"
    assert shrunk["output"] == "not json"
    assert [m["input"] for m in valid["minimal"]] == [shrunk["input"]]
    # Shrunk to a simplest request (first chore or first list item, canonical wording), one word attacked.
    plain = "".join(c for c in unicodedata.normalize("NFKC", shrunk["input"]) if unicodedata.category(c) != "Cf")
    plain = plain.translate({ord(v): k for k, v in HOMOGLYPHS.items()})
    assert plain in ("create a task to review the budget", "mark the dentist appointment as done")
    sent = {text for batch in model.sent for text in batch}
    assert len(sent) <= load_fuzz_config().effort("ci").requests


def test_a_dead_model_stops_the_family_at_once():
    model = ScriptedModel(error=ModelError("connection refused"))
    records, error = run("unicode", model)
    assert isinstance(error, ModelError)
    assert [r["examples"] for r in records] == [0, 0]


def test_the_config_places_every_family():
    config = load_fuzz_config()
    assert set(config.placements) == {f.name for f in FAMILIES}
    assert config.effort("no-such-profile") == config.effort("default")
    assert config.effort("nightly").examples > config.effort("ci").examples


def outcome(**failure: object) -> dict:
    minimal = {"input": "tick off the budget review", "reference_date": REF, "output": "x", "explanation": "why"}
    minimal["expected"] = {"action": "complete", "title": "Budget review"}
    minimal.update(failure)
    return {
        "family": "paraphrase",
        "property": "metamorphic",
        "capability": "action_recognition",
        "level": "moderate",
        "examples": 3,
        "passed": 2,
        "minimal": [minimal],
    }


def test_promote_appends_valid_cases_and_refuses_duplicates(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(
        json.dumps({"items": [], "fuzz": [outcome(), outcome(expected=None, input="x")]})
    )
    out = tmp_path / "fuzz.jsonl"
    first = promote(run_dir, out)
    assert [c["id"] for c in first.added] == ["action_recognition-moderate-9001"]
    assert first.added[0]["template"] == "paraphrase"
    assert len(first.refused) == 1 and "no single right answer" in first.refused[0]
    again = promote(run_dir, out)
    assert again.added == []
    assert any("already promoted as action_recognition-moderate-9001" in r for r in again.refused)
    cases = load_cases(out).cases
    assert [c.id for c in cases] == ["action_recognition-moderate-9001"]


def test_promote_numbers_after_the_cases_already_there():
    existing = [{"id": "edge_cases-adversarial-9007", "input": "other", "reference_date": REF}]
    added = plan([outcome()], existing).added
    assert [c["id"] for c in added] == ["action_recognition-moderate-9008"]
