"""Running one family against a model with Hypothesis, and tallying what it found for the plugin.

One Hypothesis example is a batch of trials whose requests go to the model together (one
`answer_many` call); a failing batch shrinks to its one minimal trial, which Hypothesis runs last.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from taskbench.errors import TaskbenchError
from taskbench.fuzz.config import FuzzConfig, load_fuzz_config
from taskbench.fuzz.families import Family
from taskbench.fuzz.oracles import Verdict, judge
from taskbench.fuzz.trials import Property, Trial


class Model(Protocol):
    """What fuzzing needs of taskbench.model.live.LiveModel."""

    def request(self, user_input: str, reference_date: str, context: Any = None) -> Any: ...

    def answer_many(self, requests: Sequence[Any]) -> list[Any]: ...

    def output(self, answer: Any) -> str: ...


class FuzzFailure(AssertionError):
    """A property failed; the message names the family and shows each failing request."""


@dataclass
class Tally:
    """What one family's run saw: per property, each distinct request and whether it passed (the last
    verdict wins, so Hypothesis's replays do not count twice), and the failures of the last failing
    batch (after shrinking, the minimal one)."""

    family: Family
    seen: dict[Property, dict[tuple[str, str], bool]] = field(default_factory=dict)
    last_failures: list[Verdict] = field(default_factory=list)
    error: TaskbenchError | None = None

    def add(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        for verdict in verdicts:
            self.seen.setdefault(verdict.property, {})[verdict.probe.key] = verdict.passed
        failures = [v for v in verdicts if not v.passed]
        if failures:
            self.last_failures = failures
        return failures

    def records(self, config: FuzzConfig) -> list[dict[str, Any]]:
        """One outcome per property the family checks, in the shape `record_fuzz` takes."""
        placement = config.placements[self.family.name]
        properties: list[Property] = ["valid"] if self.family.property == "valid" else ["valid", self.family.property]
        return [
            {
                "family": self.family.name,
                "property": prop,
                "capability": placement.capability,
                "level": placement.level,
                "examples": len(self.seen.get(prop, {})),
                "passed": sum(self.seen.get(prop, {}).values()),
                "minimal": [minimal(v) for v in self.last_failures if v.property == prop],
            }
            for prop in properties
        ]


def minimal(verdict: Verdict) -> dict[str, Any]:
    probe = verdict.probe
    return {
        "input": probe.input,
        "reference_date": probe.reference_date,
        "expected": probe.expected,
        "output": verdict.output,
        "explanation": verdict.explanation,
    }


@dataclass
class Answers:
    """The family run's answers by `Probe.key`, and its request budget: past the budget, a batch holding
    a request not yet answered is not sent (`None`), so shrinking goes on only over what was answered."""

    model: Model
    budget: int
    outputs: dict[tuple[str, str], str] = field(default_factory=dict)

    def for_trials(self, trials: Sequence[Trial]) -> dict[tuple[str, str], str] | None:
        """Every distinct request of the batch, new ones sent at once; None when over budget."""
        new = {p.key: p for trial in trials for p in trial.probes() if p.key not in self.outputs}
        if new and len(self.outputs) + len(new) > self.budget:
            return None
        if new:
            answers = self.model.answer_many([self.model.request(p.input, p.reference_date) for p in new.values()])
            self.outputs.update((key, self.model.output(answer)) for key, answer in zip(new, answers, strict=True))
        return self.outputs


def describe(family: Family, failures: Sequence[Verdict]) -> str:
    lines = [f"fuzz family {family.name}: {len(failures)} failed check(s)"]
    for verdict in failures:
        lines += [
            f"  [{verdict.property}] {verdict.explanation}",
            f"    input:    {verdict.probe.input!r}  (today {verdict.probe.reference_date})",
            f"    expected: {json.dumps(verdict.probe.expected, ensure_ascii=False)}",
            f"    got:      {verdict.output[:500]}",
        ]
    return "\n".join(lines)


def fuzz_family(family: Family, model: Model, record: Callable[[dict[str, Any]], None]) -> None:
    """Run `family` under the current Hypothesis profile, then hand its outcomes to `record`.
    FuzzFailure when a property failed (shrunk); a model error (server gone, not in a replay's cache)
    stops the run at once and is raised as itself."""
    config = load_fuzz_config()
    effort = config.effort(settings.get_current_profile_name())
    tally = Tally(family)
    answers = Answers(model, effort.requests)
    batches = st.lists(family.trials(), min_size=1, max_size=config.batch, unique_by=lambda t: t.variant.key)

    @given(batches)
    def check(trials: list[Trial]) -> None:
        if tally.error is not None:
            reject()  # no more model calls once the model has failed: never wait on a dead server
        try:
            outputs = answers.for_trials(trials)
        except TaskbenchError as exc:
            tally.error = exc
            reject()
        if outputs is None:
            reject()
        failures = tally.add([verdict for trial in trials for verdict in judge(trial, outputs)])
        if failures:
            raise FuzzFailure(describe(family, failures))

    # Each family is its own test to Hypothesis: its own example-database entries and derandomized seed.
    check.hypothesis.inner_test._hypothesis_internal_add_digest = family.name.encode()  # type: ignore[attr-defined]
    run = settings(
        max_examples=effort.examples,
        # Explaining a failure re-runs variations of it: model calls (or, past the budget, only CPU) for a
        # note that the minimal request already says.
        phases=[phase for phase in settings().phases if phase is not Phase.explain],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )(check)
    try:
        run()
    except Exception:
        if tally.error is None:
            raise
    finally:
        for outcome in tally.records(config):
            record(outcome)
    if tally.error is not None:
        raise tally.error
