"""Getting an answer for every request: cached ones from the cache, the rest from the model, many at once.

Answers are written to the cache as they arrive, in small batches, so a run that is interrupted (Ctrl-C,
a dead server) keeps every answer it received and the next run asks only for the rest.

Cancelled, generate() raises GenerationCancelled, which carries every outcome that had arrived. Under
`run_interruptibly`, Ctrl-C cancels it at once (not after the requests in flight) and the caller gets
GenerationInterrupted. When the first REFUSED_AFTER requests the server answered were all refused with the same
client error (HTTP 400, 404 or 422: a parameter it rejects, an unknown model or route), the rest would be
refused too: generation stops with RefusedRequestsError.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from taskbench.errors import RefusedRequestsError, RequestError, ServerGoneError, TaskbenchError
from taskbench.model.cache import ResponseCache
from taskbench.model.client import Answer, ModelClient, Request
from taskbench.model.server import exit_at_once

FLUSH_EVERY_S = 0.2
FLUSH_AT_ANSWERS = 64
# Answered requests, all refused with the same client error, after which a run stops. Small, so a wrong
# parameter costs seconds; more than one, so one malformed request cannot stop a run.
REFUSED_AFTER = 8
CLIENT_ERRORS = frozenset({400, 404, 422})
EXIT_INTERRUPTED = 2  # pytest's ExitCode.INTERRUPTED, for a second Ctrl-C
SECOND_INTERRUPT = "taskbench: a second Ctrl-C: stopped at once; the answers stored so far are in the response cache"

T = TypeVar("T")


@dataclass
class GenerationReport:
    requested: int  # caller ids asked for
    from_cache: int  # caller ids answered from the cache
    sent: int  # distinct requests sent to the model (ids with identical requests share one)
    failed: int  # caller ids whose request failed after its retries
    seconds: float
    interrupted: bool = False  # stopped by Ctrl-C: the counts are of what had arrived by then

    @classmethod
    def combined(cls, reports: Iterable[GenerationReport]) -> GenerationReport:
        """One report for several rounds of generation (episodes send a round per turn)."""
        reports = list(reports)
        counts = {f.name: sum(getattr(r, f.name) for r in reports) for f in fields(cls) if f.name != "interrupted"}
        return cls(**counts, interrupted=any(r.interrupted for r in reports))


class GenerationCancelled(asyncio.CancelledError):
    """generate() was cancelled. `answers` and `report` hold every outcome that had arrived (the cache has the
    answers too)."""

    def __init__(self, answers: dict[str, Answer | RequestError], report: GenerationReport) -> None:
        super().__init__(f"{sum(isinstance(a, Answer) for a in answers.values())} of {report.requested} answered")
        self.answers = answers
        self.report = report


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped generation (run_interruptibly). `answers` and `report` hold every outcome that had arrived:
    they are the run's, and the next run asks only for the rest."""

    def __init__(self, cancelled: GenerationCancelled) -> None:
        super().__init__(*cancelled.args)
        self.answers = cancelled.answers
        self.report = cancelled.report


def run_interruptibly(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) for generating a run's answers: Ctrl-C cancels main at once (GenerationInterrupted
    when generate() was cancelled), and a second Ctrl-C ends the process at once. A thread other than the main
    one, or a process whose SIGINT is ignored or handled by someone else, gets plain asyncio.run."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        return asyncio.run(main)
    interrupts = 0

    async def interruptible() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_sigint() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts == 1:
                task.cancel()
            else:
                exit_at_once(EXIT_INTERRUPTED, SECOND_INTERRUPT)

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            return await main
        finally:
            loop.remove_signal_handler(signal.SIGINT)  # back to Python's default: KeyboardInterrupt
            if interrupts:
                # From here to the process's end, Ctrl-C again means "stop now": the loop's shutdown, saving the
                # answers that arrived and the session's end must not be cut into by a KeyboardInterrupt.
                signal.signal(signal.SIGINT, lambda *_: exit_at_once(EXIT_INTERRUPTED, SECOND_INTERRUPT))

    try:
        return asyncio.run(interruptible())
    except GenerationCancelled as cancelled:
        if interrupts:
            raise GenerationInterrupted(cancelled) from None
        raise


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
    on_progress(done, total) counts caller ids whose outcome has arrived: an answer, or a failure other than
    finding no server (those requests were never answered; a later run sends them)."""
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
        if isinstance(outcome, RequestError) and outcome.unreachable:
            return
        done += len(waiting[key])
        if on_progress is not None:
            on_progress(done, len(requests))

    def results(interrupted: bool) -> tuple[dict[str, Answer | RequestError], GenerationReport]:
        found = {caller: outcomes[key] for caller, key in keys.items() if key in outcomes}
        failed = sum(isinstance(outcome, RequestError) for outcome in found.values())
        seconds = time.perf_counter() - started
        return found, GenerationReport(len(requests), from_cache, len(missing), failed, seconds, interrupted)

    if missing and client is not None:
        try:
            await _send(missing, client, cache, concurrency, arrived)
        except asyncio.CancelledError:
            raise GenerationCancelled(*results(interrupted=True)) from None
    return results(interrupted=False)


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
    refusals = _Refusals()

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
                if refusals.systematic(exc):
                    raise RefusedRequestsError(
                        f"the server refused the first {REFUSED_AFTER} requests it answered with the same error, "
                        f"so the run stopped instead of sending the rest: {exc}"
                    ) from None
                continue
            refusals.systematic(answer)
            writer.add(key, answer)
            arrived(key, answer)

    flusher = asyncio.create_task(writer.flush_periodically())
    try:
        # A fixed pool of workers, not one task per request: memory stays flat for any number of requests.
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(queue))):
                group.create_task(worker())
    except BaseExceptionGroup as failure:
        # Refused requests (the TaskGroup has cancelled the requests in flight), or a bug (request failures are
        # outcomes): show it, not the group around it.
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


class _Refusals:
    """Watches the first outcomes of a run for the same client error, REFUSED_AFTER times in a row."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.count = 0
        self.watching = True

    def systematic(self, outcome: Answer | RequestError) -> bool:
        """Whether `outcome` makes REFUSED_AFTER refusals alike, all the server answered so far."""
        if not self.watching or (isinstance(outcome, RequestError) and outcome.unreachable):
            return False
        status = outcome.status if isinstance(outcome, RequestError) else None
        if status not in CLIENT_ERRORS or self.status not in (None, status):
            self.watching = False  # an answer, or another error: the server takes these requests
            return False
        self.status = status
        self.count += 1
        return self.count == REFUSED_AFTER


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
