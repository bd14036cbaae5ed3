from __future__ import annotations

import dataclasses
import multiprocessing
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskbench.errors import TaskbenchError
from taskbench.model.cache import ResponseCache
from taskbench.model.client import Answer, Request

texts = st.text()  # no lone surrogates: sqlite stores UTF-8, and a completion never holds them
answers = st.builds(
    Answer,
    text=texts,
    finish_reason=st.sampled_from(["stop", "length"]),
    prompt_tokens=st.integers(0, 10**6),
    completion_tokens=st.integers(0, 10**6),
    latency_s=st.floats(0, 1e4, allow_nan=False),
    tool_calls=st.none() | texts,
    reasoning=st.none() | texts,
    reasoning_tokens=st.none() | st.integers(1, 10**6),
)
requests = st.builds(
    Request,
    messages=st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), texts), max_size=3).map(tuple),
    max_tokens=st.integers(1, 4096),
    temperature=st.floats(0, 2, allow_nan=False),
    seed=st.none() | st.integers(0, 2**31),
    response_format=st.none() | texts,
    tools=st.none() | texts,
    tool_choice=st.none() | st.sampled_from(["auto", "required"]),
)


def answer(n: int) -> Answer:
    return Answer(f"answer {n}", "stop", n, n + 1, n / 10)


@pytest.fixture
def cache(tmp_path: Path):
    with ResponseCache(tmp_path / "responses.sqlite") as opened:
        yield opened


def test_uses_the_wal_journal(cache: ResponseCache) -> None:
    with sqlite3.connect(cache.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@settings(max_examples=25)  # each example creates a database file
@given(st.lists(st.tuples(st.text(min_size=1), answers), max_size=20))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, items: list[tuple[str, Answer]]) -> None:
    path = tmp_path_factory.mktemp("cache") / "responses.sqlite"
    with ResponseCache(path) as cache:
        cache.put_many(items)
    latest = dict(items)  # a repeated key keeps its last answer
    with ResponseCache(path) as reopened:
        assert reopened.get_many(latest) == latest
        assert len(reopened) == len(latest)


def test_missing_keys_are_absent(cache: ResponseCache) -> None:
    cache.put_many([("a", answer(1))])
    assert cache.get("a") == answer(1)
    assert cache.get("b") is None
    assert cache.get_many(["a", "b", "a"]) == {"a": answer(1)}


def test_put_replaces_an_earlier_answer(cache: ResponseCache) -> None:
    cache.put_many([("a", answer(1))])
    cache.put_many([("a", answer(2))])
    assert cache.get("a") == answer(2) and len(cache) == 1


def test_get_many_reads_more_keys_than_one_statement_binds(cache: ResponseCache) -> None:
    items = [(f"k{n}", answer(n)) for n in range(1_300)]
    cache.put_many(items)
    assert cache.get_many(key for key, _ in items) == dict(items)


def test_a_batch_is_one_transaction(cache: ResponseCache) -> None:
    unstorable = dataclasses.replace(answer(2), text=object())
    with pytest.raises(TaskbenchError, match=r"responses\.sqlite: cannot write the response cache"):
        cache.put_many([("a", answer(1)), ("b", unstorable), ("c", answer(3))])
    assert len(cache) == 0
    cache.put_many([("a", answer(1))])
    assert len(cache) == 1


@given(requests, requests)
def test_key_tells_requests_apart(first: Request, second: Request) -> None:
    assert (ResponseCache.key("model", first) == ResponseCache.key("model", second)) == (first == second)


@given(requests)
def test_key_depends_on_the_model_identity(request: Request) -> None:
    assert ResponseCache.key("model-a", request) != ResponseCache.key("model-b", request)


STORED = 300  # answers in the cache that is then damaged: several pages of its b-tree


def damaged_cache(folder: Path, damage: Callable[[bytes], bytes]) -> tuple[Path, bytes]:
    """A cache of STORED answers, then `damage` done to its file; the path and the damaged bytes."""
    path = folder / "responses.sqlite"
    with ResponseCache(path) as cache:
        cache.put_many((f"key-{n}", Answer(f"answer {n}" * 20, "stop", 1, 1, 0.1)) for n in range(STORED))
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)
    return path, damaged


def assert_moved_aside_and_fresh(cache: ResponseCache, damaged: bytes) -> None:
    """Reading finds nothing; the warning names where the damaged file went, which holds its very bytes; the
    cache is a fresh one that works."""
    assert cache.get_many(f"key-{n}" for n in range(STORED)) == {}
    (warning,) = cache.warnings
    aside = Path(re.search(r"moved aside to (\S+) ", warning).group(1))
    assert aside.read_bytes() == damaged and aside.parent == cache.path.parent
    cache.put_many([("new", Answer("new", "stop", 1, 1, 0.1))])
    assert cache.get("new") is not None and len(cache) == 1


damages = st.one_of(
    st.binary(min_size=1, max_size=20_000).map(lambda noise: lambda _: noise),  # not a database at all
    st.floats(0.0, 0.95).map(lambda kept: lambda data: data[: int(len(data) * kept)]),  # truncated
)


@settings(max_examples=25, deadline=None)
@given(damage=damages)
def test_a_damaged_cache_file_is_moved_aside_and_a_fresh_cache_started(
    tmp_path_factory: pytest.TempPathFactory, damage: Callable[[bytes], bytes]
) -> None:
    path, damaged = damaged_cache(tmp_path_factory.mktemp("cache"), damage)
    with ResponseCache(path) as cache:
        if damaged and not cache.warnings:
            # An empty file, or a truncation that kept whole pages of an intact b-tree: still a sound cache.
            assert set(cache.get_many(f"key-{n}" for n in range(STORED))) <= {f"key-{n}" for n in range(STORED)}
            return
        if cache.warnings:
            assert_moved_aside_and_fresh(cache, damaged)


def test_damage_found_only_on_reading_moves_the_file_aside_then(tmp_path: Path) -> None:
    # The first pages (header, schema) intact: the file opens, and its rows are garbage.
    page = 4096
    path, damaged = damaged_cache(tmp_path, lambda data: data[: 3 * page] + bytes(range(256)) * (len(data) // 256))
    with ResponseCache(path) as cache:
        assert cache.warnings == []
        assert_moved_aside_and_fresh(cache, damaged)


def test_a_cache_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(TaskbenchError, match=r"format 99, this taskbench reads 2"):
        ResponseCache(path)


def test_a_cache_of_format_1_keeps_its_answers_and_gains_tool_calls_and_reasoning(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE answers (key TEXT PRIMARY KEY, text TEXT NOT NULL, finish_reason TEXT NOT NULL, "
            "prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, latency_s REAL NOT NULL, "
            "stored_at REAL NOT NULL) WITHOUT ROWID"
        )
        db.execute("INSERT INTO answers VALUES ('old', 'answer 1', 'stop', 1, 2, 0.1, 0)")
        db.execute("PRAGMA user_version=1")
    thought = Answer("", "tool_calls", 3, 4, 0.2, '[{"name":"list_tasks","arguments":"{}"}]', "hmm", 7)
    with ResponseCache(path) as cache:
        assert cache.get("old") == answer(1)
        cache.put_many([("new", thought)])
    with ResponseCache(path) as reopened:
        assert reopened.get_many(["old", "new"]) == {"old": answer(1), "new": thought}


def _writer(path: Path, first: int, count: int) -> None:
    with ResponseCache(path) as cache:
        for start in range(first, first + count, 50):
            cache.put_many((f"k{n}", answer(n)) for n in range(start, start + 50))


def _reader(path: Path, reads: int) -> None:
    with ResponseCache(path) as cache:
        for _ in range(reads):
            found = cache.get_many(f"k{n}" for n in range(0, 3_000, 7))
            assert all(found[key] == answer(int(key[1:])) for key in found)


def test_processes_reading_while_others_write_do_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    ResponseCache(path).close()
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_writer, args=(path, 0, 1_500)),
        context.Process(target=_writer, args=(path, 1_500, 1_500)),
        context.Process(target=_reader, args=(path, 200)),
        context.Process(target=_reader, args=(path, 200)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    with ResponseCache(path) as cache:
        assert len(cache) == 3_000
        assert cache.get_many(f"k{n}" for n in range(3_000)) == {f"k{n}": answer(n) for n in range(3_000)}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
