"""Per-item records: the plain data one item hands to the plugin, their shapes, and the failing item's message.

Records are plain dicts on purpose (typed as TypedDicts): they ride on pytest reports across pytest-xdist
workers and are written to results.json as they are. Their shapes are stated here and nowhere else in code;
fixtures/schema/results.schema.json states them for readers of the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pytest

from taskbench.data.cases import Case
from taskbench.data.episodes import Episode
from taskbench.model.client import Answer
from taskbench.scorers import Score


class EpisodeBrief(TypedDict):
    """What the collector needs to place an episode that errored before it was judged."""

    id: str
    level: str
    template: str


class CaseBrief(TypedDict):
    """What the collector needs to place a case item that errored before it was scored."""

    id: str
    capability: str
    level: str
    template: str


class ItemFields(CaseBrief):
    """A scored case item, in results.json's order (the columns of items.csv)."""

    input: str
    reference_date: str
    expected: dict[str, Any]
    output: str  # the first sample's answer
    score: float  # with --samples: the mean over the samples
    passed: bool  # with --samples: every sample passed
    failure: str  # the first sample's taskbench.scorers.Failure
    safety: bool
    explanation: str
    details: dict[str, Any]
    finish_reason: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int


class SampleOutcome(TypedDict):
    seed: int
    output: str
    score: float
    passed: bool
    failure: str
    finish_reason: str


class ItemRecord(ItemFields, total=False):
    samples: list[SampleOutcome]  # with --samples K > 1, sample 0 first


class ErrorFields(TypedDict):
    when: str  # setup, call or crashed (a pytest-xdist worker died running it)
    message: str


class CaseError(CaseBrief, ErrorFields):
    """A case item that could not be scored: never counted as a score of 0."""


class EpisodeError(EpisodeBrief, ErrorFields):
    """An episode that could not be judged."""


ITEM_COLUMNS = tuple(ItemFields.__annotations__)


def case_brief(case: Case) -> CaseBrief:
    return {"id": case.id, "capability": case.capability, "level": case.level, "template": case.template}


def episode_brief(episode: Episode) -> EpisodeBrief:
    return {"id": episode.id, "level": episode.level, "template": episode.template}


def item_record(
    case: Case, answer: Answer, score: Score, samples: Sequence[tuple[int, Answer, Score]] = ()
) -> ItemRecord:
    """The item's record: the first answer in full; with --samples, every sample's outcome too, the mean
    score, and passed only when every sample passed."""
    record: ItemRecord = {
        **case_brief(case),
        "input": case.input,
        "reference_date": case.reference_date,
        "expected": case.expected,
        "output": answer.text,
        "score": score.score,
        "passed": score.passed,
        "failure": score.failure.value,
        "safety": score.safety,
        "explanation": score.explanation,
        "details": score.details,
        "finish_reason": answer.finish_reason,
        "latency_s": answer.latency_s,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    }
    if samples:
        record["samples"] = [
            {
                "seed": seed,
                "output": sampled.text,
                "score": scored.score,
                "passed": scored.passed,
                "failure": scored.failure.value,
                "finish_reason": sampled.finish_reason,
            }
            for seed, sampled, scored in samples
        ]
        record["score"] = sum(s["score"] for s in record["samples"]) / len(samples)
        record["passed"] = all(s["passed"] for s in record["samples"])
    return record


def failure_message(record: Mapping[str, Any]) -> str:
    """What a person reads under a failing item: the request, both answers and why the (first) answer lost
    points."""
    first = record["samples"][0] if "samples" in record else record
    output = record["output"]
    shown = output if len(output) <= 2000 else output[:2000] + f"... [{len(output)} chars]"
    lines = [
        f"{record['id']} scored {first['score']:.2f} ({first['failure']}): {record['explanation']}",
        f"  input:    {record['input']!r}",
        f"  today:    {record['reference_date']}",
        f"  expected: {json.dumps(record['expected'], ensure_ascii=False)}",
        f"  got:      {shown}",
    ]
    if record["finish_reason"] == "length":
        lines.append("  (the answer was cut off at --max-tokens)")
    return "\n".join(lines)


def check_case(record: Mapping[str, Any]) -> None:
    """The body of every case item: fail below the pass mark (with --samples: unless every sample passes)."""
    if record["passed"]:
        return
    samples = record.get("samples", [])
    failed = [s for s in samples if not s["passed"]]
    note = f"\n  {len(failed)} of {len(samples)} samples failed" if failed else ""
    if not (samples[0] if samples else record)["passed"]:
        pytest.fail(failure_message(record) + note, pytrace=False)
    pytest.fail(
        f"{record['id']}: the first sample passed, but not every sample did:{note}\n"
        f"  seed {failed[0]['seed']} got: {failed[0]['output'][:2000]} ({failed[0]['failure']})",
        pytrace=False,
    )


def check_episode(record: Mapping[str, Any]) -> None:
    """The body of every episode item: fail unless the episode left the expected task list."""
    if record["passed"]:
        return
    lines = [f"{record['id']} ({record['mode']}): the task list went wrong"]
    wrong = record["first_wrong_turn"]
    if wrong is not None:
        turn = record["turns"][wrong - 1]
        lines += [
            f"  at turn {wrong} of {len(record['turns'])}: {turn['user']!r}",
            f"  expected: {json.dumps(turn['expected'], ensure_ascii=False)}",
            f"  got:      {turn['output'][:2000]}",
            *(f"  state: {difference}" for difference in record["how"]),
        ]
    failed_samples = [s["seed"] for s in record.get("samples", ()) if not s["passed"]]
    if failed_samples:
        lines.append(f"  samples that failed (seeds): {failed_samples}")
    pytest.fail("\n".join(lines), pytrace=False)
