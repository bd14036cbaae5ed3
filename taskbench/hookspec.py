"""Hooks taskbench adds to pytest: the seams other plugins (the gate, a user's own) attach to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.hookspec
def pytest_taskbench_results(session: pytest.Session, results: dict[str, Any], run_dir: Path) -> None:
    """Called on the controller (or a serial run) once results.json and the reports are written.

    `results` is the parsed content of results.json. An implementation may set `session.exitstatus`
    (the gate does) but must not change `results`.
    """
