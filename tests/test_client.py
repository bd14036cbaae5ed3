"""The HTTP layer against the loopback stand-in: retries, timeouts, spreading, the concurrency bound,
and resolve_model's errors. What vLLM itself answers is tested in test_generation's vllm tests."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import pytest
from faultproxy import TRUNCATE, FaultProxy, Schedule, always, echo_headers, first_attempts
from hypothesis import given
from hypothesis import strategies as st
from standin import Behaviour, StandIn

from taskbench.errors import ModelError, RequestError, TaskbenchError
from taskbench.model.client import (
    Answer,
    ClientSettings,
    ModelClient,
    Request,
    ServedModel,
    normalise_url,
    resolve_model,
)

FAST = ClientSettings(backoff_base_s=0.01, backoff_max_s=0.05, request_timeout_s=5, connect_timeout_s=1)


def request(text: str = "hello") -> Request:
    return Request.chat([{"role": "user", "content": text}], max_tokens=16)


def served(*servers: StandIn, name: str = "standin") -> ServedModel:
    return ServedModel(name, tuple(s.url for s in servers), "/models/standin", 1024, "0.0.0-standin")


async def complete_once(behaviour: Behaviour, settings: ClientSettings = FAST, text: str = "hello"):
    async with StandIn(behaviour) as server, ModelClient(served(server), settings) as client:
        try:
            return await client.complete(request(text)), server.traffic
        except RequestError as exc:
            return exc, server.traffic


def test_payload_carries_every_request_parameter() -> None:
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    req = Request.chat(
        [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        max_tokens=7,
        temperature=0,
        seed=3,
        response_format=rf,
    )
    assert req.payload("m") == {
        "model": "m",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "max_tokens": 7,
        "temperature": 0.0,
        "seed": 3,
        "response_format": rf,
    }
    assert "seed" not in Request.chat([], max_tokens=1).payload("m")


@given(st.dictionaries(st.text(), st.integers() | st.text(), min_size=2, max_size=5))
def test_response_format_keeps_key_order(properties: dict) -> None:
    # Grammar backends emit properties in schema order, so a reordered schema is a different request.
    reordered = dict(reversed(list(properties.items())))
    a = Request.chat([], max_tokens=1, response_format={"properties": properties})
    b = Request.chat([], max_tokens=1, response_format={"properties": reordered})
    assert a != b
    assert list(a.payload("m")["response_format"]["properties"]) == list(properties)
    assert a == Request.chat([], max_tokens=1, response_format={"properties": dict(properties)})


def test_identity_is_stable_and_changes_with_what_changes_answers() -> None:
    base = ServedModel("m", ("http://a:1",), "/w", 1024, "0.32.0")
    assert base.identity() == ServedModel("m", ("http://b:2", "http://c:3"), "/w", 1024, "0.32.0").identity()
    variants = [
        ServedModel("n", base.urls, "/w", 1024, "0.32.0"),
        ServedModel("m", base.urls, "/v", 1024, "0.32.0"),
        ServedModel("m", base.urls, "/w", 2048, "0.32.0"),
        ServedModel("m", base.urls, "/w", 1024, "0.33.0"),
    ]
    assert len({base.identity(), *(v.identity() for v in variants)}) == 5


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        (" http://host:8000/v1/ ", "http://host:8000"),
        ("https://host/prefix/v1", "https://host/prefix"),
    ],
)
def test_normalise_url(typed: str, expected: str) -> None:
    assert normalise_url(typed) == expected


@pytest.mark.parametrize("typed", ["127.0.0.1:8000", "ftp://host", "", "http://"])
def test_normalise_url_refuses_what_is_not_a_url(typed: str) -> None:
    with pytest.raises(ModelError, match="not a server URL"):
        normalise_url(typed)


def test_settings_refuse_impossible_values() -> None:
    with pytest.raises(TaskbenchError, match="concurrency"):
        ClientSettings(concurrency=0)
    with pytest.raises(TaskbenchError, match="request_timeout_s"):
        ClientSettings(request_timeout_s=0)


@given(st.integers(min_value=1, max_value=30), st.floats(min_value=0, max_value=100) | st.none())
def test_backoff_grows_and_stays_under_the_cap(retry: int, retry_after: float | None) -> None:
    settings = ClientSettings(backoff_base_s=0.5, backoff_max_s=8.0)
    ceiling = min(8.0, 0.5 * 2 ** (retry - 1))
    delay = settings.backoff_s(retry, retry_after)
    assert ceiling / 2 <= delay <= 8.0
    if retry_after is None:
        assert delay <= ceiling
    else:
        assert delay >= min(retry_after, 8.0)


def test_answer_fields_come_from_the_completion() -> None:
    answer, traffic = asyncio.run(complete_once(Behaviour(), text="make a task"))
    assert answer.text == "echo: make a task"
    assert answer.finish_reason == "stop"
    assert (answer.prompt_tokens, answer.completion_tokens) == (3, 4)
    assert answer.latency_s > 0
    assert traffic.last_body["messages"] == [{"role": "user", "content": "make a task"}]


@pytest.mark.parametrize("failures", [["429"], ["500", "503"], ["reset"], ["reset", "429", "500"]])
def test_retryable_failures_are_retried_until_an_answer(failures: list[str]) -> None:
    answer, traffic = asyncio.run(complete_once(Behaviour(failures=list(failures))))
    assert answer.text == "echo: hello"
    assert traffic.chat_requests == len(failures) + 1


def test_retries_back_off_exponentially() -> None:
    settings = ClientSettings(backoff_base_s=0.1, backoff_max_s=10, max_retries=3)
    answer, traffic = asyncio.run(complete_once(Behaviour(failures=["500", "500", "500"]), settings))
    gaps = [later - earlier for earlier, later in itertools.pairwise(traffic.arrivals)]
    # Retry n waits between half and all of 0.1 * 2**(n-1) seconds.
    for retry, gap in enumerate(gaps, start=1):
        assert 0.1 * 2 ** (retry - 1) / 2 <= gap < 0.1 * 2 ** (retry - 1) + 0.15
    assert answer.text == "echo: hello"


def test_gives_up_after_max_retries_naming_the_url_and_the_last_failure() -> None:
    settings = ClientSettings(backoff_base_s=0.01, max_retries=2)
    error, traffic = asyncio.run(complete_once(Behaviour(failures=["503", "429", "500", "500"]), settings))
    assert isinstance(error, RequestError)
    assert traffic.chat_requests == 3
    message = str(error)
    assert "/v1/chat/completions" in message and "127.0.0.1:" in message
    assert "after 3 attempts" in message and "HTTP 500" in message and "stand-in failure 500" in message


@pytest.mark.parametrize(("failure", "reason"), [("400", "HTTP 400"), ("garbage", "not a chat completion")])
def test_client_errors_are_not_retried(failure: str, reason: str) -> None:
    error, traffic = asyncio.run(complete_once(Behaviour(failures=[failure])))
    assert isinstance(error, RequestError) and reason in str(error) and "after 1 attempt:" in str(error)
    assert traffic.chat_requests == 1


def test_unknown_model_is_reported_with_the_servers_message() -> None:
    async def scenario() -> RequestError:
        async with StandIn() as server, ModelClient(served(server, name="other"), FAST) as client:
            with pytest.raises(RequestError) as caught:
                await client.complete(request())
            return caught.value

    assert "does not exist" in str(asyncio.run(scenario()))


def test_a_request_that_hangs_times_out_and_is_retried() -> None:
    settings = ClientSettings(request_timeout_s=0.3, backoff_base_s=0.01, max_retries=1)
    started = time.monotonic()
    answer, traffic = asyncio.run(complete_once(Behaviour(failures=["hang"]), settings))
    assert answer.text == "echo: hello" and traffic.chat_requests == 2
    assert 0.3 <= time.monotonic() - started < 3


def test_a_request_that_always_hangs_fails_with_a_timeout() -> None:
    settings = ClientSettings(request_timeout_s=0.2, backoff_base_s=0.01, max_retries=1)
    started = time.monotonic()
    error, _ = asyncio.run(complete_once(Behaviour(failures=["hang", "hang"]), settings))
    assert isinstance(error, RequestError) and "no answer within 0.2 s" in str(error)
    assert time.monotonic() - started < 3


def test_api_key_is_sent_but_never_shown() -> None:
    settings = ClientSettings(api_key="sk-secret-123", backoff_base_s=0.01, max_retries=1)
    error, traffic = asyncio.run(complete_once(Behaviour(failures=["echo-auth", "echo-auth"]), settings))
    assert traffic.authorization == {"Bearer sk-secret-123"}
    assert isinstance(error, RequestError) and "bad: Bearer ***" in str(error)
    assert "sk-secret-123" not in str(error)


def test_requests_spread_evenly_over_equal_replicas() -> None:
    async def scenario() -> tuple[int, int]:
        behaviour = Behaviour(delay_s=0.05)
        async with StandIn(behaviour) as a, StandIn(behaviour) as b, ModelClient(served(a, b), FAST) as client:
            await asyncio.gather(*(client.complete(request(str(i))) for i in range(100)))
            return a.traffic.chat_requests, b.traffic.chat_requests

    assert asyncio.run(scenario()) == (50, 50)


def test_least_outstanding_sends_more_to_the_faster_replica() -> None:
    async def scenario() -> tuple[int, int, int]:
        async with (
            StandIn(Behaviour(delay_s=0.2)) as slow,
            StandIn(Behaviour(delay_s=0.01)) as fast,
            ModelClient(served(slow, fast), ClientSettings(concurrency=4)) as client,
        ):
            await asyncio.gather(*(client.complete(request(str(i))) for i in range(80)))
            return slow.traffic.chat_requests, fast.traffic.chat_requests, max(client.outstanding().values())

    slow, fast, outstanding = asyncio.run(scenario())
    assert slow + fast == 80 and fast > 3 * slow
    assert outstanding == 0


@pytest.mark.parametrize("concurrency", [1, 8, 64])
def test_in_flight_reaches_but_never_exceeds_the_concurrency_bound(concurrency: int) -> None:
    async def scenario() -> int:
        async with (
            StandIn(Behaviour(delay_s=0.05)) as server,
            ModelClient(served(server), ClientSettings(concurrency=concurrency)) as client,
        ):
            await asyncio.gather(*(client.complete(request(str(i))) for i in range(3 * concurrency)))
            return server.traffic.max_in_flight

    assert asyncio.run(scenario()) == concurrency


def test_aclose_is_idempotent_and_a_closed_client_refuses_work() -> None:
    async def scenario() -> None:
        async with StandIn() as server:
            client = ModelClient(served(server), FAST)
            await client.complete(request())
            await client.aclose()
            await client.aclose()
            with pytest.raises(ModelError, match="closed"):
                await client.complete(request())

    asyncio.run(scenario())


# resolve_model


def test_resolve_model_reads_name_root_length_and_version() -> None:
    async def scenario() -> ServedModel:
        behaviour = Behaviour(models=("demo",), root="/w/demo", max_model_len=512, version="0.32.0")
        async with StandIn(behaviour) as a, StandIn(behaviour) as b:
            found = await resolve_model([a.url + "/v1/", b.url], None, FAST)
            assert found.urls == (a.url, b.url)
            return found

    found = asyncio.run(scenario())
    assert (found.name, found.root, found.max_model_len, found.vllm_version) == ("demo", "/w/demo", 512, "0.32.0")


def test_resolve_model_without_version_endpoint() -> None:
    async def scenario() -> ServedModel:
        async with StandIn(Behaviour(version=None)) as server:
            return await resolve_model([server.url], "standin", FAST)

    assert asyncio.run(scenario()).vllm_version is None


def test_several_models_without_a_name_is_a_clear_error() -> None:
    async def scenario() -> None:
        async with StandIn(Behaviour(models=("alpha", "beta"))) as server:
            with pytest.raises(ModelError, match=r"serves 2 models \(alpha, beta\); name the one"):
                await resolve_model([server.url], None, FAST)
            found = await resolve_model([server.url], "beta", FAST)
            assert found.name == "beta"

    asyncio.run(scenario())


def test_a_model_the_server_does_not_list_is_a_clear_error() -> None:
    async def scenario() -> None:
        async with StandIn(Behaviour(models=("alpha",))) as server:
            with pytest.raises(ModelError, match=r"does not list model 'gamma'; it lists: alpha"):
                await resolve_model([server.url], "gamma", FAST)

    asyncio.run(scenario())


def test_replicas_serving_different_weights_are_refused() -> None:
    async def scenario() -> None:
        async with StandIn(Behaviour(root="/w/a")) as a, StandIn(Behaviour(root="/w/b")) as b:
            with pytest.raises(ModelError, match="replicas serve different versions"):
                await resolve_model([a.url, b.url], None, FAST)

    asyncio.run(scenario())


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_wrong_url_fails_within_seconds_naming_the_url() -> None:
    url = refused_url()
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        asyncio.run(resolve_model([url], None, ClientSettings()))
    assert time.monotonic() - started < 3
    assert f"GET {url}/v1/models: cannot connect" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # no chained traceback


def test_a_server_that_does_not_answer_fails_within_the_connect_timeout() -> None:
    async def scenario() -> str:
        async with StandIn(Behaviour(hang_models=True)) as server:
            with pytest.raises(ModelError) as caught:
                await resolve_model([server.url], None, ClientSettings(connect_timeout_s=0.3))
            return str(caught.value)

    started = time.monotonic()
    message = asyncio.run(scenario())
    assert time.monotonic() - started < 3
    assert "/v1/models: no answer within 0.6 s" in message


def test_every_unreachable_replica_is_named() -> None:
    first, second = refused_url(), refused_url()
    with pytest.raises(ModelError) as caught:
        asyncio.run(resolve_model([first, second], None, FAST))
    assert first in str(caught.value) and second in str(caught.value)


def test_only_a_refused_connection_means_no_server() -> None:
    settings = ClientSettings(backoff_base_s=0.01, max_retries=1)
    dropped, _ = asyncio.run(complete_once(Behaviour(failures=["reset", "reset"]), settings))
    assert isinstance(dropped, RequestError) and not dropped.unreachable

    async def refused() -> RequestError:
        nobody = ServedModel("standin", (refused_url(),), None, None, None)
        async with ModelClient(nobody, settings) as client:
            with pytest.raises(RequestError) as caught:
                await client.complete(request())
            return caught.value

    assert asyncio.run(refused()).unreachable


def through_proxy(schedule: Schedule, settings: ClientSettings = FAST) -> Answer | RequestError:
    async def scenario() -> Answer | RequestError:
        async with StandIn() as server:
            with FaultProxy(server.url, schedule) as proxy:
                async with ModelClient(ServedModel("standin", (proxy.url,), None, None, None), settings) as client:
                    try:
                        return await client.complete(request())
                    except RequestError as exc:
                        return exc

    return asyncio.run(scenario())


def test_a_truncated_body_is_retried_then_named() -> None:
    answer = through_proxy(first_attempts(1, TRUNCATE))
    assert isinstance(answer, Answer) and answer.text == "echo: hello"
    error = through_proxy(always(TRUNCATE), ClientSettings(backoff_base_s=0.01, max_retries=1))
    assert isinstance(error, RequestError) and "the response body was cut off" in str(error)


def test_a_key_echoed_across_the_excerpt_cut_is_masked() -> None:
    key = "sk-" + "0123456789abcdef" * 2
    # The echo's "refused Bearer <key>" starts after the padding: put the key's middle at the 300-char cut.
    pad = 300 - len("refused Bearer ") - len(key) // 2
    error = through_proxy(always(echo_headers(400, pad)), ClientSettings(api_key=key))
    assert isinstance(error, RequestError) and "refused Bearer ***" in str(error)
    assert key[:8] not in str(error)
