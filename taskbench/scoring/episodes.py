"""Judging episodes: each turn scored by the capability scorers, the episode by the task list it leaves.

Realistic mode carries the model's own task list from turn to turn; teacher forcing starts every turn
from the expected list (taskbench.model.plays describes both). Judging needs only the stored outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from taskbench.data.episodes import Episode
from taskbench.data.taskapi import TaskStore, diff_states
from taskbench.model.plays import TEACHER_FORCING, answer_key, apply_output
from taskbench.model.reading import Reading, score_reading
from taskbench.scoring.records import EpisodeBrief, episode_brief


class TurnRecord(TypedDict):
    number: int
    user: str
    capability: str
    expected: dict[str, Any]
    output: str
    score: float
    passed: bool
    failure: str
    explanation: str
    state_ok: bool  # the task list after this turn is the expected one
    state_diff: list[str]


class JudgedSample(TypedDict):
    passed: bool
    turns: list[TurnRecord]
    first_wrong_turn: int | None
    how: list[str]  # the state_diff of first_wrong_turn
    final_diff: list[str]


class EpisodeSampleOutcome(TypedDict):
    seed: int
    passed: bool
    turns_passed: int


class EpisodeFields(EpisodeBrief, JudgedSample):
    """An episode's record: sample 0 judged in full."""

    mode: str


class EpisodeRecord(EpisodeFields, total=False):
    samples: list[EpisodeSampleOutcome]  # with --samples K > 1, sample 0 first


def expected_states(episode: Episode) -> list[list[dict[str, Any]]]:
    """The store after 0, 1, ... n expected answers."""
    with TaskStore.from_tasks(episode.tasks) as store:
        states = [store.snapshot()]
        for turn in episode.turns:
            store.apply(turn.expected, episode.reference_date)
            states.append(store.snapshot())
    return states


def turn_case(episode: Episode, number: int) -> dict[str, Any]:
    """Turn `number` as a case record, so the capability scorers judge it like any case."""
    turn = episode.turns[number - 1]
    return {
        "id": answer_key(episode.id, number),
        "capability": turn.capability,
        "level": episode.level,
        "input": turn.user,
        "reference_date": episode.reference_date,
        "expected": turn.expected,
    }


def judge_sample(
    episode: Episode,
    mode: str,
    outputs: Sequence[str | Reading],
    field_weights: Mapping[str, float] | None = None,
) -> JudgedSample:
    """Score each turn (entity extraction's fields weighted by `field_weights`) and follow the task state:
    realistic mode carries the model's own state forward; teacher forcing applies each answer to the expected
    state before it. The episode passes when the final state is the expected one (teacher forcing: when every
    turn leaves the expected state). An output is the text a turn answered, or the answer as read
    (taskbench.model.reading: a tools-mode turn without one proper call scores its tool-call failure)."""
    expected = expected_states(episode)
    turns: list[TurnRecord] = []
    with TaskStore.from_tasks(episode.tasks) as store:
        for number, (turn, said) in enumerate(zip(episode.turns, outputs, strict=True), start=1):
            reading = said if isinstance(said, Reading) else Reading(said)
            output = reading.output
            score = score_reading(turn_case(episode, number), reading, field_weights)
            if mode == TEACHER_FORCING:
                with TaskStore.from_tasks(expected[number - 1]) as before:
                    after = _apply(before, output, episode.reference_date)
            else:
                after = _apply(store, output, episode.reference_date)
            state_diff = diff_states(expected[number], after)
            turns.append(
                {
                    "number": number,
                    "user": turn.user,
                    "capability": turn.capability,
                    "expected": turn.expected,
                    "output": output,
                    "score": score.score,
                    "passed": score.passed,
                    "failure": score.failure.value,
                    "explanation": score.explanation,
                    "state_ok": not state_diff,
                    "state_diff": state_diff,
                }
            )
    first_wrong = next((t for t in turns if not t["state_ok"]), None)
    final_diff = turns[-1]["state_diff"]
    return {
        "passed": first_wrong is None if mode == TEACHER_FORCING else not final_diff,
        "turns": turns,
        "first_wrong_turn": None if first_wrong is None else first_wrong["number"],
        "how": [] if first_wrong is None else first_wrong["state_diff"],
        "final_diff": final_diff,
    }


def _apply(store: TaskStore, output: str, reference_date: str) -> list[dict[str, Any]]:
    apply_output(store, output, reference_date)
    return store.snapshot()


def judge_episode(
    episode: Episode,
    mode: str,
    samples: Sequence[tuple[int, Sequence[str | Reading]]],
    field_weights: Mapping[str, float] | None = None,
) -> EpisodeRecord:
    """The episode's record from its samples' outputs ((seed, outputs per turn), sample 0 first): sample 0
    in full; with several samples the episode passes only when every sample does."""
    judged = [(seed, judge_sample(episode, mode, outputs, field_weights)) for seed, outputs in samples]
    record: EpisodeRecord = {**episode_brief(episode), "mode": mode, **judged[0][1]}
    if len(judged) > 1:
        record["samples"] = [
            {"seed": seed, "passed": sample["passed"], "turns_passed": sum(t["passed"] for t in sample["turns"])}
            for seed, sample in judged
        ]
        record["passed"] = all(sample["passed"] for sample in record["samples"])
    return record
