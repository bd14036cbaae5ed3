"""What one pytest run of taskbench is configured with (RunInputs) and what its model side produced
(AnswerStore), each on `config.stash` under its own key. What the items reported is the collector's
(taskbench.collector)."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from taskbench.artifacts import (
    ANSWERS_FILE,
    ModelRecord,
    load_answers,
    model_record,
    new_run_id,
    read_served,
    save_answers,
    write_served,
)
from taskbench.data.capabilities import CapabilityConfig, load_capability_config
from taskbench.data.cases import Case, Dataset, load_cases, load_tier
from taskbench.data.episodes import EPISODES_PATH, Episode, EpisodeSet, load_episodes
from taskbench.errors import ModelError, ReplayError, RequestError
from taskbench.model.cache import ResponseCache, cache_file
from taskbench.model.client import Answer, Request
from taskbench.model.generation import GenerationInterrupted, GenerationReport
from taskbench.model.live import LiveModel
from taskbench.model.plays import REALISTIC, TEACHER_FORCING, EpisodePlay, answer_key
from taskbench.model.reading import Reading, reader_for
from taskbench.model.replay import load_replay
from taskbench.model.session import ModelSession, build_request, build_request_for
from taskbench.options import Settings, resolve_settings
from taskbench.xdist import controller_run

RUN_INPUTS = pytest.StashKey["RunInputs"]()
ANSWERS = pytest.StashKey["AnswerStore"]()


@dataclass(frozen=True)
class RunInputs:
    """What the run is configured with. The dataset and the episodes are loaded on first use, so a
    DataError naming the file reaches the user where the items are made."""

    settings: Settings
    capabilities: CapabilityConfig
    run_id: str
    run_dir: Path
    invocation_dir: Path  # where pytest was invoked: relative paths in the settings start there

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunInputs:
        settings = resolve_settings(config)
        invocation_dir = config.invocation_params.dir
        controller = controller_run(config)
        if controller is not None:
            run_id, run_dir = controller
        else:
            run_id = settings.run_id or new_run_id()
            # Relative to where pytest was invoked, as --junitxml is.
            run_dir = invocation_dir / settings.reports_dir / run_id
        return cls(settings, load_capability_config(), run_id, run_dir, invocation_dir)

    @cached_property
    def dataset(self) -> Dataset:
        if self.settings.cases is not None:
            return load_cases(self.invocation_dir / self.settings.cases, self.capabilities)
        return load_tier(self.settings.tier, self.capabilities)

    @cached_property
    def episode_set(self) -> EpisodeSet:
        path = self.settings.episodes
        return load_episodes(EPISODES_PATH if path is None else self.invocation_dir / path, self.capabilities)

    @property
    def episode_mode(self) -> str:
        return TEACHER_FORCING if self.settings.teacher_forcing else REALISTIC

    def episode_by_id(self) -> dict[str, Episode]:
        return {episode.id: episode for episode in self.episode_set.episodes}

    def cases_for(self, capability: str) -> list[Case]:
        return [case for case in self.dataset.cases if case.capability == capability]

    def case_by_id(self) -> dict[str, Case]:
        return {case.id: case for case in self.dataset.cases}

    def sample_seeds(self) -> list[int]:
        return [self.settings.seed + sample for sample in range(self.settings.samples)]


class AnswerStore:
    """The model side of the run: the session with the model (the controller's, or a serial run's), every
    answer generated or replayed ahead of the items, the generation report, the record of the model that
    answered, and the live model for requests made inside items. Workers read the answers from the run
    folder (answers.jsonl) on first use."""

    def __init__(self, inputs: RunInputs) -> None:
        self.inputs = inputs
        self.session: ModelSession | None = None
        self.answers: dict[str, Answer | ModelError] | None = None
        self.generation: GenerationReport | None = None
        self.model: ModelRecord | None = None
        self.selected_cases: list[str] = []  # ids the run generated answers for
        self.selected_episodes: list[str] = []
        self.warnings: list[str] = []  # what the user should know that did not stop the run (a damaged cache)
        self._live: LiveModel | None = None

    def generate_answers(
        self,
        cases: list[Case],
        episodes: list[Episode],
        say: Callable[[str], None],
        progress: Any,
        session: ModelSession | None = None,
    ) -> None:
        """Open the model for the run (through `session`, a sweep's, when given) and answer every case (and every
        sample) at once, bounded by --concurrency, before any item runs. Episodes are played in rounds: each
        round sends every episode's next turn together with everything else still pending."""
        self.inputs.run_dir.mkdir(parents=True, exist_ok=True)
        self.selected_cases = [case.id for case in cases]
        self.selected_episodes = [episode.id for episode in episodes]
        if self.inputs.settings.replay is not None:
            self._replay(cases, episodes)
            write_served(self.inputs.run_dir, None, self.model)
            return
        self.session = session or ModelSession(self.inputs.settings, self.inputs.run_dir, say)
        served = self.session.open()
        self.model = model_record(served)
        write_served(self.inputs.run_dir, served, self.model)
        requests: dict[str, Request] = {}
        plays = []
        for sample, seed in enumerate(self.inputs.sample_seeds()):
            seeded = dataclasses.replace(self.inputs.settings, seed=seed)
            requests.update({answer_key(case.id, sample=sample): build_request(case, seeded) for case in cases})
            build = functools.partial(build_request_for, settings=seeded)
            read = reader_for(self.inputs.settings).read
            plays += [EpisodePlay(episode, self.inputs.episode_mode, sample, build, read) for episode in episodes]
        total = len(requests) + sum(len(play.episode.turns) for play in plays)
        answers: dict[str, Answer | RequestError] = {}
        reports = []
        cache = None if self.inputs.settings.no_cache else ResponseCache(self._cache_path())
        try:
            while True:
                for play in plays:
                    requests.update(play.pending(answers))
                if not requests:
                    break
                done_before = len(answers)

                def on_progress(done: int, _: int, before: int = done_before) -> None:
                    progress(before + done, total)

                try:
                    round_answers, report = self.session.generate(requests, cache, on_progress)
                except GenerationInterrupted as stop:
                    # Ctrl-C: what arrived is the run's, and results.json says where generation stopped.
                    answers.update(stop.answers)
                    self.generation = GenerationReport.combined([*reports, stop.report])
                    raise
                answers.update(round_answers)
                reports.append(report)
                requests = {}
        finally:
            if cache is not None:
                cache.close()
                self.warnings += cache.warnings
                for warning in cache.warnings:
                    say(f"taskbench: warning: {warning}")
            # Also when the server died mid-run: the answers of the finished rounds are the run's.
            self.answers = dict(answers)
            save_answers(self.inputs.run_dir, answers)
        self.generation = GenerationReport.combined(reports)

    def _replay(self, cases: list[Case], episodes: list[Episode]) -> None:
        started = time.perf_counter()
        stored, self.model = load_replay(self.inputs.invocation_dir / self.inputs.settings.replay)
        keys = [answer_key(case.id, sample=sample) for case in cases for sample in range(self.inputs.settings.samples)]
        keys += [
            answer_key(episode.id, number, sample)
            for episode in episodes
            for number in range(1, len(episode.turns) + 1)
            for sample in range(self.inputs.settings.samples)
        ]
        answers = {key: stored[key] for key in keys if key in stored}
        missing = len(keys) - len(answers)
        self.generation = GenerationReport(len(keys), len(answers), 0, missing, time.perf_counter() - started)
        self.answers = dict(answers)
        save_answers(self.inputs.run_dir, answers)

    def live_model(self) -> LiveModel:
        """The model for requests made inside items (taskbench.model.live)."""
        if self._live is None:
            served = read_served(self.inputs.run_dir)
            cache = None if self.inputs.settings.no_cache else self._cache_path()
            self._live = LiveModel(self.inputs.settings, served.served, served.identity, cache)
        return self._live

    def _cache_path(self) -> Path:
        return cache_file(self.inputs.settings.cache_dir)

    def answer_for(self, key: str) -> Answer:
        """The stored answer under `key` (taskbench.model.plays.answer_key); an error naming the key if none."""
        if self.answers is None:
            path = self.inputs.run_dir / ANSWERS_FILE
            if not path.is_file():
                raise ReplayError(f"{key}: no answer was generated for this run ({path} is missing)")
            self.answers = load_answers(path)
        answer = self.answers.get(key)
        if answer is None and self.inputs.settings.replay is not None:
            raise ReplayError(f"{key}: {self.inputs.settings.replay} holds no answer for this case")
        if answer is None:
            raise ModelError(f"{key}: no answer was generated for this case")
        if isinstance(answer, Exception):
            raise ModelError(f"{key}: the model could not answer: {answer}")
        return answer

    def answers_for_case(self, case: Case) -> list[Answer]:
        """Every sample's answer to a case, sample 0 first."""
        return [self.answer_for(answer_key(case.id, sample=sample)) for sample in range(self.inputs.settings.samples)]

    def outputs_for_episode(self, episode: Episode) -> list[tuple[int, list[Reading]]]:
        """(seed, the answer of every turn as read: taskbench.model.reading) for each sample of an episode."""
        turns = range(1, len(episode.turns) + 1)
        reader = reader_for(self.inputs.settings)
        return [
            (seed, [reader.read(self.answer_for(answer_key(episode.id, number, sample))) for number in turns])
            for sample, seed in enumerate(self.inputs.sample_seeds())
        ]

    def close(self) -> None:
        if self._live is not None:
            self._live.close()
        if self.session is not None:
            self.session.close()
