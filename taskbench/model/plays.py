"""Playing episodes (multi-turn conversations) on the controller while answers are generated.

Two modes. Realistic (the default): the model sees its own earlier answers, and the reference Task API
applies each of them, so turn k's task list depends on what the model did before. Teacher forcing: the
model sees the expected earlier answers and the list they leave, so each turn is measured in isolation
(and every turn's request is known up front).

`EpisodePlay` builds a turn's request as soon as the previous answer is in; items judge the episode
from the stored answers (taskbench.scoring.episodes), so a pytest-xdist worker or a --replay run needs
nothing but the answers. `answer_key` is the id every answer, of a case or a turn, is stored under.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from taskbench.data.episodes import Episode
from taskbench.data.taskapi import TaskStore
from taskbench.errors import RequestError
from taskbench.model.client import Answer, Request
from taskbench.model.reading import Reading
from taskbench.scorers import parse_answer

REALISTIC = "realistic"
TEACHER_FORCING = "teacher_forcing"


def answer_key(item_id: str, turn: int | None = None, sample: int = 0) -> str:
    """The id one answer is stored under: a case, or turn `turn` (from 1) of an episode; sample j > 0 of
    --samples gets a suffix so every sample is kept apart."""
    key = item_id if turn is None else f"{item_id}#t{turn}"
    return key if sample == 0 else f"{key}@s{sample}"


def apply_output(store: TaskStore, output: str, reference_date: str) -> None:
    """Apply what the model proposed, if its output parses as an action (else the list is unchanged)."""
    proposed = parse_answer(output).answer
    if proposed is not None:
        store.apply(proposed, reference_date)


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
            apply_output(store, outputs[index], episode.reference_date)
            history.append({"user": turn.user, "assistant": outputs[index]})
        return {"tasks": store.snapshot(), "history": history}


class EpisodePlay:
    """One sample of one episode being played on the controller."""

    def __init__(
        self,
        episode: Episode,
        mode: str,
        sample: int,
        build: Callable[..., Request],
        read: Callable[[Answer], Reading] = Reading.of_text,
    ) -> None:
        # build(user_input, reference_date, context) -> Request, with this sample's seed; read(answer): what
        # the answer said (taskbench.model.reading), carried into the next turn's history and task list.
        self.episode = episode
        self.mode = mode
        self.sample = sample
        self.build = build
        self.read = read
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
            outputs.append(self.read(answer).output)
        turns = len(self.episode.turns)
        upto = turns if self.mode == TEACHER_FORCING else min(self.requested + 1, turns)
        requests = {}
        for number in range(self.requested + 1, upto + 1):
            context = turn_context(self.episode, number, self.mode, outputs)
            turn = self.episode.turns[number - 1]
            requests[self.key(number)] = self.build(turn.user, self.episode.reference_date, context)
        self.requested = upto
        return requests
