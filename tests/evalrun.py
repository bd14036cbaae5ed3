"""Running the real evals/ modules in a pytester folder, as a user would run `pytest evals/`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from taskbench.data.episodes import EPISODES_PATH, load_episodes
from taskbench.paths import SCHEMA_DIR

# The checkout the tests run from: its evals/ and conftest.py are what a user runs.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

RESULTS_SCHEMA = json.loads((SCHEMA_DIR / "results.schema.json").read_text(encoding="utf-8"))
SHIPPED_EPISODES = load_episodes(EPISODES_PATH).episodes
# Requests a run of evals/ sends besides its cases: one per episode turn.
EPISODE_TURNS = sum(len(episode.turns) for episode in SHIPPED_EPISODES)


def copy_evals(pytester: pytest.Pytester, *, fuzz: bool = False) -> list[str]:
    """Copy evals/ into the pytester folder; returns the arguments that select it. The fuzz tests are left
    out unless asked for: they are tested on their own, and every other test would pay for their examples."""
    ignore = None if fuzz else shutil.ignore_patterns("test_fuzz.py")
    shutil.copytree(PROJECT_ROOT / "evals", pytester.path / "evals", dirs_exist_ok=True, ignore=ignore)
    return ["evals", "-p", "no:cacheprovider"]


def latest_results(pytester: pytest.Pytester, output: str = "") -> dict[str, Any]:
    path = pytester.path / "reports" / "latest" / "results.json"
    assert path.is_file(), output[-3000:]
    results = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator(RESULTS_SCHEMA).validate(results)
    return results


def run_evals(pytester: pytest.Pytester, *args: str, fuzz: bool = False) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest_subprocess(*copy_evals(pytester, fuzz=fuzz), *args)
    return result, latest_results(pytester, result.stdout.str() + result.stderr.str())
