"""A pytest plugin for the benchmarks (`-p phases` with benchmarks/ on PYTHONPATH): how long each phase of
a run took, written as JSON to $TASKBENCH_BENCH_PHASES when pytest ends.

    start-up     interpreter, plugins and conftest imports (from the process's start)
    collection   collecting items (taskbench: loading and checking the cases)
    generation   from the end of collection to the first item (taskbench: every answer generated)
    items        running the items
    finish       session end (taskbench: results.json and reports) and the terminal summary
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
import pytest

_PHASES = (
    ("start-up", "start", "collection"),
    ("collection", "collection", "collected"),
    ("generation", "collected", "items"),
    ("items", "items", "finish"),
    ("finish", "finish", "end"),
)
_marks: dict[str, float] = {}


def _mark(name: str) -> None:
    _marks.setdefault(name, time.time())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _marks["start"] = psutil.Process().create_time()


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    _mark("collection")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collected")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    _mark("items")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _mark("finish")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("end")
    target = os.environ.get("TASKBENCH_BENCH_PHASES")
    if not target:
        return
    phases = {name: _marks[end] - _marks[begin] for name, begin, end in _PHASES if begin in _marks and end in _marks}
    Path(target).write_text(json.dumps(phases))
