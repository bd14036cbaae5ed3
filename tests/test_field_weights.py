"""Entity extraction's field weights: read from fixtures/capabilities.toml, recorded in results.json, and runs
scored with other weights refused by compare."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from synthetic_results import synthetic_results
from taskbench.scorers.contract import ENTITY_FIELDS

from taskbench.data.capabilities import load_capability_config
from taskbench.errors import DataError, TaskbenchError
from taskbench.gate.compare import Run, compare_runs
from taskbench.paths import CAPABILITIES_CONFIG
from taskbench.results.comparability import field_weight_difference, field_weights, settings_digest

SHIPPED = CAPABILITIES_CONFIG.read_text(encoding="utf-8")
WEIGHTS_TABLE = "[capabilities.entity_extraction.field_weights]"


def config_with(tmp_path: Path, table: str | None, *, under: str = "entity_extraction") -> Path:
    """The shipped config with entity extraction's weights table replaced by `table` (None: no table), placed
    under the capability `under`."""
    head, _, tail = SHIPPED.partition(WEIGHTS_TABLE)
    rest = tail.split("\n[", 1)[1]
    text = head + "\n[" + rest
    if table is not None:
        text += f"\n[capabilities.{under}.field_weights]\n{table}\n"
    path = tmp_path / "capabilities.toml"
    path.write_text(text, encoding="utf-8")
    return path


def table(**weights: object) -> str:
    return "\n".join(f"{name} = {value!r}" for name, value in weights.items())


ALL_ONE = dict.fromkeys(ENTITY_FIELDS, 1)


def test_the_shipped_weights_cover_every_field_and_are_positive() -> None:
    weights = load_capability_config().field_weights
    assert list(weights) == list(ENTITY_FIELDS)
    assert all(w > 0 for w in weights.values())


def test_without_a_table_every_field_counts_the_same(tmp_path: Path) -> None:
    assert load_capability_config(config_with(tmp_path, None)).field_weights == dict.fromkeys(ENTITY_FIELDS, 1.0)


def test_the_weights_are_read_from_the_file(tmp_path: Path) -> None:
    config = load_capability_config(config_with(tmp_path, table(**{**ALL_ONE, "priority": 5})))
    assert config.field_weights["priority"] == 5.0 and config.field_weights["title"] == 1.0


@pytest.mark.parametrize(
    ("weights", "under", "message"),
    [
        ({k: v for k, v in ALL_ONE.items() if k != "due_time"}, "entity_extraction", "exactly title, new_title"),
        ({**ALL_ONE, "colour": 1}, "entity_extraction", "got title, new_title, .*colour"),
        ({**ALL_ONE, "title": 0}, "entity_extraction", r"field_weights\.title must be a positive number, got 0"),
        ({**ALL_ONE, "title": "high"}, "entity_extraction", r"field_weights\.title must be a positive number"),
        (ALL_ONE, "default_handling", "capabilities.default_handling has unknown keys: field_weights"),
    ],
)
def test_bad_weights_are_one_line_naming_the_file_and_key(
    tmp_path: Path, weights: dict, under: str, message: str
) -> None:
    path = config_with(tmp_path, table(**weights), under=under)
    with pytest.raises(DataError, match=message) as raised:
        load_capability_config(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_results_record_the_weights_and_their_digest_follows_them() -> None:
    results = synthetic_results(per_capability=20)
    assert results["summary"]["capabilities"]["entity_extraction"]["field_weights"] == (
        load_capability_config().field_weights
    )
    assert field_weights(results) == load_capability_config().field_weights
    other = copy.deepcopy(results)
    other["summary"]["capabilities"]["entity_extraction"]["field_weights"]["priority"] = 9.0
    assert settings_digest(other) != settings_digest(results)
    assert field_weight_difference(results, other) == "priority 2 vs 9"
    # A file from before weights were recorded was scored with every field counting the same.
    old = copy.deepcopy(results)
    del old["summary"]["capabilities"]["entity_extraction"]["field_weights"]
    assert field_weights(old) == dict.fromkeys(ENTITY_FIELDS, 1.0)


def test_compare_refuses_runs_scored_with_other_weights() -> None:
    results = synthetic_results(per_capability=20)
    other = copy.deepcopy(results)
    other["summary"]["capabilities"]["entity_extraction"]["field_weights"]["title"] = 1.0
    with pytest.raises(TaskbenchError, match=r"A and B were scored with different .*\(title 3 vs 1\)"):
        compare_runs(Run("A", results), Run("B", other))
    assert compare_runs(Run("A", results), Run("B", copy.deepcopy(results))).common == len(results["items"])
