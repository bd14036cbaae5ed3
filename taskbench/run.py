"""RunState: everything one pytest run of taskbench holds, kept on `config.stash`."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from taskbench.cache import ResponseCache
from taskbench.cases import Case, Dataset, load_cases, load_tier
from taskbench.client import Answer
from taskbench.config import CapabilityConfig, load_capability_config
from taskbench.errors import ModelError, ReplayError
from taskbench.generation import GenerationReport
from taskbench.live import LiveModel, read_served, write_served
from taskbench.model import ANSWERS_FILE, ModelSession, build_request, load_answers, save_answers
from taskbench.options import Settings, resolve_settings
from taskbench.paths import cache_home
from taskbench.replay import load_replay

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
    incomplete: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    results: dict[str, Any] | None = None
    replayed_model: dict[str, Any] | None = None
    results_path: Path | None = None
    fuzz: list[dict[str, Any]] = field(default_factory=list)
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

    def cases_for(self, capability: str) -> list[Case]:
        return [case for case in self.dataset.cases if case.capability == capability]

    def case_by_id(self) -> dict[str, Case]:
        return {case.id: case for case in self.dataset.cases}

    def generate_answers(self, cases: list[Case], say: Callable[[str], None], progress: Any) -> None:
        """Open the model for the run and send every case's request at once (bounded by --concurrency)
        before any item runs."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.replay is not None:
            self._replay(cases)
            write_served(self.run_dir, None, (self.replayed_model or {}).get("identity", ""))
            return
        self.model = ModelSession(self.settings, self.run_dir, say)
        served = self.model.open()
        write_served(self.run_dir, served, served.identity())
        requests = {case.id: build_request(case, self.settings) for case in cases}
        cache = None if self.settings.no_cache else ResponseCache(self._cache_path())
        try:
            answers, self.generation = self.model.generate(requests, cache, progress)
        finally:
            if cache is not None:
                cache.close()
        self.answers = dict(answers)
        save_answers(self.run_dir / ANSWERS_FILE, answers)

    def _replay(self, cases: list[Case]) -> None:
        started = time.perf_counter()
        stored, self.replayed_model = load_replay(self.config.invocation_params.dir / self.settings.replay)
        answers = {case.id: stored[case.id] for case in cases if case.id in stored}
        missing = len(cases) - len(answers)
        self.generation = GenerationReport(len(cases), len(answers), 0, missing, time.perf_counter() - started)
        self.answers = dict(answers)
        save_answers(self.run_dir / ANSWERS_FILE, answers)

    def live_model(self) -> LiveModel:
        """The model for requests made inside items (see taskbench/live.py)."""
        if self._live is None:
            served, identity = read_served(self.run_dir)
            cache = None if self.settings.no_cache else self._cache_path()
            self._live = LiveModel(self.settings, served, identity, cache)
        return self._live

    def _cache_path(self) -> Path:
        folder = self.settings.cache_dir or cache_home() / "responses"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "responses.sqlite"

    def answer_for(self, case: Case) -> Answer:
        if self.answers is None:
            path = self.run_dir / ANSWERS_FILE
            if not path.is_file():
                raise ReplayError(f"{case.id}: no answer was generated for this run ({path} is missing)")
            self.answers = load_answers(path)
        answer = self.answers.get(case.id)
        if answer is None and self.settings.replay is not None:
            raise ReplayError(f"{case.id}: {self.settings.replay} holds no answer for this case")
        if answer is None:
            raise ModelError(f"{case.id}: no answer was generated for this case")
        if isinstance(answer, Exception):
            raise ModelError(f"{case.id}: the model could not answer: {answer}")
        return answer

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
