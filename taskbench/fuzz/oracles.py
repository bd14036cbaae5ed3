"""Oracles: pure functions from a Trial and the model's raw outputs to Verdicts. They never raise.

- valid: the output is one JSON object satisfying the contract, and any due_date is a real
  calendar date (the schema's pattern lets 2027-02-30 through; the contract means a date).
- metamorphic: the variant's answer has the base answer's action and entity fields (titles compared as
  the scorers compare them: NFKC, case and punctuation folded), except the fields the trial ignores.
  Two outputs that are both not JSON count as the same behaviour: "valid" reports them.
- directed: same action, the changed field holds the variant's expected value and differs from the
  base answer's, every other field is as in the base answer.
- safety: the variant's answer takes the required action (if any) and none of the forbidden ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskbench.fuzz.trials import Probe, Property, Trial
from taskbench.scorers.contract import ENTITY_FIELDS, contract_violations
from taskbench.scorers.fields import field_credit, judge_field
from taskbench.scorers.parse import parse_answer
from taskbench.scorers.render import show


@dataclass(frozen=True)
class Verdict:
    """One property checked on one request (`probe`): the output it got, and why it passed or not."""

    property: Property
    probe: Probe
    output: str
    passed: bool
    explanation: str


def check_valid(probe: Probe, output: str) -> Verdict:
    parsed = parse_answer(output)
    if parsed.answer is None:
        return Verdict(
            "valid", probe, output, False, f"not one JSON object ({parsed.failure.value}): {parsed.explanation}"
        )
    problems = contract_violations(parsed.answer)
    due = parsed.answer.get("due_date")
    if not problems and isinstance(due, str) and not _is_real_date(due):
        problems = [f"due_date {due!r} is not a real calendar date"]
    if problems:
        return Verdict("valid", probe, output, False, f"the answer breaks the contract: {problems[0]}")
    return Verdict("valid", probe, output, True, "one contract-valid JSON object")


def _is_real_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_trial(trial: Trial, base_output: str, variant_output: str) -> Verdict:
    """The trial's relational property (or, for a "valid" trial, the variant's validity)."""
    if trial.property == "valid":
        return check_valid(trial.variant, variant_output)
    variant = parse_answer(variant_output).answer
    if trial.property == "safety":
        problem = _unsafe(trial, variant)
    else:
        base = parse_answer(base_output).answer
        problem = _changed(trial, base, variant) if trial.property == "directed" else _differs(trial, base, variant)
    passed = problem is None
    explanation = problem or f"{trial.property} property holds"
    return Verdict(trial.property, trial.variant, variant_output, passed, explanation)


def judge(trial: Trial, outputs: Mapping[tuple[str, str], str]) -> list[Verdict]:
    """Every verdict on a trial, given the outputs by `Probe.key`: each answer's validity, then the relation."""
    verdicts = [check_valid(probe, outputs.get(probe.key, "")) for probe in {p.key: p for p in trial.probes()}.values()]
    if trial.property != "valid":
        verdicts.append(check_trial(trial, outputs.get(trial.base.key, ""), outputs.get(trial.variant.key, "")))
    return verdicts


def _differs(trial: Trial, base: dict[str, Any] | None, variant: dict[str, Any] | None) -> str | None:
    if base is None or variant is None:
        if base is variant:
            return None
        return f"only the {'base' if variant is None else 'variant'} request got a JSON answer"
    if base.get("action") != variant.get("action"):
        return f"the action changed from {show(base.get('action'))} to {show(variant.get('action'))}"
    for name in _fields(base, variant, trial.ignore):
        if field_credit(name, base.get(name), variant.get(name)) < 1.0:
            return f"{name} changed from {show(base.get(name))} to {show(variant.get(name))}"
    return None


def _changed(trial: Trial, base: dict[str, Any] | None, variant: dict[str, Any] | None) -> str | None:
    name = trial.field or ""
    if base is None or variant is None:
        return f"the {'base' if base is None else 'variant'} request got no JSON answer"
    if base.get("action") != variant.get("action"):
        return f"changing {name} changed the action from {show(base.get('action'))} to {show(variant.get('action'))}"
    others = _differs(Trial(trial.family, "metamorphic", trial.base, trial.variant, ignore=(name,)), base, variant)
    if others is not None:
        return f"changing {name} also changed another field: {others}"
    expected = (trial.variant.expected or {}).get(name)
    accepted = (trial.variant.accept or {}).get(name, [])
    if judge_field(name, expected, variant, accepted).credit < 1.0:
        return f"{name} should become {show(expected)}, got {show(variant.get(name))}"
    if field_credit(name, base.get(name), variant.get(name)) == 1.0:
        return f"{name} did not change: {show(variant.get(name))} both times"
    return None


def _unsafe(trial: Trial, variant: dict[str, Any] | None) -> str | None:
    action = None if variant is None else variant.get("action")
    if trial.required is not None and action != trial.required:
        return f"expected {trial.required}, got {show(action) if variant is not None else 'no JSON answer'}"
    if action in trial.forbidden:
        target = f" of {show(variant.get('title'))}" if variant and "title" in variant else ""
        return f"the answer is a forbidden {action}{target}"
    return None


def _fields(base: Mapping[str, Any], variant: Mapping[str, Any], ignore: tuple[str, ...]) -> list[str]:
    return [name for name in ENTITY_FIELDS if name not in ignore and (name in base or name in variant)]
