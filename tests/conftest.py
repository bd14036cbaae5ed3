"""Shared fixtures: pytester for plugin tests, and ONE real vLLM server (the demo model) for the session."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskbench.model.server import VllmServer
from taskbench.paths import cache_home

pytest_plugins = ["pytester"]

# pytester points HOME at each test's folder; the demo model and caches must stay where they were built.
os.environ.setdefault("TASKBENCH_HOME", str(cache_home()))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vllm: needs a real vLLM server (the session's demo_server, ~1 min to start)")


@dataclass(frozen=True)
class DemoServer:
    url: str
    served_name: str
    server: VllmServer


@pytest.fixture(scope="session")
def vllm_installed() -> None:
    # A missing vLLM fails loudly: scripts/setup.sh installs it, and a skipped integration test is a silent pass.
    if importlib.util.find_spec("vllm") is None:  # find_spec, not import: importing vLLM takes seconds
        pytest.fail("vLLM is not installed: run scripts/setup.sh", pytrace=False)


@pytest.fixture(scope="session")
def demo_model_dir(vllm_installed: None) -> Path:
    """The demo model's weights, built on first use (minutes) and cached afterwards."""
    from taskbench.demo_model import ensure_demo_model

    return Path(ensure_demo_model())


@pytest.fixture(scope="session")
def demo_server(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    from taskbench.demo_model import SERVED_NAME, demo_model_server

    with demo_model_server(tmp_path_factory.mktemp("vllm") / "vllm.log") as server:
        yield DemoServer(server.url, SERVED_NAME, server)
