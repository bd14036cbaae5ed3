"""A pytest plugin for the benchmarks (`-p phases` with benchmarks/ on PYTHONPATH): when each phase of a run
began, as [wall-clock time, process CPU time] pairs written to $TASKBENCH_BENCH_PHASES (JSON) when pytest ends.
bench.run_pytest turns them into the phases below, timing start-up from the moment it spawned the process and
exit up to its end.

    start-up     interpreter, plugins and conftest imports
    collection   collecting items (taskbench: loading and checking the cases)
    generation   from the end of collection to the first item (taskbench: every answer generated)
    items        running the items
    finish       session end (taskbench: results.json and reports) and the terminal summary
    exit         pytest's clean-up and the interpreter's shutdown
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from pathlib import Path

import pytest

MARKS = ("collection", "collected", "items", "finish", "end")
_marks: dict[str, tuple[float, float]] = {}


def _mark(name: str) -> None:
    _marks.setdefault(name, (time.time(), time.process_time()))


# Wrappers: their first half runs before every plain implementation, tryfirst ones included (taskbench
# generates its answers in a tryfirst pytest_collection_finish).
@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    _mark("collection")
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_collection_finish(session: pytest.Session) -> Generator[None, None, None]:
    _mark("collected")
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    _mark("items")
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    _mark("finish")
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("end")
    target = os.environ.get("TASKBENCH_BENCH_PHASES")
    if target:
        Path(target).write_text(json.dumps(_marks))
