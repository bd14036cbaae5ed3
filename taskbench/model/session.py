"""The model side of one run, owned by the controller process: which server, which model, and every
answer generated ahead of the items.

Under pytest-xdist only the controller talks to the model; it writes the answers to the run folder
(`answers.jsonl`) and workers read them from there, so each request is sent once per run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from taskbench.artifacts import VLLM_LOG
from taskbench.data.cases import Case
from taskbench.errors import RequestError
from taskbench.model.client import (
    Answer,
    ClientSettings,
    ModelClient,
    Request,
    ServedModel,
    ordered_json,
    resolve_model,
)
from taskbench.model.generation import GenerationReport, generate, run_interruptibly
from taskbench.model.prompts import DEFAULT_SYSTEM_PROMPT, build_messages
from taskbench.model.server import VllmServer
from taskbench.model.tools import tool_definitions_json, tools_messages
from taskbench.options import Settings
from taskbench.scorers.contract import contract_schema


def response_format(settings: Settings) -> str | None:
    if settings.structured_outputs == "off":
        return None
    spec = {"type": "json_schema", "json_schema": {"name": "task_action", "schema": contract_schema()}}
    return ordered_json(spec)


def build_request(case: Case, settings: Settings) -> Request:
    return build_request_for(case.input, case.reference_date, case.context, settings)


def build_request_for(
    user_input: str, reference_date: str, context: Mapping[str, Any] | None, settings: Settings
) -> Request:
    messages = build_messages(reference_date, user_input, context, settings.system_prompt or DEFAULT_SYSTEM_PROMPT)
    if settings.answer_mode == "tools":
        request = Request.chat(
            tools_messages(messages),
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            seed=settings.seed,
        )
        return dataclasses.replace(request, tools=tool_definitions_json(), tool_choice=settings.tool_choice)
    return Request(
        messages=tuple((m["role"], m["content"]) for m in messages),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        response_format=response_format(settings),
    )


def client_settings(settings: Settings) -> ClientSettings:
    return ClientSettings(
        api_key=settings.api_key,
        concurrency=settings.concurrency,
        request_timeout_s=settings.request_timeout,
        max_retries=settings.max_retries,
    )


class ModelSession:
    """Opens the model for a run (an existing URL, or a vLLM server spawned for it) and generates."""

    def __init__(
        self, settings: Settings, run_dir: Path, say: Callable[[str], None], server: VllmServer | None = None
    ) -> None:
        """`server`: a server started for several sessions (a sweep's); its owner, not this session, stops it."""
        self.settings = settings
        self.run_dir = run_dir
        self.say = say
        self.server = server
        self._owns_server = server is None
        self.served: ServedModel | None = None

    def open(self) -> ServedModel:
        if self.served is None:
            urls = self.settings.model_url or (self._spawn(),)
            name = self.settings.model[0] if self.settings.model else None
            served = asyncio.run(resolve_model(urls, name, client_settings(self.settings)))
            if self.server is not None:
                served = dataclasses.replace(served, server_args=self.server.extra_args)
            self.served = served
        return self.served

    def _spawn(self) -> str:
        if self.server is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            log = self.run_dir / VLLM_LOG
            if not self.settings.vllm_serve:
                self.say("taskbench: no --model-url or --vllm-serve given: serving the embedded demo model")
            name = self.settings.model[0] if self.settings.model else None
            self.server = new_server(
                self.settings, self.settings.vllm_serve[0] if self.settings.vllm_serve else None, name, log, self.say
            )
        return self.server.start()

    def generate(
        self, requests: dict[str, Request], cache: Any, on_progress: Callable[[int, int], None] | None
    ) -> tuple[dict[str, Answer | RequestError], GenerationReport]:
        served = self.open()

        async def run() -> tuple[dict[str, Answer | RequestError], GenerationReport]:
            async with ModelClient(served, client_settings(self.settings)) as client:
                return await generate(
                    requests,
                    client,
                    cache,
                    served.identity(),
                    self.settings.concurrency,
                    on_progress,
                    refresh=self.settings.refresh_cache,
                )

        return run_interruptibly(run())

    def close(self) -> None:
        if self.server is not None and self._owns_server:
            self.server.stop()
        self.server = None


def serve_spec(value: str) -> tuple[str, tuple[str, ...]]:
    """A --vllm-serve value: the model, and the flags for its server alone that may follow it ('PATH --flag x')."""
    model, separator, flags = value.partition(" --")
    return model.strip(), tuple(shlex.split("--" + flags)) if separator else ()


def new_server(
    settings: Settings, serve: str | None, served_name: str | None, log: Path, say: Callable[[str], None]
) -> VllmServer:
    """A (not yet started) server for one --vllm-serve value, or for the demo model when `serve` is None; its
    flags: --vllm-arg's, then the value's own."""
    if serve is None:
        from taskbench.demo_model import demo_model_server

        return demo_model_server(log, say, vllm_args=settings.vllm_arg, startup_timeout_s=settings.server_timeout)
    model, flags = serve_spec(serve)
    return VllmServer(
        model,
        served_name or model,
        log,
        max_model_len=settings.max_model_len,
        startup_timeout_s=settings.server_timeout,
        extra_args=(*settings.vllm_arg, *flags),
        on_progress=say,
    )
