"""Where taskbench's own files live. One place, so nothing else computes a path to fixtures/."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

# fixtures/ is the package `taskbench.fixtures` (pyproject.toml maps it), so an editable checkout and an
# installed wheel find it the same way; both install it as plain files, hence a real Path.
FIXTURES = Path(str(resources.files("taskbench.fixtures")))
SCHEMA_DIR = FIXTURES / "schema"
TIERS_DIR = FIXTURES / "tiers"
EPISODES_DIR = FIXTURES / "episodes"
CAPABILITIES_CONFIG = FIXTURES / "capabilities.toml"
TRAINING_SPLIT = FIXTURES / "train" / "train.jsonl"
TIERS = ("dev", "gate", "full")


def tier_path(tier: str) -> Path:
    return TIERS_DIR / f"{tier}.jsonl"


def cache_home() -> Path:
    """Root of taskbench's caches (demo model, responses): $TASKBENCH_HOME, else ~/.cache/taskbench."""
    explicit = os.environ.get("TASKBENCH_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taskbench"
