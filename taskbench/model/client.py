"""Talking to a model over vLLM's OpenAI-compatible chat-completions API.

    Request          everything that determines an answer except the model; hashable, what the cache keys on
    Answer           one completion: its text (and tool calls, reasoning), why it stopped, token counts, latency
    ServedModel      what resolve_model found on the server(s): name, replica URLs, what identifies the weights
    ClientSettings   limits and timeouts, with their defaults
    ModelClient      one pooled aiohttp session; complete() retries, spreads load and raises RequestError

Failures are ModelError (the server cannot be used at all) or RequestError (one request failed after its
retries); both name the URL. The API key travels only in the Authorization header and is masked out of
every message built here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from taskbench.errors import ModelError, RequestError, TaskbenchError

if TYPE_CHECKING:
    import aiohttp

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
VERSION_PATH = "/version"
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_EXCERPT_CHARS = 300


def canonical_json(value: Any) -> str:
    """One text per JSON value (sorted keys, no spaces), so equal values give equal cache keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def ordered_json(value: Any) -> str:
    """Compact JSON text that keeps key order: grammar backends (xgrammar) emit an object's properties in
    the order its schema lists them, so two schemas that differ only in order constrain differently."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Request:
    """Everything that determines an answer, except the model."""

    # (role, content), or (role, content, compact JSON of the message's other keys: tool_calls, tool_call_id)
    messages: tuple[tuple[str, ...], ...]
    max_tokens: int
    temperature: float
    seed: int | None
    response_format: str | None  # compact JSON text of the response_format object, key order kept
    tools: str | None = None  # compact JSON text of the tools list (--answer-mode tools)
    tool_choice: str | None = None

    @classmethod
    def chat(
        cls,
        messages: Iterable[Mapping[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> Self:
        """Build from OpenAI-style message dicts; normalises types so equal requests hash equal."""
        return cls(
            messages=tuple(_message_tuple(m) for m in messages),
            max_tokens=int(max_tokens),
            temperature=float(temperature),
            seed=None if seed is None else int(seed),
            response_format=None if response_format is None else ordered_json(response_format),
            tools=None if tools is None else ordered_json(list(tools)),
            tool_choice=tool_choice,
        )

    def payload(self, model: str) -> dict[str, Any]:
        """The /v1/chat/completions body."""
        body: dict[str, Any] = {
            "model": model,
            "messages": [_message_dict(message) for message in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if self.response_format is not None:
            body["response_format"] = json.loads(self.response_format)
        if self.tools is not None:
            body["tools"] = json.loads(self.tools)
            body["tool_choice"] = self.tool_choice or "auto"
        return body


def _message_tuple(message: Mapping[str, Any]) -> tuple[str, ...]:
    role, content = str(message["role"]), str(message["content"])
    others = {key: value for key, value in message.items() if key not in ("role", "content")}
    return (role, content, ordered_json(others)) if others else (role, content)


def _message_dict(message: tuple[str, ...]) -> dict[str, Any]:
    role, content, *others = message
    return {"role": role, "content": content, **(json.loads(others[0]) if others else {})}


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float  # of the attempt that succeeded, not counting retries or queueing
    tool_calls: str | None = None  # compact JSON list of {"name", "arguments"} (arguments as sent); None: no call
    reasoning: str | None = None  # what the server returned apart as reasoning (a --reasoning-parser's output)
    reasoning_tokens: int | None = None  # the server's count of them, when it gives one


@dataclass(frozen=True)
class ServedModel:
    name: str
    urls: tuple[str, ...]
    root: str | None  # the weights the server loaded (vLLM: the model path)
    max_model_len: int | None
    vllm_version: str | None
    server_args: tuple[str, ...] = ()  # the flags of a server taskbench started (a tool-call parser, say)

    def identity(self) -> str:
        """Stable hash of what makes answers differ between servers; URLs are left out so replicas,
        ports and restarts share cached answers. A started server's flags count: another parser or chat
        template gives other answers."""
        fields = [self.name, self.root, self.max_model_len, self.vllm_version]
        material = canonical_json([*fields, list(self.server_args)] if self.server_args else fields)
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def describe(self) -> str:
        return f"{self.root or self.name} (max_model_len {self.max_model_len}, vLLM {self.vllm_version})"


@dataclass(frozen=True)
class ClientSettings:
    api_key: str | None = None
    concurrency: int = 256  # requests in flight at once, and the connection pool size
    request_timeout_s: float = 120.0  # per attempt
    max_retries: int = 4  # after the first attempt, on 408/429/5xx, timeouts and connection errors
    connect_timeout_s: float = 5.0
    backoff_base_s: float = 0.5  # retry n waits between half and all of base * 2**(n-1), capped
    backoff_max_s: float = 8.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise TaskbenchError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.max_retries < 0:
            raise TaskbenchError(f"max_retries must be 0 or more, got {self.max_retries}")
        for name in ("request_timeout_s", "connect_timeout_s"):
            if not getattr(self, name) > 0:
                raise TaskbenchError(f"{name} must be positive, got {getattr(self, name)}")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise TaskbenchError("backoff times must not be negative")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def mask(self, text: str) -> str:
        """`text` with the API key replaced, for anything that may echo it (error bodies, exceptions)."""
        return text.replace(self.api_key, "***") if self.api_key else text

    def backoff_s(self, retry: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based); honours Retry-After up to the cap."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (retry - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.backoff_max_s))
        return delay


def normalise_url(url: str) -> str:
    """`http://host:port` from what a user may type (trailing slash, trailing /v1)."""
    base = url.strip().rstrip("/")
    base = base.removesuffix("/v1").rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ModelError(f"{url!r} is not a server URL; expected something like http://127.0.0.1:8000")
    return base


async def resolve_model(urls: Sequence[str], model: str | None, settings: ClientSettings) -> ServedModel:
    """Ask every replica which models it serves (GET /v1/models, and /version) and pick `model`, or the
    only one listed when `model` is None. Unreachable replicas fail within seconds with a ModelError."""
    import aiohttp  # here, not at the top: a run that sends nothing (a replay) does not pay its import

    bases = tuple(dict.fromkeys(normalise_url(url) for url in urls))
    if not bases:
        raise ModelError("no model server URL given")
    timeout = aiohttp.ClientTimeout(total=settings.connect_timeout_s * 2, connect=settings.connect_timeout_s)
    async with aiohttp.ClientSession(headers=settings.headers(), timeout=timeout) as session:
        found = await asyncio.gather(*(_list_models(session, base, settings) for base in bases), return_exceptions=True)
    failures = [result for result in found if isinstance(result, BaseException)]
    for failure in failures:
        if not isinstance(failure, ModelError):
            raise failure
    if failures:
        raise ModelError("\n".join(map(str, failures)))
    listings = [result for result in found if isinstance(result, _Listing)]

    if model is None:
        names = sorted(listings[0].models)
        if len(names) != 1:
            listed = ", ".join(names) or "none"
            raise ModelError(f"{listings[0].base} serves {len(names)} models ({listed}); name the one to evaluate")
        model = names[0]
    served = [listing.serving(model, bases) for listing in listings]
    if len(set(served)) > 1:
        each = "; ".join(f"{listing.base} has {s.describe()}" for listing, s in zip(listings, served, strict=True))
        raise ModelError(f"replicas serve different versions of {model!r}: {each}")
    return served[0]


@dataclass(frozen=True)
class _Listing:
    base: str
    models: dict[str, dict[str, Any]]  # id -> the /v1/models entry
    version: str | None

    def serving(self, model: str, urls: tuple[str, ...]) -> ServedModel:
        entry = self.models.get(model)
        if entry is None:
            listed = ", ".join(sorted(self.models)) or "none"
            raise ModelError(f"{self.base}{MODELS_PATH} does not list model {model!r}; it lists: {listed}")
        max_len = entry.get("max_model_len")
        return ServedModel(model, urls, entry.get("root"), max_len if isinstance(max_len, int) else None, self.version)


async def _list_models(session: aiohttp.ClientSession, base: str, settings: ClientSettings) -> _Listing:
    import aiohttp

    url = base + MODELS_PATH
    try:
        async with session.get(url) as response:
            raw = await response.read()
            status = response.status
    except TimeoutError:
        raise ModelError(
            f"GET {url}: no answer within {settings.connect_timeout_s * 2:g} s; is a model server running there?"
        ) from None
    except aiohttp.ClientError as exc:
        raise ModelError(
            settings.mask(f"GET {url}: cannot connect ({exc}); is a model server running there?")
        ) from None
    if status in (401, 403):
        raise ModelError(f"GET {url}: HTTP {status}, the server refused the API key (set it with --api-key)")
    if status != 200:
        raise ModelError(settings.mask(f"GET {url}: HTTP {status}: {_excerpt(raw, settings.mask)}"))
    try:
        models = {entry["id"]: entry for entry in json.loads(raw)["data"]}
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(
            settings.mask(f"GET {url}: not an OpenAI-compatible model list ({exc!r}): {_excerpt(raw, settings.mask)}")
        ) from None
    return _Listing(base, models, await _vllm_version(session, base))


async def _vllm_version(session: aiohttp.ClientSession, base: str) -> str | None:
    import aiohttp

    # Only vLLM has /version; other OpenAI-compatible servers simply get no version in the identity.
    try:
        async with session.get(base + VERSION_PATH) as response:
            if response.status != 200:
                return None
            version = json.loads(await response.read()).get("version")
    except (TimeoutError, aiohttp.ClientError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def _excerpt(raw: bytes, mask: Callable[[str], str]) -> str:
    """The useful part of an error body: OpenAI-style error.message, else the start of the text. Masked
    before it is cut: a key echoed across the cut would otherwise leave its first half unmasked."""
    text = raw.decode("utf-8", errors="replace")
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, TypeError, KeyError):
        message = text
    message = " ".join(mask(str(message)).split())
    return message[:_EXCERPT_CHARS] + ("..." if len(message) > _EXCERPT_CHARS else "")


@dataclass(frozen=True)
class _Failure:
    reason: str
    retryable: bool
    retry_after_s: float | None = None
    unreachable: bool = False
    status: int | None = None  # of an HTTP error response


class ModelClient:
    """Sends chat completions to the replicas of one served model over one keep-alive connection pool.

    Use as `async with ModelClient(served, settings) as client:`; aclose() is idempotent.
    """

    def __init__(self, served: ServedModel, settings: ClientSettings) -> None:
        if not served.urls:
            raise ModelError(f"model {served.name!r} has no server URL")
        self.served = served
        self.settings = settings
        self._outstanding = dict.fromkeys(served.urls, 0)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp  # see resolve_model

        if self._closed:
            raise ModelError(f"the client for {self.served.name!r} is closed")
        if self._session is None:
            settings = self.settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=settings.concurrency),
                headers={**settings.headers(), "Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=settings.request_timeout_s, connect=settings.connect_timeout_s),
            )
        return self._session

    def outstanding(self) -> dict[str, int]:
        """Requests in flight per replica URL."""
        return dict(self._outstanding)

    async def complete(self, request: Request) -> Answer:
        """One answer, retrying 408/429/5xx, timeouts and connection errors with backoff; RequestError after
        max_retries retries (or at once on other HTTP errors), naming the URL and the last failure."""
        session = self._open()
        body = json.dumps(request.payload(self.served.name), ensure_ascii=False).encode()
        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            base, outcome = await self._attempt(session, body)
            if isinstance(outcome, Answer):
                return outcome
            if not outcome.retryable or attempt == attempts:
                break
            await asyncio.sleep(self.settings.backoff_s(attempt, outcome.retry_after_s))
        tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        message = self.settings.mask(f"POST {base}{CHAT_PATH} failed {tries}: {outcome.reason}")
        raise RequestError(message, unreachable=outcome.unreachable, status=outcome.status)

    async def _attempt(self, session: aiohttp.ClientSession, body: bytes) -> tuple[str, Answer | _Failure]:
        import aiohttp

        async with self._slots:
            # Chosen once a slot is free, so the counts reflect what is really in flight.
            base = min(self._outstanding, key=self._outstanding.__getitem__)
            self._outstanding[base] += 1
            started = time.perf_counter()
            try:
                async with session.post(base + CHAT_PATH, data=body) as response:
                    raw = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except TimeoutError:
                return base, _Failure(f"no answer within {self.settings.request_timeout_s:g} s", retryable=True)
            except aiohttp.ClientPayloadError as exc:
                return base, _Failure(f"the response body was cut off: {exc}", retryable=True)
            except aiohttp.ClientError as exc:
                reason = f"connection error: {exc or type(exc).__name__}"
                # Only a refused connection means no server; a dropped one is this request's failure, and
                # taking it for a dead server would abandon every request still queued.
                return base, _Failure(reason, retryable=True, unreachable=isinstance(exc, aiohttp.ClientConnectorError))
            finally:
                self._outstanding[base] -= 1
            latency = time.perf_counter() - started
        if status != 200:
            excerpt = _excerpt(raw, self.settings.mask)
            retryable = status in _RETRYABLE_STATUS
            return base, _Failure(f"HTTP {status}: {excerpt}", retryable, _seconds(retry_after), status=status)
        return base, _parse_completion(raw, latency, self.settings.mask)


def _parse_completion(raw: bytes, latency_s: float, mask: Callable[[str], str]) -> Answer | _Failure:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        message = choice["message"]
        calls = [
            {"name": call["function"]["name"], "arguments": call["function"].get("arguments") or ""}
            for call in message.get("tool_calls") or ()
        ]
        # vLLM >= 0.10 names it `reasoning`; older vLLM and other servers `reasoning_content`.
        reasoning = message.get("reasoning") or message.get("reasoning_content")
        reasoning_tokens = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        return Answer(
            text=message.get("content") or "",
            finish_reason=choice.get("finish_reason") or "unknown",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_s=latency_s,
            tool_calls=ordered_json(calls) if calls else None,
            reasoning=str(reasoning) if reasoning else None,
            reasoning_tokens=int(reasoning_tokens) if reasoning_tokens else None,
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return _Failure(f"HTTP 200 but not a chat completion ({exc!r}): {_excerpt(raw, mask)}", retryable=False)


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None  # an HTTP-date Retry-After: fall back to our own backoff
