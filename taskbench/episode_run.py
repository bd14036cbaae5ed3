"""Playing and judging episodes (multi-turn conversations, judged by the task list they leave).

Two modes. Realistic (the default): the model sees its own earlier answers, and the reference Task API
applies each of them, so turn k's task list depends on what the model did before. Teacher forcing: the
model sees the expected earlier answers and the list they leave, so each turn is measured in isolation
(and every turn's request is known up front).

The controller plays episodes while generating (`EpisodePlay`: a turn's request as soon as the previous
answer is in); an item judges its episode from the stored answers (`judge_episode`), so a pytest-xdist
worker or a --replay run needs nothing but the answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from scorers import parse_answer, score_case
from taskbench.client import Answer, Request
from taskbench.episodes import Episode
from taskbench.errors import RequestError
from taskbench.taskapi import TaskStore, diff_states

REALISTIC = "realistic"
TEACHER_FORCING = "teacher_forcing"


def answer_key(item_id: str, turn: int | None = None, sample: int = 0) -> str:
    """The id one answer is stored under: a case, or turn `turn` (from 1) of an episode; sample j > 0 of
    --samples gets a suffix so every sample is kept apart."""
    key = item_id if turn is None else f"{item_id}#t{turn}"
    return key if sample == 0 else f"{key}@s{sample}"


def _proposed(output: str) -> dict[str, Any] | None:
    return parse_answer(output).answer


def turn_context(episode: Episode, number: int, mode: str, outputs: Sequence[str]) -> dict[str, Any]:
    """The task list and history the model sees at turn `number`, given its outputs to the turns before
    (ignored under teacher forcing)."""
    history: list[dict[str, Any]] = []
    with TaskStore.from_tasks(episode.tasks) as store:
        for index, turn in enumerate(episode.turns[: number - 1]):
            if mode == TEACHER_FORCING:
                store.apply(turn.expected, episode.reference_date)
                history.append({"user": turn.user, "assistant": turn.expected})
                continue
            proposed = _proposed(outputs[index])
            if proposed is not None:
                store.apply(proposed, episode.reference_date)
            history.append({"user": turn.user, "assistant": outputs[index]})
        return {"tasks": store.snapshot(), "history": history}


class EpisodePlay:
    """One sample of one episode being played on the controller."""

    def __init__(self, episode: Episode, mode: str, sample: int, build: Callable[..., Request]) -> None:
        # build(user_input, reference_date, context) -> Request, with this sample's seed.
        self.episode = episode
        self.mode = mode
        self.sample = sample
        self.build = build
        self.requested = 0

    def key(self, turn: int) -> str:
        return answer_key(self.episode.id, turn, self.sample)

    def pending(self, answers: Mapping[str, Answer | RequestError]) -> dict[str, Request]:
        """The requests that can be sent now: every turn under teacher forcing, else the next turn once
        the previous one is answered (none after a failed request: the episode is errored)."""
        outputs = []
        for number in range(1, self.requested + 1):
            answer = answers.get(self.key(number))
            if not isinstance(answer, Answer):
                return {}
            outputs.append(answer.text)
        turns = len(self.episode.turns)
        upto = turns if self.mode == TEACHER_FORCING else min(self.requested + 1, turns)
        requests = {}
        for number in range(self.requested + 1, upto + 1):
            context = turn_context(self.episode, number, self.mode, outputs)
            turn = self.episode.turns[number - 1]
            requests[self.key(number)] = self.build(turn.user, self.episode.reference_date, context)
        self.requested = upto
        return requests


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


def judge_sample(episode: Episode, mode: str, outputs: Sequence[str]) -> dict[str, Any]:
    """Score each turn and follow the task state: realistic mode carries the model's own state forward;
    teacher forcing applies each answer to the expected state before it. The episode passes when the final
    state is the expected one (teacher forcing: when every turn leaves the expected state)."""
    expected = expected_states(episode)
    turns = []
    with TaskStore.from_tasks(episode.tasks) as store:
        for number, (turn, output) in enumerate(zip(episode.turns, outputs, strict=True), start=1):
            score = score_case(turn_case(episode, number), output)
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
    proposed = _proposed(output)
    if proposed is not None:
        store.apply(proposed, reference_date)
    return store.snapshot()


def judge_episode(episode: Episode, mode: str, samples: Sequence[tuple[int, Sequence[str]]]) -> dict[str, Any]:
    """The episode's record from its samples' outputs ((seed, outputs per turn), sample 0 first): sample 0
    in full; with several samples the episode passes only when every sample does."""
    judged = [(seed, judge_sample(episode, mode, outputs)) for seed, outputs in samples]
    record = {"id": episode.id, "level": episode.level, "template": episode.template, "mode": mode, **judged[0][1]}
    if len(judged) > 1:
        record["samples"] = [
            {"seed": seed, "passed": sample["passed"], "turns_passed": sum(t["passed"] for t in sample["turns"])}
            for seed, sample in judged
        ]
        record["passed"] = all(sample["passed"] for sample in record["samples"])
    return record
