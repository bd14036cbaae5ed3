"""When two runs' scores can be set side by side: the same dataset, scored and generated the same way.

A run's *dataset version* is the content hash of the cases it ran. Its *scoring settings* are what turns the same
answers into other numbers (the capability weights of the aggregate, entity extraction's field weights) and what
makes the same model give other answers (the decoding settings). Runs that differ in either are not comparable:
`taskbench history` marks them, `taskbench compare` refuses other field weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from taskbench.data.capabilities import FIELD_WEIGHTED
from taskbench.scorers.contract import ENTITY_FIELDS

# The settings that shape an answer (as the gate's baselines compare them).
DECODING_KEYS = ("temperature", "max_tokens", "seed", "structured_outputs", "samples")
DIGEST_LENGTH = 12


def dataset_version(results: Mapping[str, Any]) -> str:
    return results["dataset"]["content_hash"][:DIGEST_LENGTH]


def field_weights(results: Mapping[str, Any]) -> dict[str, float]:
    """Entity extraction's field weights a run was scored with; files from before weights were recorded counted
    every field the same."""
    cell = results["summary"]["capabilities"].get(FIELD_WEIGHTED) or {}
    return dict(cell.get("field_weights") or dict.fromkeys(ENTITY_FIELDS, 1.0))


def scoring_settings(results: Mapping[str, Any]) -> dict[str, Any]:
    config = results.get("config") or {}
    return {
        "capability_weights": {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()},
        "field_weights": field_weights(results),
        "decoding": {key: config.get(key) for key in DECODING_KEYS},
    }


def settings_digest(results: Mapping[str, Any]) -> str:
    """A short hash of the run's scoring settings: equal digests, scores made and weighed the same way."""
    canonical = json.dumps(scoring_settings(results), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]


def field_weight_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """How the two runs' field weights differ ("title 3 vs 1, ..."), or None when they are the same."""
    weights_a, weights_b = field_weights(a), field_weights(b)
    changed = [
        f"{name} {_weight(weights_a.get(name))} vs {_weight(weights_b.get(name))}"
        for name in dict.fromkeys([*weights_a, *weights_b])
        if weights_a.get(name) != weights_b.get(name)
    ]
    return ", ".join(changed) or None


def _weight(weight: float | None) -> str:
    return "none" if weight is None else f"{weight:g}"
