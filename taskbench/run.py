"""RunState: everything one pytest run of taskbench holds, kept on `config.stash`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from taskbench.artifacts import ANSWERS_FILE, load_answers, model_record, read_served, save_answers, write_served
from taskbench.data.capabilities import CapabilityConfig, load_capability_config
from taskbench.data.cases import Case, Dataset, load_cases, load_tier
from taskbench.data.episodes import EPISODES_PATH, Episode, EpisodeSet, load_episodes
from taskbench.errors import ModelError, ReplayError, RequestError
from taskbench.model.cache import ResponseCache
from taskbench.model.client import Answer, Request
from taskbench.model.generation import GenerationReport
from taskbench.model.live import LiveModel
from taskbench.model.plays import REALISTIC, TEACHER_FORCING, EpisodePlay, answer_key
from taskbench.model.reading import reader_for
from taskbench.model.replay import load_replay
from taskbench.model.session import ModelSession, build_request, build_request_for
from taskbench.options import Settings, resolve_settings
from taskbench.paths import cache_home
from taskbench.reports.process import ReportWriter

RUN_STATE = pytest.StashKey["RunState"]()


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass
class RunState:
    config: pytest.Config
    settings: Settings
    capabilities: CapabilityConfig
    run_id: str
    is_worker: bool
    model: ModelSession | None = None
    answers: dict[str, Answer | ModelError] | None = None
    generation: GenerationReport | None = None
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    episode_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    episode_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    selected_cases: list[str] = field(default_factory=list)
    selected_episodes: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    scored: dict[str, dict[str, Any]] = field(default_factory=dict)  # item records from fixture to call report
    results: dict[str, Any] | None = None
    replayed_model: dict[str, Any] | None = None
    results_path: Path | None = None
    fuzz: list[dict[str, Any]] = field(default_factory=list)
    report_writer: ReportWriter | None = None  # on the controller (or in a serial run) only
    _live: LiveModel | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunState:
        workerinput = getattr(config, "workerinput", None)
        settings = resolve_settings(config)
        run_id = (workerinput or {}).get("taskbench_run_id") or settings.run_id or new_run_id()
        return cls(config, settings, load_capability_config(), run_id, workerinput is not None)

    @property
    def run_dir(self) -> Path:
        # Relative to where pytest was invoked (as --junitxml is); workers get the controller's absolute path.
        workerinput = getattr(self.config, "workerinput", None)
        if workerinput is not None:
            return Path(workerinput["taskbench_run_dir"])
        return self.config.invocation_params.dir / self.settings.reports_dir / self.run_id

    @cached_property
    def dataset(self) -> Dataset:
        if self.settings.cases is not None:
            return load_cases(self.config.invocation_params.dir / self.settings.cases, self.capabilities)
        return load_tier(self.settings.tier, self.capabilities)

    @cached_property
    def episode_set(self) -> EpisodeSet:
        path = self.settings.episodes
        return load_episodes(
            EPISODES_PATH if path is None else self.config.invocation_params.dir / path, self.capabilities
        )

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

    def generate_answers(
        self, cases: list[Case], episodes: list[Episode], say: Callable[[str], None], progress: Any
    ) -> None:
        """Open the model for the run and answer every case (and every sample) at once, bounded by
        --concurrency, before any item runs. Episodes are played in rounds: each round sends every
        episode's next turn together with everything else still pending."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.selected_cases = [case.id for case in cases]
        self.selected_episodes = [episode.id for episode in episodes]
        if self.settings.replay is not None:
            self._replay(cases, episodes)
            write_served(self.run_dir, None, self.replayed_model)
            return
        self.model = ModelSession(self.settings, self.run_dir, say)
        served = self.model.open()
        write_served(self.run_dir, served, model_record(served))
        requests: dict[str, Request] = {}
        plays = []
        for sample, seed in enumerate(self.sample_seeds()):
            seeded = dataclasses.replace(self.settings, seed=seed)
            requests.update({answer_key(case.id, sample=sample): build_request(case, seeded) for case in cases})
            build = functools.partial(build_request_for, settings=seeded)
            read = reader_for(self.settings).read
            plays += [EpisodePlay(episode, self.episode_mode, sample, build, read) for episode in episodes]
        total = len(requests) + sum(len(play.episode.turns) for play in plays)
        answers: dict[str, Answer | RequestError] = {}
        reports = []
        cache = None if self.settings.no_cache else ResponseCache(self._cache_path())
        try:
            while True:
                for play in plays:
                    requests.update(play.pending(answers))
                if not requests:
                    break
                done_before = len(answers)

                def on_progress(done: int, _: int, before: int = done_before) -> None:
                    progress(before + done, total)

                round_answers, report = self.model.generate(requests, cache, on_progress)
                answers.update(round_answers)
                reports.append(report)
                requests = {}
        finally:
            if cache is not None:
                cache.close()
            # Also when the server died mid-run: the answers of the finished rounds are the run's.
            self.answers = dict(answers)
            save_answers(self.run_dir, answers)
        self.generation = GenerationReport(
            requested=sum(r.requested for r in reports),
            from_cache=sum(r.from_cache for r in reports),
            sent=sum(r.sent for r in reports),
            failed=sum(r.failed for r in reports),
            seconds=sum(r.seconds for r in reports),
        )

    def _replay(self, cases: list[Case], episodes: list[Episode]) -> None:
        started = time.perf_counter()
        stored, self.replayed_model = load_replay(self.config.invocation_params.dir / self.settings.replay)
        keys = [answer_key(case.id, sample=sample) for case in cases for sample in range(self.settings.samples)]
        keys += [
            answer_key(episode.id, number, sample)
            for episode in episodes
            for number in range(1, len(episode.turns) + 1)
            for sample in range(self.settings.samples)
        ]
        answers = {key: stored[key] for key in keys if key in stored}
        missing = len(keys) - len(answers)
        self.generation = GenerationReport(len(keys), len(answers), 0, missing, time.perf_counter() - started)
        self.answers = dict(answers)
        save_answers(self.run_dir, answers)

    def live_model(self) -> LiveModel:
        """The model for requests made inside items (see taskbench/live.py)."""
        if self._live is None:
            served = read_served(self.run_dir)
            cache = None if self.settings.no_cache else self._cache_path()
            self._live = LiveModel(self.settings, served.served, served.identity, cache)
        return self._live

    def _cache_path(self) -> Path:
        folder = self.settings.cache_dir or cache_home() / "responses"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "responses.sqlite"

    def answer_for(self, key: str) -> Answer:
        """The stored answer under `key` (see episode_run.answer_key); an error naming the key if there is none."""
        if self.answers is None:
            path = self.run_dir / ANSWERS_FILE
            if not path.is_file():
                raise ReplayError(f"{key}: no answer was generated for this run ({path} is missing)")
            self.answers = load_answers(path)
        answer = self.answers.get(key)
        if answer is None and self.settings.replay is not None:
            raise ReplayError(f"{key}: {self.settings.replay} holds no answer for this case")
        if answer is None:
            raise ModelError(f"{key}: no answer was generated for this case")
        if isinstance(answer, Exception):
            raise ModelError(f"{key}: the model could not answer: {answer}")
        return answer

    def answers_for_case(self, case: Case) -> list[Answer]:
        """Every sample's answer to a case, sample 0 first."""
        return [self.answer_for(answer_key(case.id, sample=sample)) for sample in range(self.settings.samples)]

    def outputs_for_episode(self, episode: Episode) -> list[tuple[int, list[str]]]:
        """(seed, the output of every turn, as read: taskbench.model.reading) for each sample of an episode."""
        turns = range(1, len(episode.turns) + 1)
        reader = reader_for(self.settings)
        return [
            (seed, [reader.read(self.answer_for(answer_key(episode.id, number, sample))).output for number in turns])
            for sample, seed in enumerate(self.sample_seeds())
        ]

    def close(self) -> None:
        if self.report_writer is not None:
            self.report_writer.close()
        if self._live is not None:
            self._live.close()
        if self.model is not None:
            self.model.close()
