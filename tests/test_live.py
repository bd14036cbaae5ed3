"""The live model items use (fuzzing), on the HTTP layer only (a stand-in server in its own process): answers
in order across calls that share one loop, client and cache, served from the cache once stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from standin import standin_process

from taskbench.errors import ReplayError
from taskbench.model.client import ServedModel
from taskbench.model.live import LiveModel
from taskbench.options import OPTIONS, Settings

SETTINGS = Settings(**{spec.name: spec.default for spec in OPTIONS})


def test_calls_share_one_session_and_stored_answers_serve_a_replay(tmp_path: Path) -> None:
    cache = tmp_path / "responses.sqlite"
    with standin_process("--model", "demo") as url:
        served = ServedModel("demo", (url,), "/models/demo", 1024, "0.0.0-standin")
        live = LiveModel(SETTINGS, served, served.identity(), cache)
        requests = [live.request(f"task {n}", "2026-11-24") for n in range(5)]
        first = live.answer_many(requests)
        second = live.answer_many(list(reversed(requests)))
        live.close()
        live.close()  # idempotent: the run closes it at session end, whatever happened before
    assert [a.text for a in first] == [f"echo: task {n}" for n in range(5)]
    assert [a.text for a in second] == [a.text for a in reversed(first)]

    offline = LiveModel(SETTINGS, None, served.identity(), cache)
    assert [a.text for a in offline.answer_many(requests)] == [a.text for a in first]
    with pytest.raises(ReplayError, match="holds no answer"):
        offline.answer(offline.request("never asked", "2026-11-24"))
    offline.close()
