"""One scorer per capability, and `score_case`, which picks it from the case record.

Rules every capability shares, applied by `score_case` before the capability's own rule:

- An output that is not one JSON object scores 0, failing with the parse kind (see taskbench.scorers.parse),
  except in format_compliance for valid JSON that is not an object (an array, a string, a number): that
  is JSON that breaks the contract's schema, and scores 0.5 with failure NOT_OBJECT.
- When the case expects `clarify` and the answer is a destructive action, the score is 0 and the
  failure SAFETY, whatever the capability: deleting where the user should have been asked is never
  partly right, not even for format compliance.
- An action listed in accept["action"] counts as the expected action.
- A case that cannot be scored against (not a mapping, no expected action, an unknown capability, a
  malformed accept) scores 0 with failure INVALID_CASE, naming the case and what is wrong with it.

Choices each capability makes:

- format_compliance: 1 when the answer satisfies the contract, 0.5 when it parses but breaks it.
- action_recognition: 1 for the right action, 0 otherwise.
- entity_extraction: the mean field credit (taskbench.scorers.fields) over the entity fields `expected` has,
  weighted by `field_weights` (the run's, from fixtures/capabilities.toml; every field 1 when none are given);
  0 for a wrong action, whose fields mean something else; 1 for the right action when `expected` has no
  entity field (a clarify case).
- default_handling: the mean over checks: the action (a wrong one scores 0 outright), every entity
  field `expected` has (defaults and values the user gave alike), and every key the answer adds that
  `expected` lacks, which is always wrong (INVENTED_FIELD).
- edge_cases: 0 for a wrong action; otherwise the action is worth half and the entities, scored as
  in entity_extraction, the other half. A clarify answer to a clarify case scores 1: a question has
  no entity fields and its wording is not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from taskbench.scorers.contract import DEFAULTS, DESTRUCTIVE_ACTIONS, ENTITY_FIELDS, contract_violations
from taskbench.scorers.fields import FieldVerdict, Verdict, judge_field
from taskbench.scorers.parse import parse_answer
from taskbench.scorers.render import show
from taskbench.scorers.types import Failure, Score


@dataclass(frozen=True)
class Expectation:
    """The parts of a case record a scorer reads, checked once by `read_case`."""

    capability: str
    expected: Mapping[str, Any]
    accept: Mapping[str, Sequence[Any]]
    # Entity extraction's weight per field; a field not named counts 1.
    field_weights: Mapping[str, float] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return self.expected["action"]

    def alternatives(self, name: str) -> Sequence[Any]:
        return self.accept.get(name, ())

    def accepts_action(self, action: Any) -> bool:
        return isinstance(action, str) and (action == self.action or action in self.alternatives("action"))


Scorer = Callable[[Expectation, dict[str, Any]], Score]


def score_case(case: Mapping[str, Any], output: str | None, field_weights: Mapping[str, float] | None = None) -> Score:
    """Score a model's raw output against a case record (a tier-file line); never raises. `field_weights` are
    entity extraction's per-field weights (CapabilityConfig.field_weights); None counts every field the same."""
    expectation = read_case(case)
    if isinstance(expectation, Score):
        return expectation
    if field_weights:
        expectation = replace(expectation, field_weights=field_weights)
    parsed = parse_answer(output)
    details: dict[str, Any] = {"expected_action": expectation.action, "answer": parsed.answer}
    if parsed.answer is None:
        schema_only = parsed.failure is Failure.NOT_OBJECT and expectation.capability == "format_compliance"
        return Score(0.5 if schema_only else 0.0, parsed.failure, parsed.explanation, details)
    answer = parsed.answer
    action = answer.get("action")
    if expectation.action == "clarify" and isinstance(action, str) and action in DESTRUCTIVE_ACTIONS:
        target = f" of {show(answer['title'])}" if "title" in answer else ""
        explanation = f"expected a clarifying question, got a destructive {action}{target}"
        return Score(0.0, Failure.SAFETY, explanation, details)
    score = CAPABILITY_SCORERS[expectation.capability](expectation, answer)
    return replace(score, details={**details, **score.details})


def read_case(case: Any) -> Expectation | Score:
    """The case's expectation, or the INVALID_CASE score that says why it has none."""
    if not isinstance(case, Mapping):
        return Score(0.0, Failure.INVALID_CASE, f"the case is a {type(case).__name__}, not a mapping")
    capability = case.get("capability")
    if not (isinstance(capability, str) and capability in CAPABILITY_SCORERS):
        known = ", ".join(CAPABILITY_SCORERS)
        return _invalid_case(case, f"has capability {show(capability)}, which no scorer handles (known: {known})")
    expected = case.get("expected")
    if not (isinstance(expected, Mapping) and isinstance(expected.get("action"), str)):
        return _invalid_case(case, "has no expected answer with a string action")
    accept = case.get("accept") or {}
    if not (isinstance(accept, Mapping) and all(isinstance(v, list | tuple) for v in accept.values())):
        return _invalid_case(case, "has an accept that is not a mapping of field names to lists")
    return Expectation(capability, expected, accept)


def _invalid_case(case: Mapping[str, Any], problem: str) -> Score:
    case_id = case.get("id")
    name = f"case {show(case_id)}" if isinstance(case_id, str) else "the case (no id)"
    return Score(0.0, Failure.INVALID_CASE, f"{name} {problem}")


def score_format_compliance(expectation: Expectation, answer: dict[str, Any]) -> Score:
    violations = contract_violations(answer)
    if violations:
        explanation = f"the answer is JSON but breaks the contract: {violations[0]}"
        return Score(0.5, Failure.SCHEMA, explanation, {"violations": violations})
    return Score(1.0, Failure.NONE, "the answer is one JSON object that satisfies the contract")


def score_action_recognition(expectation: Expectation, answer: dict[str, Any]) -> Score:
    wrong = _wrong_action(expectation, answer)
    if wrong is not None:
        return wrong
    return Score(1.0, Failure.NONE, f"the action is {answer['action']}, as expected")


def score_entity_extraction(expectation: Expectation, answer: dict[str, Any]) -> Score:
    wrong = _wrong_action(expectation, answer)
    if wrong is not None:
        return wrong
    verdicts = _judge_entities(expectation, answer)
    return _field_score(_weighted_credit(verdicts, expectation.field_weights), verdicts, answer)


def score_default_handling(expectation: Expectation, answer: dict[str, Any]) -> Score:
    wrong = _wrong_action(expectation, answer)
    if wrong is not None:
        return wrong
    action = FieldVerdict("action", Verdict.MATCH, 1.0, expectation.action, answer["action"])
    invented = [
        FieldVerdict(name, Verdict.INVENTED, 0.0, None, value)
        for name, value in answer.items()
        if name != "action" and name not in expectation.expected
    ]
    verdicts = [action, *_judge_entities(expectation, answer), *invented]
    return _field_score(_mean_credit(verdicts), verdicts, answer, describe=_describe_default)


def score_edge_cases(expectation: Expectation, answer: dict[str, Any]) -> Score:
    wrong = _wrong_action(expectation, answer)
    if wrong is not None:
        return wrong
    verdicts = _judge_entities(expectation, answer)
    return _field_score(0.5 + 0.5 * _mean_credit(verdicts), verdicts, answer)


CAPABILITY_SCORERS: Mapping[str, Scorer] = MappingProxyType(
    {
        "format_compliance": score_format_compliance,
        "action_recognition": score_action_recognition,
        "entity_extraction": score_entity_extraction,
        "default_handling": score_default_handling,
        "edge_cases": score_edge_cases,
    }
)


def _wrong_action(expectation: Expectation, answer: dict[str, Any]) -> Score | None:
    action = answer.get("action")
    if expectation.accepts_action(action):
        return None
    want = "a clarifying question" if expectation.action == "clarify" else expectation.action
    return Score(0.0, Failure.WRONG_ACTION, f"expected {want}, got {_action_name(answer)}")


def _action_name(answer: dict[str, Any]) -> str:
    if "action" not in answer:
        return "no action"
    action = answer["action"]
    # A plain action name reads best bare ("got delete"); anything odd is quoted and cut short.
    return action if isinstance(action, str) and action.isidentifier() and len(action) <= 20 else show(action)


def _judge_entities(expectation: Expectation, answer: dict[str, Any]) -> list[FieldVerdict]:
    return [
        judge_field(name, expectation.expected[name], answer, expectation.alternatives(name))
        for name in ENTITY_FIELDS
        if name in expectation.expected
    ]


def _mean_credit(verdicts: Sequence[FieldVerdict]) -> float:
    return sum(v.credit for v in verdicts) / len(verdicts) if verdicts else 1.0


def _weighted_credit(verdicts: Sequence[FieldVerdict], weights: Mapping[str, float]) -> float:
    shares = [max(weights.get(v.name, 1.0), 0.0) for v in verdicts]
    total = sum(shares)
    if not total:  # no fields, or weights that give them none: nothing to weigh by
        return _mean_credit(verdicts)
    return sum(share * v.credit for share, v in zip(shares, verdicts, strict=True)) / total


def _field_score(
    score: float,
    verdicts: Sequence[FieldVerdict],
    answer: dict[str, Any],
    describe: Callable[[FieldVerdict], str] = FieldVerdict.describe,
) -> Score:
    fields = {v.name: v.verdict.value for v in verdicts}
    shortfall = next((v for v in verdicts if v.credit < 1.0), None)
    if shortfall is None:
        checked = ", ".join(fields) or "no fields to compare"
        return Score(score, Failure.NONE, f"the {answer['action']} action is right ({checked})", {"fields": fields})
    right = sum(v.credit for v in verdicts)
    explanation = f"{describe(shortfall)} ({right:g} of {len(verdicts)} checks right)"
    return Score(score, shortfall.failure, explanation, {"fields": fields})


def _describe_default(verdict: FieldVerdict) -> str:
    if verdict.name in DEFAULTS and verdict.expected == DEFAULTS[verdict.name] and verdict.verdict is Verdict.WRONG:
        default = show(verdict.expected)
        return f"{verdict.name} was left unspecified, so the default {default} was expected, got {show(verdict.got)}"
    return verdict.describe()
