"""A loopback proxy that injects faults between taskbench's client and a real server (vLLM).

It forwards every request to the upstream server unchanged, except where its schedule says otherwise. It runs
its own event loop in a thread, so a pytester subprocess (`pytest evals/ --model-url proxy.url`) can use it:

    with FaultProxy(demo_server.url, first_attempts(1, http_error(503))) as proxy:
        ... proxy.url ... proxy.stats.injected ...

A schedule sees each arrival (its path, body, the how-many-th attempt of that same body it is) and returns the
fault to inject, or None to forward. taskbench sends a retry with the very same body, so the attempt count per
body is the attempt count per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web
from standin import socket_bound_to

from taskbench.model.client import CHAT_PATH

FaultKind = Literal["status", "reset", "slow", "truncate", "echo_headers"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 500  # of "status" and "echo_headers"
    delay_s: float = 0.0  # of "slow": before forwarding; make it longer than --request-timeout
    pad: int = 0  # of "echo_headers": characters before the echo, to place the key where a message is cut

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.status}" if self.kind in ("status", "echo_headers") else self.kind


def http_error(status: int) -> Fault:
    """An OpenAI-style error response."""
    return Fault("status", status=status)


def slow(delay_s: float) -> Fault:
    """The real answer, after delay_s (the client gives up first when delay_s exceeds its timeout)."""
    return Fault("slow", delay_s=delay_s)


RESET = Fault("reset")  # the connection is dropped before any response
TRUNCATE = Fault("truncate")  # the real answer's headers promise its full length; half the body comes, then EOF


def echo_headers(status: int, pad: int = 0) -> Fault:
    """An error whose message quotes the Authorization header, then every header, as a careless server or
    gateway might: `pad` hashes, "refused " and the header's value come first."""
    return Fault("echo_headers", status=status, pad=pad)


@dataclass(frozen=True)
class Arrival:
    path: str
    body: dict[str, Any] | None  # the JSON body of a POST
    attempt: int  # 1 for the first time this method, path and body arrive, 2 for its first retry, ...
    index: int  # 1-based position among all arrivals on the proxy


Schedule = Callable[[Arrival], Fault | None]


def first_attempts(n: int, fault: Fault, paths: Collection[str] = (CHAT_PATH,)) -> Schedule:
    """Fail attempts 1..n of every request (to `paths`); the retry after that is forwarded."""
    return lambda arrival: fault if arrival.path in paths and arrival.attempt <= n else None


def every_kth(k: int, fault: Fault, paths: Collection[str] = (CHAT_PATH,)) -> Schedule:
    """Fail every k-th arrival on `paths`, whichever request it is."""
    arrivals = itertools.count(1)

    def schedule(arrival: Arrival) -> Fault | None:
        if arrival.path not in paths:
            return None
        return fault if next(arrivals) % k == 0 else None

    return schedule


def always(
    fault: Fault, where: Callable[[Arrival], bool] = lambda _: True, paths: Collection[str] = (CHAT_PATH,)
) -> Schedule:
    """Fail every attempt of the requests (to `paths`) that `where` picks: a persistent fault."""
    return lambda arrival: fault if arrival.path in paths and where(arrival) else None


def user_text(arrival: Arrival) -> str:
    """The last message of a chat request: the case's input, to pick requests by case."""
    return str(((arrival.body or {}).get("messages") or [{}])[-1].get("content", ""))


@dataclass
class ProxyStats:
    arrivals: int = 0
    forwarded: int = 0
    injected: Counter[str] = field(default_factory=Counter)  # fault name -> times injected
    attempts: Counter[str] = field(default_factory=Counter)  # request digest -> arrivals
    authorization: set[str] = field(default_factory=set)  # every Authorization header seen


class FaultProxy:
    def __init__(self, upstream: str, schedule: Schedule | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.schedule: Schedule = schedule or (lambda _: None)
        self.stats = ProxyStats()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultproxy", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> Self:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Cancelled when the client gives up, so a "slow" handler does not outlive its request.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1)
        await self._runner.setup()
        sock = socket_bound_to(0)
        await web.SockSite(self._runner, sock).start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        stats = self.stats
        stats.arrivals += 1
        digest = hashlib.sha256(f"{request.method} {request.path}\n".encode() + raw).hexdigest()
        stats.attempts[digest] += 1
        stats.authorization.add(request.headers.get("Authorization", ""))
        body = json.loads(raw) if raw else None
        fault = self.schedule(Arrival(request.path, body, stats.attempts[digest], stats.arrivals))
        if fault is None:
            return await self._forward(request, raw)
        stats.injected[fault.name] += 1
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            return await self._forward(request, raw)
        if fault.kind == "truncate":
            return await self._forward(request, raw, truncate=True)
        return await self._inject(request, fault)

    async def _forward(self, request: web.Request, raw: bytes, *, truncate: bool = False) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=raw or None, headers=headers
        ) as upstream:
            payload = await upstream.read()
            status, content_type = upstream.status, upstream.headers.get("Content-Type", "application/json")
        self.stats.forwarded += 1
        if not truncate:
            return web.Response(status=status, body=payload, headers={"Content-Type": content_type})
        response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    async def _inject(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if fault.kind == "echo_headers":
            message = (
                f"{'#' * fault.pad}refused {request.headers.get('Authorization')}; headers: {dict(request.headers)}"
            )
        else:
            message = f"fault injected by the proxy: HTTP {fault.status}"
        return web.json_response({"error": {"message": message}}, status=fault.status)
