"""The model side of one run, owned by the controller process: which server, which model, and every
answer generated ahead of the items.

Under pytest-xdist only the controller talks to the model; it writes the answers to the run folder
(`answers.jsonl`) and workers read them from there, so each request is sent once per run.
"""

from __future__ import annotations

import asyncio
import dataclasses
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

    def __init__(self, settings: Settings, run_dir: Path, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.say = say
        self.server: VllmServer | None = None
        self.served: ServedModel | None = None

    def open(self) -> ServedModel:
        if self.served is None:
            urls = self.settings.model_url or (self._spawn(),)
            served = asyncio.run(resolve_model(urls, self.settings.model, client_settings(self.settings)))
            if self.server is not None:
                served = dataclasses.replace(served, server_args=self.server.extra_args)
            self.served = served
        return self.served

    def _spawn(self) -> str:
        from taskbench.demo_model import demo_model_server

        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.run_dir / VLLM_LOG
        if self.settings.vllm_serve:
            self.server = VllmServer(
                self.settings.vllm_serve,
                self.settings.model or self.settings.vllm_serve,
                log,
                max_model_len=self.settings.max_model_len,
                startup_timeout_s=self.settings.server_timeout,
                extra_args=self.settings.vllm_arg,
                on_progress=self.say,
            )
        else:
            self.say("taskbench: no --model-url or --vllm-serve given: serving the embedded demo model")
            self.server = demo_model_server(
                log, self.say, vllm_args=self.settings.vllm_arg, startup_timeout_s=self.settings.server_timeout
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
        if self.server is not None:
            self.server.stop()
            self.server = None
