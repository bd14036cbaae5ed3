"""The model inside an item: for tests that make up their requests as they run (Hypothesis fuzzing),
so their answers cannot be generated ahead of the items.

The controller opens the model for the run (or a serial run does) and writes what it found to
`served.json` in the run folder; a pytest-xdist worker reads it from there and talks to the same server.
Requests go through the same client, response cache and concurrency limit as the generated answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from taskbench.errors import ModelError, ReplayError
from taskbench.model.cache import ResponseCache
from taskbench.model.client import Answer, ModelClient, Request, ServedModel
from taskbench.model.generation import generate
from taskbench.model.reading import reader_for
from taskbench.model.session import build_request_for, client_settings
from taskbench.options import Settings


class LiveModel:
    """Answers requests made up inside an item. `served` is None under --replay: answers then come from
    the response cache only, and a request it lacks is a ReplayError.

    One event loop, one client (its connection pool) and one cache connection serve every call of the
    session: shrinking makes hundreds of small calls, and opening them per call cost ~0.1 s each."""

    def __init__(self, settings: Settings, served: ServedModel | None, identity: str, cache_path: Path | None) -> None:
        self.settings = settings
        self.served = served
        self.identity = identity
        self.cache_path = cache_path
        self._runner: asyncio.Runner | None = None
        self._client: ModelClient | None = None
        self._cache: ResponseCache | None = None

    def request(self, user_input: str, reference_date: str, context: Mapping[str, Any] | None = None) -> Request:
        return build_request_for(user_input, reference_date, context, self.settings)

    def answer_many(self, requests: Sequence[Request]) -> list[Answer]:
        """One answer per request, in order, all in flight at once; ModelError if any request failed."""
        if self._runner is None:
            self._runner = asyncio.Runner()
            self._cache = None if self.cache_path is None else ResponseCache(self.cache_path)
            self._client = None if self.served is None else ModelClient(self.served, client_settings(self.settings))
        return self._runner.run(self._answer_many(requests))

    def answer(self, request: Request) -> Answer:
        return self.answer_many([request])[0]

    def output(self, answer: Answer) -> str:
        """What the scorers read of `answer` under the run's --answer-mode and --reasoning."""
        return reader_for(self.settings).read(answer).output

    async def _answer_many(self, requests: Sequence[Request]) -> list[Answer]:
        keyed = {str(index): request for index, request in enumerate(requests)}
        outcomes, _ = await generate(
            keyed,
            self._client,
            self._cache,
            self.identity,
            self.settings.concurrency,
            refresh=self.settings.refresh_cache,
        )
        answers = []
        for key in keyed:
            outcome = outcomes.get(key)
            if outcome is None:
                raise ReplayError("--replay: the response cache holds no answer for a request made inside this item")
            if not isinstance(outcome, Answer):
                raise ModelError(f"the model could not answer: {outcome}")
            answers.append(outcome)
        return answers

    def close(self) -> None:
        if self._runner is None:
            return
        if self._client is not None:
            self._runner.run(self._client.aclose())
        self._runner.close()
        if self._cache is not None:
            self._cache.close()
        self._runner = self._client = self._cache = None
