"""Getting an answer for every request: cached ones from the cache, the rest from the model, many at once.

Answers are written to the cache as they arrive, in small batches, so a run that is interrupted (Ctrl-C,
a dead server) keeps every answer it received and the next run asks only for the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from taskbench.errors import RequestError, ServerGoneError, TaskbenchError
from taskbench.model.cache import ResponseCache
from taskbench.model.client import Answer, ModelClient, Request

FLUSH_EVERY_S = 0.2
FLUSH_AT_ANSWERS = 64


@dataclass
class GenerationReport:
    requested: int  # caller ids asked for
    from_cache: int  # caller ids answered from the cache
    sent: int  # distinct requests sent to the model (ids with identical requests share one)
    failed: int  # caller ids whose request failed after its retries
    seconds: float


async def generate(
    requests: Mapping[str, Request],
    client: ModelClient | None,
    cache: ResponseCache | None,
    identity: str,
    concurrency: int,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    refresh: bool = False,
) -> tuple[dict[str, Answer | RequestError], GenerationReport]:
    """Answer every request (keys are caller ids). `client` None replays the cache only: ids it lacks are
    left out of the result. `refresh` skips the cache lookup but still stores the new answers.
    on_progress(done, total) counts caller ids."""
    if concurrency < 1:
        raise TaskbenchError(f"concurrency must be at least 1, got {concurrency}")
    started = time.perf_counter()
    keys = {caller: ResponseCache.key(identity, request) for caller, request in requests.items()}
    stored = cache.get_many(keys.values()) if cache is not None and not refresh else {}
    from_cache = sum(key in stored for key in keys.values())

    waiting: dict[str, list[str]] = {}  # cache key -> caller ids with that request
    missing: dict[str, Request] = {}
    for caller, key in keys.items():
        if key not in stored:
            waiting.setdefault(key, []).append(caller)
            missing.setdefault(key, requests[caller])
    if client is None:
        missing.clear()

    outcomes: dict[str, Answer | RequestError] = dict(stored)
    done = from_cache
    if on_progress is not None:
        on_progress(done, len(requests))

    def arrived(key: str, outcome: Answer | RequestError) -> None:
        nonlocal done
        outcomes[key] = outcome
        done += len(waiting[key])
        if on_progress is not None:
            on_progress(done, len(requests))

    if missing and client is not None:
        await _send(missing, client, cache, concurrency, arrived)

    results = {caller: outcomes[key] for caller, key in keys.items() if key in outcomes}
    failed = sum(isinstance(outcome, RequestError) for outcome in results.values())
    report = GenerationReport(len(requests), from_cache, len(missing), failed, time.perf_counter() - started)
    return results, report


async def _send(
    missing: Mapping[str, Request],
    client: ModelClient,
    cache: ResponseCache | None,
    concurrency: int,
    arrived: Callable[[str, Answer | RequestError], None],
) -> None:
    queue = deque(missing.items())
    writer = _BatchWriter(cache)
    gone: list[RequestError] = []

    async def worker() -> None:
        while queue and not gone:
            key, request = queue.popleft()
            try:
                answer = await client.complete(request)
            except RequestError as exc:
                if exc.unreachable:
                    # Retrying every remaining request against a dead server would take minutes.
                    gone.append(exc)
                arrived(key, exc)
                continue
            writer.add(key, answer)
            arrived(key, answer)

    flusher = asyncio.create_task(writer.flush_periodically())
    try:
        # A fixed pool of workers, not one task per request: memory stays flat for any number of requests.
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(queue))):
                group.create_task(worker())
    except BaseExceptionGroup as failure:
        # Only a bug gets here (request failures are outcomes); show it, not the group around it.
        raise failure.exceptions[0] from None
    finally:
        flusher.cancel()
        # Also on cancellation (Ctrl-C): every answer received so far reaches the cache.
        writer.flush()
    if gone:
        received = writer.received
        raise ServerGoneError(
            f"the model server stopped answering ({gone[0]}); {received} answers received in this run were "
            f"kept{' in the cache' if cache is not None else ''}, {len(queue) + len(gone)} requests were not answered"
        )


class _BatchWriter:
    """Buffers answers and stores them in one transaction per batch (size- or time-triggered)."""

    def __init__(self, cache: ResponseCache | None) -> None:
        self._cache = cache
        self._buffer: list[tuple[str, Answer]] = []
        self.received = 0

    def add(self, key: str, answer: Answer) -> None:
        self.received += 1
        if self._cache is None:
            return
        self._buffer.append((key, answer))
        if len(self._buffer) >= FLUSH_AT_ANSWERS:
            self.flush()

    def flush(self) -> None:
        if self._cache is not None and self._buffer:
            batch, self._buffer = self._buffer, []
            self._cache.put_many(batch)

    async def flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self.flush()
