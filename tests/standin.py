"""A stand-in for vLLM's OpenAI-compatible HTTP API, for tests and benchmarks of the HTTP layer only
(retries, timeouts, spreading, concurrency). What a model answers is proven against real vLLM.

In the test's own event loop:

    async with StandIn(Behaviour(failures=["429", "500"])) as server:
        ... server.url ... server.traffic.max_in_flight ...

As a separate process (a fake `vllm` for VllmServer tests, or a server for benchmarks):

    python tests/standin.py --port 0 --model demo     # prints "listening on http://127.0.0.1:PORT"
    with standin_process("--model", "demo") as url: ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web

SCRIPT = Path(__file__).resolve()
FAILURES = ("429", "500", "503", "400", "reset", "hang", "garbage", "echo-auth")


@dataclass
class Behaviour:
    """What the stand-in does; a test may change it between requests."""

    models: tuple[str, ...] = ("standin",)
    version: str | None = "0.0.0-standin"
    root: str = "/models/standin"
    max_model_len: int = 1024
    delay_s: float = 0.0  # before each chat answer
    # One consumed per chat request, in order, before answers resume. "hang" never answers, "reset" drops
    # the connection, "garbage" is a 200 that is not a completion, "echo-auth" a 500 quoting the auth header.
    failures: list[str] = field(default_factory=list)
    hang_models: bool = False  # GET /v1/models never answers


@dataclass
class Traffic:
    """What the stand-in saw."""

    chat_requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each chat request
    last_body: dict[str, Any] | None = None
    authorization: set[str] = field(default_factory=set)


def answer_for(body: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's completion: it echoes the last message, so tests can tell answers apart."""
    content = "echo: " + body["messages"][-1]["content"]
    prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
    return {
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content.split())},
    }


class StandIn:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.traffic = Traffic()
        self.url = ""
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/version", self._version)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    async def __aenter__(self) -> Self:
        self.url = await self.start(socket_bound_to(0))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self, sock: socket.socket) -> str:
        # A short shutdown: "hang" handlers never finish on their own.
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _models(self, request: web.Request) -> web.Response:
        if self.behaviour.hang_models:
            await asyncio.Event().wait()
        data = [
            {"id": name, "object": "model", "root": self.behaviour.root, "max_model_len": self.behaviour.max_model_len}
            for name in self.behaviour.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _version(self, request: web.Request) -> web.Response:
        if self.behaviour.version is None:
            return web.Response(status=404)
        return web.json_response({"version": self.behaviour.version})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        traffic = self.traffic
        traffic.chat_requests += 1
        traffic.arrivals.append(time.monotonic())
        traffic.authorization.add(request.headers.get("Authorization", ""))
        traffic.in_flight += 1
        traffic.max_in_flight = max(traffic.max_in_flight, traffic.in_flight)
        try:
            body = json.loads(await request.read())
            traffic.last_body = body
            failure = self.behaviour.failures.pop(0) if self.behaviour.failures else None
            if failure is not None:
                return await self._fail(request, failure)
            if self.behaviour.delay_s:
                await asyncio.sleep(self.behaviour.delay_s)
            if body["model"] not in self.behaviour.models:
                return web.json_response(
                    {"error": {"message": f"The model `{body['model']}` does not exist."}}, status=404
                )
            return web.json_response(answer_for(body))
        finally:
            traffic.in_flight -= 1

    async def _fail(self, request: web.Request, failure: str) -> web.StreamResponse:
        if failure == "hang":
            await asyncio.Event().wait()
        if failure == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if failure == "garbage":
            return web.json_response({"unexpected": True})
        if failure == "echo-auth":
            return web.json_response({"error": {"message": f"bad: {request.headers.get('Authorization')}"}}, status=500)
        status = int(failure)
        return web.json_response({"error": {"message": f"stand-in failure {status}"}}, status=status)


def socket_bound_to(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.contextmanager
def standin_process(*args: str) -> Iterator[str]:
    """Run the stand-in in its own process (its own core); yields its URL, kills it on exit."""
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the stand-in did not start: {line!r}")
        yield line.removeprefix("listening on ").strip()
    finally:
        process.kill()
        process.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """A fake `vllm` process: VllmServer tests put this command in place of vLLM's."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", action="append", default=[], help="served model name (repeatable)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chat answer")
    parser.add_argument("--startup-delay", type=float, default=0.0, help="seconds before listening")
    parser.add_argument("--exit-code", type=int, help="log a few lines, then exit with this code before listening")
    parser.add_argument("--never-ready", action="store_true", help="listen, but list no model")
    parser.add_argument("--child", action="store_true", help="spawn a child process that sleeps forever")
    parser.add_argument("--ignore-sigterm", action="store_true")
    args = parser.parse_args(argv)

    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.child:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    for second in range(int(args.startup_delay * 10)):
        print(f"loading weights ... step {second}", flush=True)
        time.sleep(0.1)
    if args.exit_code is not None:
        for line in range(40):
            print(f"stand-in log line {line}", flush=True)
        print("stand-in: giving up on purpose", flush=True)
        sys.exit(args.exit_code)
    behaviour = Behaviour(models=() if args.never_ready else tuple(args.model or ["standin"]), delay_s=args.delay)
    asyncio.run(_serve(StandIn(behaviour), socket_bound_to(args.port)))


async def _serve(server: StandIn, sock: socket.socket) -> None:
    print(f"listening on {await server.start(sock)}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
