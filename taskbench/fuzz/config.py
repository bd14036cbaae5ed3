"""The fuzz config (fixtures/fuzz.toml): each family's capability and level, the batch size, and per
Hypothesis profile the examples and the request budget of each family."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from taskbench.data.capabilities import LEVELS, load_capability_config
from taskbench.errors import DataError
from taskbench.fuzz.families import FAMILY_BY_NAME
from taskbench.paths import FIXTURES

FUZZ_CONFIG = FIXTURES / "fuzz.toml"


@dataclass(frozen=True)
class Placement:
    """Where a family's results count in the capability x level table."""

    capability: str
    level: str


@dataclass(frozen=True)
class Effort:
    """How much one family runs: Hypothesis examples, and the most distinct requests it sends."""

    examples: int
    requests: int


@dataclass(frozen=True)
class FuzzConfig:
    placements: dict[str, Placement]
    batch: int
    profiles: dict[str, Effort]

    def effort(self, profile: str) -> Effort:
        """The effort of a Hypothesis profile; an unlisted profile runs as "default"."""
        return self.profiles.get(profile, self.profiles["default"])


@cache
def load_fuzz_config(path: Path = FUZZ_CONFIG) -> FuzzConfig:
    """Read and check the config; a broken rule is a DataError naming the file and the rule."""
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(where, f"cannot read the fuzz config: {exc}") from None
    capabilities = load_capability_config().names
    default = _placement(where, "defaults", raw.get("defaults"), capabilities)
    tables = raw.get("families", {})
    unknown = sorted(set(tables) - set(FAMILY_BY_NAME))
    if unknown:
        raise DataError(where, f"unknown families {unknown} (known: {', '.join(FAMILY_BY_NAME)})")
    placements = {
        name: _placement(where, f"families.{name}", tables[name], capabilities) if name in tables else default
        for name in FAMILY_BY_NAME
    }
    run = raw.get("run", {})
    batch = run.get("batch")
    if not _positive(batch):
        raise DataError(where, f"run.batch must be a positive integer, got {batch!r}")
    profiles = run.get("profiles", {})
    if "default" not in profiles:
        raise DataError(where, "[run.profiles.default] is missing")
    for name, table in profiles.items():
        if not (
            isinstance(table, dict) and set(table) == {"examples", "requests"} and all(map(_positive, table.values()))
        ):
            raise DataError(where, f"[run.profiles.{name}] must give positive integers examples and requests")
    return FuzzConfig(placements, batch, {name: Effort(**table) for name, table in profiles.items()})


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _placement(where: str, table: str, raw: Any, capabilities: tuple[str, ...]) -> Placement:
    if not isinstance(raw, dict):
        raise DataError(where, f"[{table}] is missing")
    capability, level = raw.get("capability"), raw.get("level")
    if capability not in capabilities:
        raise DataError(where, f"{table}.capability must be one of {', '.join(capabilities)}, got {capability!r}")
    if level not in LEVELS:
        raise DataError(where, f"{table}.level must be one of {', '.join(LEVELS)}, got {level!r}")
    return Placement(capability, level)
