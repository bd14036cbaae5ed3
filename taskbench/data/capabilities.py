"""The capability config (fixtures/capabilities.toml): capabilities, weights, level mix."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from taskbench.errors import DataError
from taskbench.paths import CAPABILITIES_CONFIG
from taskbench.scorers.contract import ENTITY_FIELDS

LEVELS = ("simple", "moderate", "complex", "adversarial")
# The one capability whose partial credit weighs its fields (taskbench.scorers.score_case's field_weights).
FIELD_WEIGHTED = "entity_extraction"


@dataclass(frozen=True)
class Capability:
    name: str
    weight: float
    description: str
    field_weights: dict[str, float] | None = None  # FIELD_WEIGHTED only; None: every field counts the same


@dataclass(frozen=True)
class CapabilityConfig:
    capabilities: tuple[Capability, ...]
    level_mix: dict[str, float]
    source: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.capabilities)

    @property
    def weights(self) -> dict[str, float]:
        return {c.name: c.weight for c in self.capabilities}

    @property
    def field_weights(self) -> dict[str, float]:
        """Entity extraction's weight per contract field: what score_case is given and results.json records."""
        configured = next((c.field_weights for c in self.capabilities if c.name == FIELD_WEIGHTED), None)
        return dict(configured) if configured is not None else dict.fromkeys(ENTITY_FIELDS, 1.0)


def load_capability_config(path: Path = CAPABILITIES_CONFIG) -> CapabilityConfig:
    """Read and check the config; any broken rule is a DataError naming the file and the rule."""
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(where, f"cannot read the capability config: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(where, f"not valid TOML: {exc}") from None

    levels = raw.get("levels")
    if not isinstance(levels, dict) or set(levels) != set(LEVELS):
        raise DataError(where, f"[levels] must give a share for exactly these levels: {', '.join(LEVELS)}")
    for level, share in levels.items():
        if not _is_number(share) or not 0 < share < 1:
            raise DataError(where, f"levels.{level} must be a number between 0 and 1, got {share!r}")
    if not math.isclose(sum(levels.values()), 1.0, abs_tol=1e-9):
        raise DataError(where, f"level shares must sum to 1, they sum to {sum(levels.values()):.6g}")

    table = raw.get("capabilities")
    if not isinstance(table, dict) or not table:
        raise DataError(where, "needs a [capabilities.NAME] table for each capability")
    capabilities = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise DataError(where, f"capabilities.{name} must be a table with weight and description")
        unknown = set(spec) - {"weight", "description", *(["field_weights"] if name == FIELD_WEIGHTED else [])}
        if unknown:
            raise DataError(where, f"capabilities.{name} has unknown keys: {', '.join(sorted(unknown))}")
        weight = spec.get("weight")
        if not _is_number(weight) or not 0 < weight <= 1:
            raise DataError(where, f"capabilities.{name}.weight must be a number in (0, 1], got {weight!r}")
        description = spec.get("description")
        if not isinstance(description, str) or not description.strip():
            raise DataError(where, f"capabilities.{name}.description must be a non-empty string")
        field_weights = _field_weights(where, name, spec["field_weights"]) if "field_weights" in spec else None
        capabilities.append(Capability(name, float(weight), description.strip(), field_weights))
    total = sum(c.weight for c in capabilities)
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise DataError(where, f"capability weights must sum to 1, they sum to {total:.6g}")
    return CapabilityConfig(tuple(capabilities), {k: float(v) for k, v in levels.items()}, where)


def _field_weights(where: str, name: str, table: object) -> dict[str, float]:
    # Every field named, none unknown: a field left out would silently count as much as it did before.
    if not isinstance(table, dict) or set(table) != set(ENTITY_FIELDS):
        given = ", ".join(table) if isinstance(table, dict) else repr(table)
        raise DataError(
            where,
            f"capabilities.{name}.field_weights must give a weight for exactly {', '.join(ENTITY_FIELDS)} "
            f"(got {given})",
        )
    for field, weight in table.items():
        if not _is_number(weight) or weight <= 0:
            raise DataError(
                where, f"capabilities.{name}.field_weights.{field} must be a positive number, got {weight!r}"
            )
    return {field: float(table[field]) for field in ENTITY_FIELDS}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
