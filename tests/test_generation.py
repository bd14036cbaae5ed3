"""generate(): cache first, the rest concurrently, answers stored as they arrive. Against the stand-in for
the HTTP mechanics, and against real vLLM (the session's demo server) for what matters in the end."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standin import Behaviour, StandIn
from taskbench.scorers.contract import contract_schema

from taskbench.errors import RequestError
from taskbench.model.cache import ResponseCache
from taskbench.model.client import Answer, ClientSettings, ModelClient, Request, ServedModel, resolve_model
from taskbench.model.generation import FLUSH_AT_ANSWERS, GenerationReport, generate

IDENTITY = "standin-model"
FAST = ClientSettings(backoff_base_s=0.01, backoff_max_s=0.05, max_retries=1)


def request(text: str) -> Request:
    return Request.chat([{"role": "user", "content": text}], max_tokens=16)


def requests_for(texts: dict[str, str]) -> dict[str, Request]:
    return {caller: request(text) for caller, text in texts.items()}


def numbered(count: int) -> dict[str, Request]:
    return requests_for({f"case-{n}": f"request {n}" for n in range(count)})


async def run_generate(
    server: StandIn,
    requests: dict[str, Request],
    cache: ResponseCache | None,
    concurrency: int = 16,
    **kwargs,
) -> tuple[dict[str, Answer | RequestError], GenerationReport]:
    served = ServedModel("standin", (server.url,), None, None, None)
    async with ModelClient(served, FAST) as client:
        return await generate(requests, client, cache, IDENTITY, concurrency, **kwargs)


def generate_against(behaviour: Behaviour, requests: dict[str, Request], cache: ResponseCache | None, **kwargs):
    async def scenario():
        async with StandIn(behaviour) as server:
            results, report = await run_generate(server, requests, cache, **kwargs)
            return results, report, server.traffic

    return asyncio.run(scenario())


@pytest.fixture
def cache(tmp_path: Path):
    with ResponseCache(tmp_path / "responses.sqlite") as opened:
        yield opened


def texts_of(results: dict[str, Answer | RequestError]) -> dict[str, str]:
    return {caller: result.text for caller, result in results.items() if isinstance(result, Answer)}


def test_sends_only_what_the_cache_lacks(cache: ResponseCache) -> None:
    requests = numbered(10)
    cache.put_many(
        (ResponseCache.key(IDENTITY, requests[f"case-{n}"]), Answer("cached", "stop", 1, 1, 0.1)) for n in range(3)
    )
    results, report, traffic = generate_against(Behaviour(), requests, cache)
    assert traffic.chat_requests == 7
    assert (report.requested, report.from_cache, report.sent, report.failed) == (10, 3, 7, 0)
    assert texts_of(results) == {f"case-{n}": "cached" if n < 3 else f"echo: request {n}" for n in range(10)}

    again, report, traffic = generate_against(Behaviour(), requests, cache)
    assert traffic.chat_requests == 0 and (report.from_cache, report.sent) == (10, 0)
    assert again == results


def test_another_model_identity_does_not_reuse_answers(cache: ResponseCache) -> None:
    requests = numbered(4)
    cache.put_many(
        (ResponseCache.key("other-model", r), Answer("cached", "stop", 1, 1, 0.1)) for r in requests.values()
    )
    _, report, traffic = generate_against(Behaviour(), requests, cache)
    assert traffic.chat_requests == 4 and report.from_cache == 0


def test_refresh_asks_again_and_overwrites(cache: ResponseCache) -> None:
    requests = numbered(3)
    cache.put_many((ResponseCache.key(IDENTITY, r), Answer("stale", "stop", 1, 1, 0.1)) for r in requests.values())
    results, report, traffic = generate_against(Behaviour(), requests, cache, refresh=True)
    assert traffic.chat_requests == 3 and report.from_cache == 0
    assert cache.get(ResponseCache.key(IDENTITY, requests["case-0"])).text == "echo: request 0"
    assert texts_of(results)["case-0"] == "echo: request 0"


def test_replay_only_returns_what_the_cache_holds(cache: ResponseCache) -> None:
    requests = numbered(5)
    cache.put_many([(ResponseCache.key(IDENTITY, requests["case-1"]), Answer("cached", "stop", 1, 1, 0.1))])
    results, report = asyncio.run(generate(requests, None, cache, IDENTITY, 8))
    assert texts_of(results) == {"case-1": "cached"}
    assert (report.requested, report.from_cache, report.sent, report.failed) == (5, 1, 0, 0)


def test_identical_requests_are_sent_once() -> None:
    requests = requests_for({"a": "same", "b": "same", "c": "other"})
    results, report, traffic = generate_against(Behaviour(), requests, None)
    assert traffic.chat_requests == 2 and report.sent == 2
    assert texts_of(results) == {"a": "echo: same", "b": "echo: same", "c": "echo: other"}


def test_a_failed_request_is_returned_and_the_rest_go_on(cache: ResponseCache) -> None:
    requests = numbered(6)
    results, report, _ = generate_against(Behaviour(failures=["400"]), requests, cache, concurrency=1)
    assert isinstance(results["case-0"], RequestError) and "HTTP 400" in str(results["case-0"])
    assert len(texts_of(results)) == 5 and report.failed == 1
    # Failures are not cached: the next run asks only for that one again.
    _, report, traffic = generate_against(Behaviour(), requests, cache)
    assert traffic.chat_requests == 1 and report.from_cache == 5


@pytest.mark.parametrize("concurrency", [1, 32])
def test_in_flight_reaches_the_concurrency_bound(concurrency: int) -> None:
    _, _, traffic = generate_against(Behaviour(delay_s=0.02), numbered(4 * concurrency), None, concurrency=concurrency)
    assert traffic.max_in_flight == concurrency


def test_progress_counts_caller_ids_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    requests = {**numbered(5), "dup": request("request 0")}
    generate_against(Behaviour(), requests, None, on_progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    assert all(earlier[0] < later[0] for earlier, later in itertools.pairwise(calls))


def test_answers_are_stored_while_the_run_goes_on(cache: ResponseCache) -> None:
    # At every moment at most one unflushed batch is outstanding.
    lag: list[int] = []
    with ResponseCache(cache.path) as observer:

        def progress(done: int, total: int) -> None:
            lag.append(done - len(observer))

        generate_against(Behaviour(delay_s=0.005), numbered(300), cache, concurrency=8, on_progress=progress)
    assert max(lag) <= FLUSH_AT_ANSWERS
    assert len(cache) == 300


def test_an_interrupted_run_keeps_every_answer_it_received(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    received: list[int] = []

    async def scenario() -> None:
        async with StandIn(Behaviour(delay_s=0.01)) as server:
            with ResponseCache(path) as cache:
                run = asyncio.create_task(
                    run_generate(server, numbered(1_000), cache, 8, on_progress=lambda done, _: received.append(done))
                )
                while not received or received[-1] < 100:
                    await asyncio.sleep(0.01)
                run.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await run

    asyncio.run(scenario())
    with ResponseCache(path) as reopened:
        assert 100 <= len(reopened) == received[-1] < 1_000


@settings(max_examples=30, deadline=None)
@given(
    texts=st.dictionaries(st.text(min_size=1, max_size=8), st.sampled_from("abcdefgh"), max_size=12),
    cached=st.sets(st.sampled_from("abcdefgh")),
)
def test_every_caller_gets_the_answer_to_its_own_request(texts: dict[str, str], cached: set[str]) -> None:
    async def scenario(cache: ResponseCache):
        cache.put_many(
            (ResponseCache.key(IDENTITY, request(t)), Answer(f"cached {t}", "stop", 1, 1, 0)) for t in cached
        )
        async with StandIn() as server:
            return *(await run_generate(server, requests_for(texts), cache)), server.traffic

    with ResponseCache(Path(":memory:")) as cache:
        results, report, traffic = asyncio.run(scenario(cache))
    expected = {c: f"cached {t}" if t in cached else f"echo: {t}" for c, t in texts.items()}
    assert texts_of(results) == expected
    sent = set(texts.values()) - cached
    assert report.sent == traffic.chat_requests == len(sent)
    assert report.from_cache == sum(t in cached for t in texts.values())


# Against real vLLM


@pytest.mark.vllm
def test_resolve_model_on_real_vllm(demo_server) -> None:
    from taskbench.demo_model import MAX_MODEL_LEN

    served = asyncio.run(resolve_model([demo_server.url], None, ClientSettings()))
    assert served.name == demo_server.served_name and served.urls == (demo_server.url,)
    assert served.root and served.max_model_len == MAX_MODEL_LEN and served.vllm_version


@pytest.mark.vllm
def test_generate_on_real_vllm(demo_server, cache: ResponseCache) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "task_action", "schema": contract_schema()}}
    requests = {
        f"case-{n}": Request.chat(
            [
                {"role": "system", "content": "Today is Tuesday 2026-11-24. Answer with one Task API JSON action."},
                {"role": "user", "content": f"create a task to call client number {n} tomorrow"},
            ],
            max_tokens=96,
            seed=0,
            response_format=schema if n % 2 else None,
        )
        for n in range(50)
    }

    async def run(cache: ResponseCache):
        served = await resolve_model([demo_server.url], None, ClientSettings())
        async with ModelClient(served, ClientSettings()) as client:
            return await generate(requests, client, cache, served.identity(), 64)

    results, report = asyncio.run(run(cache))
    assert (report.sent, report.failed) == (50, 0)
    assert all(isinstance(r, Answer) and r.completion_tokens > 0 for r in results.values())
    for n in range(1, 50, 2):  # constrained decoding: a finished answer is always a JSON object
        answer = results[f"case-{n}"]
        if answer.finish_reason == "stop":
            assert isinstance(json.loads(answer.text), dict)

    again, report = asyncio.run(run(cache))
    assert (report.from_cache, report.sent) == (50, 0) and again == results


def test_a_dropped_connection_fails_its_request_and_the_rest_go_on() -> None:
    # A server that drops one request's connection is still there: the run must not be abandoned.
    results, report, _ = generate_against(Behaviour(failures=["reset", "reset"]), numbered(6), None, concurrency=1)
    assert isinstance(results["case-0"], RequestError) and "Server disconnected" in str(results["case-0"])
    assert len(texts_of(results)) == 5 and report.failed == 1
