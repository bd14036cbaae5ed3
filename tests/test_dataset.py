"""The shipped tiers and training split: they load, they are reproducible, and they keep their rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskbench.cli import main
from taskbench.data.capabilities import LEVELS, load_capability_config
from taskbench.data.cases import Case, Dataset, load_cases, load_tier
from taskbench.datagen import commands
from taskbench.datagen.catalog import Coded
from taskbench.datagen.handwritten import GROUPS
from taskbench.datagen.tiers import (
    DEFAULT_SEED,
    POOLS,
    TIER_SIZES,
    build_tiers,
    case_titles,
    check_dataset,
    check_disjoint,
    check_mix,
    check_nesting,
    level_counts,
    load_training_split,
    output_paths,
    source_name,
)
from taskbench.datagen.training import TRAIN_POOLS
from taskbench.datagen.vocab import EVAL, TRAIN
from taskbench.errors import DataError
from taskbench.model.prompts import ANSWER_KEY_ORDER
from taskbench.paths import FIXTURES, TIERS

CONTEXT_REQUIRED = [
    (capability, level)
    for capability in ("action_recognition", "entity_extraction", "edge_cases")
    for level in ("complex", "adversarial")
]


@pytest.fixture(scope="module")
def config():
    return load_capability_config()


@pytest.fixture(scope="module")
def tiers(config) -> dict[str, Dataset]:
    return {tier: load_tier(tier, config) for tier in TIERS}


@pytest.fixture(scope="module")
def training(config) -> Dataset:
    return load_training_split(config=config)


def test_shipped_files_load(tiers: dict[str, Dataset], training: Dataset, config) -> None:
    for tier, data in tiers.items():
        assert len(data.cases) == TIER_SIZES[tier] * len(config.names)
    assert 5000 <= len(training.cases) <= 7000


def test_regenerating_with_the_default_seed_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dataset", "generate", "--seed", str(DEFAULT_SEED), "--out", str(tmp_path)]) == 0
    assert "full:  1000 cases" in capsys.readouterr().out
    shipped = output_paths(FIXTURES)
    for name, path in output_paths(tmp_path).items():
        assert path.read_bytes() == shipped[name].read_bytes(), f"{name} differs from {shipped[name]}"


def test_another_seed_gives_other_cases(tiers: dict[str, Dataset]) -> None:
    assert build_tiers(DEFAULT_SEED + 1)["dev"] != tiers["dev"].cases


def test_tiers_nest(tiers: dict[str, Dataset]) -> None:
    assert check_nesting(tiers) == []
    for smaller, bigger in (("dev", "gate"), ("gate", "full")):
        inside = {case.id: case for case in tiers[bigger].cases}
        assert all(inside.get(case.id) == case for case in tiers[smaller].cases)


def test_nesting_check_catches_a_changed_case(tiers: dict[str, Dataset]) -> None:
    changed = dataclasses.replace(tiers["dev"].cases[0], input="something else")
    dev = dataclasses.replace(tiers["dev"], cases=(changed, *tiers["dev"].cases[1:]))
    problems = check_nesting({"dev": dev, "gate": tiers["gate"]})
    assert len(problems) == 1 and changed.id in problems[0]


def test_mix_is_exact_per_capability_and_level(tiers: dict[str, Dataset], config) -> None:
    for tier, data in tiers.items():
        counts = Counter((case.capability, case.level) for case in data.cases)
        expected = level_counts(TIER_SIZES[tier], config)
        assert {(c, lv): counts[c, lv] for c in config.names for lv in LEVELS} == {
            (c, lv): expected[lv] for c in config.names for lv in LEVELS
        }
        assert check_mix(tier, data, config) == []


def test_mix_check_names_a_missing_level(tiers: dict[str, Dataset], config) -> None:
    dev = tiers["dev"]
    without = dataclasses.replace(dev, cases=tuple(c for c in dev.cases if c.level != "adversarial"))
    problems = check_mix("dev", without, config)
    assert any(p.startswith("coverage: dev has no edge_cases case at level adversarial") for p in problems)


@given(per_capability=st.integers(min_value=1, max_value=2000))
def test_level_counts_sum_exactly_and_stay_within_one_of_the_share(per_capability: int) -> None:
    config = load_capability_config()
    counts = level_counts(per_capability, config)
    assert sum(counts.values()) == per_capability
    assert all(abs(counts[lv] - per_capability * config.level_mix[lv]) < 1 for lv in LEVELS)


def test_training_split_is_disjoint_from_the_tiers(tiers: dict[str, Dataset], training: Dataset) -> None:
    assert check_disjoint(tiers, training) == []
    assert not EVAL.titles_in_use() & TRAIN.titles_in_use()


def test_disjointness_check_catches_a_shared_input(tiers: dict[str, Dataset], training: Dataset) -> None:
    leaked = dataclasses.replace(training.cases[0], input=tiers["full"].cases[5].input)
    problems = check_disjoint(tiers, dataclasses.replace(training, cases=(leaked,)))
    assert problems and problems[0].startswith("disjointness:")


def test_whole_dataset_check_passes(tiers: dict[str, Dataset], training: Dataset, config) -> None:
    assert check_dataset(tiers, training, config) == []


@pytest.mark.parametrize(("capability", "level"), CONTEXT_REQUIRED)
def test_every_tier_has_context_cases_where_required(tiers: dict[str, Dataset], capability: str, level: str) -> None:
    for tier, data in tiers.items():
        found = [c for c in data.cases if (c.capability, c.level) == (capability, level) and c.context]
        assert found, f"{tier} has no {capability} x {level} case with context"


def test_ids_are_stable_and_readable(tiers: dict[str, Dataset], training: Dataset) -> None:
    for case in tiers["full"].cases:
        assert re.fullmatch(rf"{case.capability}-{case.level}-\d{{4}}", case.id)
    assert [c.id for c in training.cases] == [f"train-{n:05d}" for n in range(1, len(training.cases) + 1)]


def test_answers_keep_the_contract_key_order(tiers: dict[str, Dataset], training: Dataset) -> None:
    for case in (*tiers["full"].cases, *training.cases):
        keys = list(case.expected)
        assert keys == sorted(keys, key=ANSWER_KEY_ORDER.index), case.origin


def test_every_hand_written_case_is_shipped(tiers: dict[str, Dataset]) -> None:
    shipped = {(c.template, c.input) for c in tiers["full"].cases}
    for group in GROUPS.values():
        assert group.cases, f"hand-written group {group.name} is empty"
        for case in group.cases:
            assert (group.name, case.input) in shipped, f"{group.name}: {case.input!r} is not in the full tier"


def test_each_source_name_means_one_source() -> None:
    # The name is the case's `template` field and keys a pool's shared stream: it must be unambiguous.
    by_name: dict[str, set[int]] = {}
    pools = [(*pool.gate, *pool.full) for pool in POOLS.values()] + list(TRAIN_POOLS.values())
    for sources in pools:
        for source in sources:
            key = id(source.make) if isinstance(source, Coded) else id(source)
            by_name.setdefault(source_name(source), set()).add(key)
    assert {name for name, ids in by_name.items() if len(ids) > 1} == set()


def test_small_tiers_get_hand_written_cases(tiers: dict[str, Dataset]) -> None:
    assert {c.template for c in tiers["dev"].cases} & set(GROUPS)


def test_reference_dates_spread_over_three_years(tiers: dict[str, Dataset]) -> None:
    dates = [dt.date.fromisoformat(c.reference_date) for c in tiers["full"].cases]
    assert {d.year for d in dates} == {2026, 2027, 2028}
    assert len(set(dates)) > 500


def _has(cases: tuple[Case, ...], predicate) -> bool:
    return any(predicate(c) for c in cases)


def test_boundaries_are_covered(tiers: dict[str, Dataset]) -> None:
    full = tiers["full"].cases
    assert _has(full, lambda c: c.reference_date == "2028-02-28" and c.expected.get("due_date") == "2028-02-29")
    assert _has(full, lambda c: c.reference_date.endswith("-12-31") and "tomorrow" in c.input)
    assert _has(full, lambda c: "yesterday" in c.input and c.expected.get("due_date", "9") < c.reference_date)
    assert _has(full, lambda c: c.expected.get("due_time") == "00:00" and "midnight" in c.input)
    assert _has(full, lambda c: len(c.expected.get("title", "")) > 200)
    assert _has(full, lambda c: len(c.expected.get("title", "").split()) == 1)
    assert _has(full, lambda c: not c.input.strip())
    assert _has(full, lambda c: '"' in c.expected.get("title", "") and "{" in c.expected.get("title", ""))


def test_every_action_is_expected_in_every_tier(tiers: dict[str, Dataset]) -> None:
    actions = {"create", "complete", "delete", "update", "list", "clarify"}
    for data in tiers.values():
        assert {c.expected["action"] for c in data.cases} == actions


def test_training_split_teaches_the_contract_in_short_examples(training: Dataset) -> None:
    cases = training.cases
    assert statistics.mean(len(c.input.split()) for c in cases) < 15
    actions = Counter(c.expected["action"] for c in cases)
    assert set(actions) == {"create", "complete", "delete", "update", "list", "clarify"}
    assert sum(1 for c in cases if (c.context or {}).get("tasks")) > 100
    assert sum(1 for c in cases if (c.context or {}).get("history")) > 50
    levels = Counter(c.level for c in cases)
    assert levels["simple"] > levels["moderate"] > levels["complex"] > levels["adversarial"] > 0
    assert {c.template for c in cases} >= {"tr_ec_bulk", "gibberish", "tr_ar_switch_delete", "tr_dh_new_one"}


def test_case_titles_include_context_and_history(tiers: dict[str, Dataset]) -> None:
    with_history = next(c for c in tiers["full"].cases if (c.context or {}).get("history"))
    titles = case_titles(with_history)
    assert {t["title"] for t in with_history.context["tasks"]} <= titles
    assert with_history.context["history"][0]["assistant"]["title"] in titles


# --- the loader refuses broken files, naming file:line -------------------------------------

GOOD = {
    "id": "x-1",
    "capability": "action_recognition",
    "level": "simple",
    "input": "add a task to water the plants",
    "reference_date": "2026-11-24",
    "expected": {
        "action": "create",
        "title": "Water the plants",
        "priority": "medium",
        "due_date": None,
        "due_time": None,
    },
    "rationale": "explicit create",
    "template": "test",
}


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


BROKEN_SECOND_LINES = {
    "bad JSON": ('{"id": "x-2", ', "not valid JSON"),
    "missing field": (json.dumps(_without({**GOOD, "id": "x-2"}, "rationale")), "'rationale' is a required property"),
    "unknown capability": (json.dumps({**GOOD, "id": "x-2", "capability": "telepathy"}), "unknown capability"),
    "unknown level": (json.dumps({**GOOD, "id": "x-2", "level": "nightmare"}), "level"),
    "duplicate id": (json.dumps(GOOD), "duplicate case id 'x-1' (first on line 1)"),
    "expected breaks the contract": (
        json.dumps({**GOOD, "id": "x-2", "expected": {"action": "create", "title": "No dates"}}),
        "expected answer breaks the contract",
    ),
    "bad accept value": (
        json.dumps({**GOOD, "id": "x-2", "accept": {"priority": ["sky-high"]}}),
        "accept.priority value 'sky-high' breaks the contract",
    ),
}


@pytest.mark.parametrize("variant", sorted(BROKEN_SECOND_LINES))
def test_broken_file_is_a_data_error_naming_file_and_line(tmp_path: Path, variant: str) -> None:
    line, message = BROKEN_SECOND_LINES[variant]
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as raised:
        load_cases(path)
    assert raised.value.where == f"{path}:2"
    assert message in raised.value.problem


def test_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert load_cases(path).cases[0].expected == GOOD["expected"]


# --- the `taskbench dataset` command ------------------------------------------------------


def test_cli_stats_prints_a_table_with_totals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "stats", "dev"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^action_recognition\s+8\s+6\s+4\s+2\s+20$", out, re.MULTILINE)
    assert re.search(r"^total\s+40\s+30\s+20\s+10\s+100$", out, re.MULTILINE)


def test_cli_stats_rejects_an_unknown_tier(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "stats", "huge"]) == 2
    assert "huge: no such tier" in capsys.readouterr().err


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch, tiers: dict[str, Dataset], training: Dataset) -> None:
    """The command reads the module's already-loaded files instead of parsing them again."""
    monkeypatch.setattr(commands, "load_tier", lambda tier, config: tiers[tier])
    monkeypatch.setattr(commands, "load_training_split", lambda config: training)


@pytest.mark.usefixtures("loaded")
def test_cli_check_passes_on_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "check"]) == 0
    assert "dataset check: ok" in capsys.readouterr().out


@pytest.mark.usefixtures("loaded")
def test_cli_check_fails_naming_the_rule(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiers: dict[str, Dataset], training: Dataset
) -> None:
    leaked = dataclasses.replace(training.cases[0], input=tiers["dev"].cases[0].input)
    monkeypatch.setattr(commands, "load_training_split", lambda config: dataclasses.replace(training, cases=(leaked,)))
    assert main(["dataset", "check"]) == 1
    assert "disjointness:" in capsys.readouterr().out
