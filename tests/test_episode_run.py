"""Playing and judging episodes without a model: the shipped episodes judged from their own expected
answers pass in both modes; one wrong answer is found at its turn; the controller's play sends turns in
order (realistic) or all at once (teacher forcing) and stops at a failed request."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskbench.data.episodes import EPISODES_PATH, Episode, load_episodes
from taskbench.errors import RequestError
from taskbench.model.client import Answer, Request
from taskbench.model.plays import REALISTIC, TEACHER_FORCING, EpisodePlay, answer_key, turn_context
from taskbench.model.prompts import answer_json
from taskbench.scoring.episodes import expected_states, judge_episode, judge_sample

EPISODES = load_episodes(EPISODES_PATH).episodes
MODES = (REALISTIC, TEACHER_FORCING)
GARBAGE = "Sure! Done."


def right_outputs(episode: Episode) -> list[str]:
    return [answer_json(turn.expected) for turn in episode.turns]


def changing_turns(episode: Episode) -> list[int]:
    """Turns whose expected answer changes the task list."""
    states = expected_states(episode)
    return [number for number in range(1, len(states)) if states[number] != states[number - 1]]


def answer(text: str) -> Answer:
    return Answer(text=text, finish_reason="stop", prompt_tokens=1, completion_tokens=1, latency_s=0.0)


def test_answer_keys_keep_cases_turns_and_samples_apart() -> None:
    keys = {answer_key("c-1"), answer_key("c-1", sample=1), answer_key("c-1", 1), answer_key("c-1", 1, 1)}
    assert len(keys) == 4
    assert answer_key("c-1") == "c-1"


@pytest.mark.parametrize("mode", MODES)
def test_every_shipped_episode_passes_on_its_own_expected_answers(mode: str) -> None:
    for episode in EPISODES:
        judged = judge_sample(episode, mode, right_outputs(episode))
        assert judged["passed"], (episode.id, judged["final_diff"])
        assert judged["first_wrong_turn"] is None
        assert all(turn["passed"] and turn["state_ok"] for turn in judged["turns"]), episode.id


@pytest.mark.parametrize("mode", MODES)
@settings(deadline=None, max_examples=60)  # sqlite stores per example; the machine may be loaded
@given(data=st.data())
def test_a_wrong_answer_on_a_changing_turn_is_where_the_state_goes_wrong(mode: str, data: st.DataObject) -> None:
    episode = data.draw(st.sampled_from([e for e in EPISODES if changing_turns(e)]), label="episode")
    number = data.draw(st.sampled_from(changing_turns(episode)), label="turn")
    outputs = right_outputs(episode)
    outputs[number - 1] = GARBAGE
    judged = judge_sample(episode, mode, outputs)
    assert judged["first_wrong_turn"] == number
    assert judged["how"] == judged["turns"][number - 1]["state_diff"] != []
    assert not judged["turns"][number - 1]["passed"]
    if mode == TEACHER_FORCING:
        assert not judged["passed"]
        # Each turn in isolation: the turns after the wrong one start from the expected state again.
        assert all(turn["state_ok"] for turn in judged["turns"][number:])


def test_realistic_context_carries_the_models_own_answers_and_state() -> None:
    episode = next(e for e in EPISODES if len(e.turns) >= 2 and 1 in changing_turns(e))
    forced = turn_context(episode, 2, TEACHER_FORCING, [])
    right = turn_context(episode, 2, REALISTIC, right_outputs(episode)[:1])
    wrong = turn_context(episode, 2, REALISTIC, [GARBAGE])
    assert forced["tasks"] == right["tasks"] != wrong["tasks"]
    assert forced["history"] == [{"user": episode.turns[0].user, "assistant": episode.turns[0].expected}]
    assert wrong["history"] == [{"user": episode.turns[0].user, "assistant": GARBAGE}]
    assert wrong["tasks"] == expected_states(episode)[0]


def build(user_input: str, reference_date: str, context: dict) -> Request:
    return Request.chat([{"role": "user", "content": user_input}], max_tokens=len(context["history"]) + 1)


def test_realistic_play_sends_one_turn_after_another() -> None:
    episode = next(e for e in EPISODES if len(e.turns) >= 3)
    play = EpisodePlay(episode, REALISTIC, 0, build)
    answers: dict = {}
    for number in range(1, len(episode.turns) + 1):
        pending = play.pending(answers)
        assert list(pending) == [answer_key(episode.id, number)]
        assert play.pending(answers) == {}  # nothing new until the answer is in
        answers[answer_key(episode.id, number)] = answer(right_outputs(episode)[number - 1])
    assert play.pending(answers) == {}


def test_teacher_forcing_sends_every_turn_at_once_with_its_own_sample_key() -> None:
    episode = next(e for e in EPISODES if len(e.turns) >= 3)
    pending = EpisodePlay(episode, TEACHER_FORCING, 2, build).pending({})
    assert list(pending) == [answer_key(episode.id, n, 2) for n in range(1, len(episode.turns) + 1)]


def test_a_failed_request_ends_the_play() -> None:
    episode = next(e for e in EPISODES if len(e.turns) >= 3)
    play = EpisodePlay(episode, REALISTIC, 0, build)
    first = play.pending({})
    failed = {key: RequestError("boom") for key in first}
    assert play.pending(failed) == {}


def test_an_episode_with_samples_passes_only_when_every_sample_does() -> None:
    episode = next(e for e in EPISODES if changing_turns(e))
    wrong = right_outputs(episode)
    wrong[changing_turns(episode)[0] - 1] = GARBAGE
    record = judge_episode(episode, REALISTIC, [(0, right_outputs(episode)), (1, wrong)])
    assert [s["passed"] for s in record["samples"]] == [True, False]
    assert record["passed"] is False
    assert judge_episode(episode, REALISTIC, [(0, right_outputs(episode))])["passed"] is True
