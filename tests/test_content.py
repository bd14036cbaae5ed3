"""What the shipped tiers are made of: templates, not copies; levels earned; natural phrasing in a training
split of its own wording; every reading a date phrase allows; the dataset version the gate checks."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from synthetic_results import synthetic_results
from taskbench.scorers.contract import FILTERS

from taskbench.data.capabilities import LEVELS, load_capability_config
from taskbench.data.cases import Case, Dataset, load_tier
from taskbench.datagen import DATASET_VERSION
from taskbench.datagen import templates as t
from taskbench.datagen.catalog import TIER_POOLS, template_table
from taskbench.datagen.content import CLOSINGS, GREETINGS, content_stats, duplicate_requests, normalise_request
from taskbench.datagen.handwritten import GROUPS, HandGroup
from taskbench.datagen.patterns import Pattern
from taskbench.datagen.readings import date_readings, other_readings
from taskbench.datagen.tiers import load_training_split
from taskbench.datagen.training import TRAIN_POOLS
from taskbench.datagen.vocab import EVAL
from taskbench.dates import DateForm, DatePhrase, TimeForm, TimePhrase
from taskbench.gate.baseline import Identity, incompatibilities, load_baseline, run_identity, save_baseline
from taskbench.model.prompts import (
    ANSWER_KEY_ORDER,
    DEFAULT_SYSTEM_PROMPT,
    PROMPTS_DIR,
    render_system_prompt,
    system_prompt_path,
)
from taskbench.options import OPTIONS_BY_NAME
from taskbench.paths import TIERS
from taskbench.reports.markdown import render_markdown

ACTIONS = ("create", "complete", "delete", "update", "list", "clarify")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cases.md"
# Templates with no wording of their own (random letters, blank input, look-alike characters in the
# vocabulary's bulk deletes): the training split may share them.
WORDLESS = {"empty_input", "gibberish", "unicode_bulk_delete"}
# Everyday three-word phrases are grammar, not a template's wording.
COMMON_TRIGRAMS = {"i need to", "what do i", "do i have", "no need to", "on my list", "what have i", "have i got"}
COMMON_TRIGRAMS |= {"what is on"}


@pytest.fixture(scope="module")
def tiers() -> dict[str, Dataset]:
    config = load_capability_config()
    return {tier: load_tier(tier, config) for tier in TIERS}


@pytest.fixture(scope="module")
def training() -> Dataset:
    return load_training_split()


# --- templates, not copies ---------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "per_capability", "per_level"), [("gate", 30, 8), ("full", 60, 8)])
def test_each_tier_draws_on_enough_templates(tiers: dict[str, Dataset], tier: str, per_capability: int, per_level: int):
    stats = content_stats(tiers[tier])
    for capability, count in stats.templates_per_capability.items():
        assert count >= per_capability, f"{tier}: {capability} has {count} templates"
    thin = {cell: n for cell, n in stats.templates.items() if n < per_level}
    assert not thin, f"{tier}: capability x level cells with fewer than {per_level} templates: {thin}"


def test_the_full_tier_adds_templates_not_only_cases(tiers: dict[str, Dataset]) -> None:
    gate, full = (content_stats(tiers[name]) for name in ("gate", "full"))
    for capability, count in gate.templates_per_capability.items():
        assert full.templates_per_capability[capability] >= count + 20
    assert full.clusters > gate.clusters


@pytest.mark.parametrize("tier", TIERS)
def test_no_request_repeats_within_a_tier(tiers: dict[str, Dataset], tier: str) -> None:
    repeats = [[case.id for case in group] for group in duplicate_requests(tiers[tier].cases)]
    assert repeats == []


def test_the_duplicate_check_sees_through_greetings_and_punctuation(tiers: dict[str, Dataset]) -> None:
    case = next(c for c in tiers["dev"].cases if not c.context and c.input.strip())
    copy = Case(**{**case.to_record(), "id": "copy", "input": f"Hey, {case.input.upper()}!! thanks"})
    assert [[c.id for c in group] for group in duplicate_requests([case, copy])] == [[case.id, "copy"]]


_WORDS = st.sampled_from(["buy", "milk", "call", "the", "dentist", "move", "report", "to", "friday", "3pm"])


@given(
    words=st.lists(_WORDS, min_size=1, max_size=6),
    greeting=st.sampled_from(["", *GREETINGS]),
    closing=st.sampled_from(["", *CLOSINGS]),
    punctuation=st.sampled_from(["", "!", "?", "...", ","]),
    upper=st.booleans(),
)
def test_normalising_ignores_case_punctuation_greetings_and_closings(
    words: list[str], greeting: str, closing: str, punctuation: str, upper: bool
) -> None:
    request = " ".join(words)
    typed = f"{greeting}, {request}{punctuation} {closing}"
    typed = typed.upper() if upper else typed
    assert normalise_request(typed) == normalise_request(request) == request
    assert normalise_request(normalise_request(typed)) == normalise_request(typed)


def test_a_request_of_only_symbols_is_itself() -> None:
    assert normalise_request("?") != normalise_request("??") != normalise_request("")


# --- levels earned -------------------------------------------------------------------------------


def _tier_sources():
    for (capability, level), pool in TIER_POOLS.items():
        for source in (*pool.gate, *pool.full):
            yield capability, level, source


def test_no_template_feeds_two_levels(tiers: dict[str, Dataset]) -> None:
    levels: dict[str, set[str]] = defaultdict(set)
    for capability, level, source in _tier_sources():
        levels[source.name].add(level)
        if isinstance(source, HandGroup):
            assert {c.level for c in source.cases if c.capability == capability} == {level}, source.name
        else:
            assert source.level == level, f"{source.name} declares {source.level} but feeds {level}"
    assert {name: found for name, found in levels.items() if len(found) > 1} == {}
    for data in tiers.values():
        assert max(content_stats(data).levels_per_template.values()) == 1


def test_every_template_says_what_earns_its_level() -> None:
    assert all(source.hard.strip() for _, _, source in _tier_sources())


def test_docs_list_every_template_with_its_level() -> None:
    assert template_table() in DOCS.read_text(encoding="utf-8"), (
        "docs/cases.md is out of date: paste the output of `taskbench dataset templates`"
    )


# --- natural phrasing in a training split of its own wording -------------------------------------------


def _skeleton(wording: str) -> str:
    return normalise_request(re.sub(r"\{\w+\}", " slot ", wording))


def _trigrams(skeleton: str) -> set[str]:
    found = set()
    for part in skeleton.split("slot"):
        words = part.split()
        found |= {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
    return found - COMMON_TRIGRAMS


def _tier_wordings() -> list[str]:
    patterns = [w for _, _, s in _tier_sources() if isinstance(s, Pattern) for w in s.wordings]
    tables = [
        t.CREATE_EXPLICIT,
        t.CREATE_IMPLICIT,
        t.COMPLETE_EXPLICIT,
        t.COMPLETE_IMPLICIT,
        t.DELETE_EXPLICIT,
        t.DELETE_IMPLICIT,
        t.MOVE_VERBS,
        t.PRIORITY_CHANGES,
        t.RENAME_VERBS,
        *t.LIST_EXPLICIT.values(),
        *t.LIST_IMPLICIT.values(),
        t.THAT_ONE_DONE,
        t.KEYWORD_DONE,
        t.KEYWORD_MOVE,
        t.KEYWORD_DELETE,
        t.JUST_ADDED_DELETE,
        t.CHATTY_OPENINGS,
        t.FORMAT_BAIT,
        t.MISSING_TASK,
    ]
    return patterns + [wording for table in tables for wording in table]


def test_training_wordings_are_disjoint_from_the_tiers() -> None:
    tier = _tier_wordings()
    skeletons = {_skeleton(w) for w in tier if _skeleton(w).replace("slot", "").strip()}
    trigrams = set().union(*(_trigrams(_skeleton(w)) for w in tier))
    shared = []
    for sources in TRAIN_POOLS.values():
        for source in sources:
            for wording in source.wordings if isinstance(source, Pattern) else ():
                if _skeleton(wording) in skeletons or _trigrams(_skeleton(wording)) & trigrams:
                    shared.append((source.name, wording))
    assert shared == []


def test_the_disjointness_check_catches_a_copied_wording() -> None:
    copied = next(w for _, _, s in _tier_sources() if isinstance(s, Pattern) for w in s.wordings if "{t}" in w)
    assert _skeleton(copied.replace("{t}", "{m}")) in {_skeleton(w) for w in _tier_wordings()}


def test_training_templates_are_its_own(training: Dataset, tiers: dict[str, Dataset]) -> None:
    tier_templates = {case.template for case in tiers["full"].cases}
    assert {case.template for case in training.cases} & tier_templates <= WORDLESS


def test_unseen_verbs_never_meet_their_action_in_training(training: Dataset) -> None:
    unseen = {(s.new_verb, s.action) for _, _, s in _tier_sources() if isinstance(s, Pattern) and s.new_verb}
    assert len(unseen) >= 4
    for verb, action in unseen:
        pattern = re.compile(rf"\b{verb}(?:s|es|ed|d|ted|ting|ing)?\b", re.IGNORECASE)
        met = [c.id for c in training.cases if c.expected["action"] == action and pattern.search(c.input)]
        assert met == [], f"training pairs '{verb}' with {action}: {met[:3]}"


def test_tiers_hold_requests_the_way_people_type_them(tiers: dict[str, Dataset]) -> None:
    inputs = [case.input for case in tiers["gate"].cases]
    assert sum(1 for text in inputs if text and text == text.lower() and not re.search(r"[.,!?']", text)) > 150
    for shorthand in (r"\bu\b", r"\bgotta\b", r"\bwhats\b", r"\bpls\b", r"\btmrw\b"):
        assert any(re.search(shorthand, text) for text in inputs), shorthand
    assert any(text.endswith("?") and len(text.split()) <= 3 for text in inputs)  # fragments: "overdue?"
    loose = [c for c in tiers["gate"].cases if re.search(r"\b(thing|one|stuff)\b", c.input) and c.context]
    assert len(loose) >= 10  # "the dentist thing" for "Dentist appointment"


# --- artefacts -----------------------------------------------------------------------------------------------


def test_no_artefacts_a_user_would_never_type(tiers: dict[str, Dataset]) -> None:
    for case in tiers["full"].cases:
        text = case.input.lower()
        assert not re.match(r"(so|ok) (list|delete|complete|remove|mark|create|add)\b", text), case.id
        assert not re.match(r"(hey|hi)!?,? (complete|delete|remove|mark)\b", text), case.id
        assert not re.search(r"^so .* for me$", text), case.id
        assert not re.search(r"by the end of today at", text), case.id
        assert not re.search(r"tonight at ([1-9]|1[01])(:\d\d)?am", text), case.id
        assert not re.search(r"\ba (update|action|item|open|event)\b", case.rationale), case.id
    newline = [c for c in tiers["full"].cases if c.template == "newline_title"]
    assert newline and all(c.input.count("\n") <= 2 and c.accept for c in newline)


# --- every reading a date phrase allows ------------------------------------------------------------------------

SUNDAY, FRIDAY, TUESDAY = dt.date(2026, 11, 29), dt.date(2026, 11, 27), dt.date(2026, 11, 24)
READINGS = [
    ("today", TUESDAY, ["2026-11-24"]),
    ("tonight", SUNDAY, ["2026-11-29"]),
    ("tomorrow", FRIDAY, ["2026-11-28"]),
    ("yesterday", SUNDAY, ["2026-11-28"]),
    ("Friday", TUESDAY, ["2026-11-27"]),
    ("by Friday", FRIDAY, ["2026-12-04"]),
    ("this Friday", TUESDAY, ["2026-11-27"]),
    ("this Friday", FRIDAY, ["2026-12-04", "2026-11-27"]),
    ("this Sunday", SUNDAY, ["2026-12-06", "2026-11-29"]),
    ("next Tuesday", TUESDAY, ["2026-12-01"]),
    ("next Friday", TUESDAY, ["2026-12-04"]),
    ("next Monday", FRIDAY, ["2026-11-30"]),
    ("next Monday", SUNDAY, ["2026-11-30", "2026-12-07"]),
    ("next Saturday", SUNDAY, ["2026-12-05", "2026-12-12"]),
    ("next Sunday", SUNDAY, ["2026-12-06"]),
    ("next week", TUESDAY, ["2026-11-30"]),
    ("next week", SUNDAY, ["2026-11-30", "2026-12-07"]),
    ("in 3 days", SUNDAY, ["2026-12-02"]),
    ("in two weeks", TUESDAY, ["2026-12-08"]),
    ("by the end of the month", TUESDAY, ["2026-11-30"]),
    ("end of month", dt.date(2026, 11, 30), ["2026-11-30"]),
    ("December 3", TUESDAY, ["2026-12-03"]),
    ("Nov 1st", TUESDAY, ["2027-11-01"]),
    ("3 December", TUESDAY, ["2026-12-03"]),
    ("2026-12-03", TUESDAY, ["2026-12-03"]),
]


@pytest.mark.parametrize(("phrase", "ref", "allowed"), READINGS, ids=[f"{p}@{r:%a}" for p, r, _ in READINGS])
def test_every_reading_the_contract_allows(phrase: str, ref: dt.date, allowed: list[str]) -> None:
    assert [d.isoformat() for d in date_readings(phrase, ref)] == allowed


def test_a_midnight_deadline_may_be_the_midnight_that_ends_the_day() -> None:
    expected = {"action": "create", "title": "X", "priority": "medium", "due_date": "2026-11-25", "due_time": "00:00"}
    assert other_readings("x tomorrow at midnight", TUESDAY, expected) == ["2026-11-26"]
    assert other_readings("x tomorrow at noon", TUESDAY, {**expected, "due_time": "12:00"}) == []


def test_shipped_cases_accept_every_other_reading(tiers: dict[str, Dataset]) -> None:
    checked = 0
    for case in tiers["full"].cases:
        others = other_readings(case.input, dt.date.fromisoformat(case.reference_date), case.expected)
        assert set(others) <= set((case.accept or {}).get("due_date", ())), case.id
        checked += bool(others)
    assert checked >= 5


# --- the dataset version refuses old baselines ----------------------------------------------------------------


def test_a_baseline_of_the_old_content_is_refused_by_its_version(tmp_path: Path) -> None:
    identity = run_identity("gate", "a" * 64, None, None, tmp_path)
    assert identity.dataset_version == DATASET_VERSION >= 2
    old = {**identity.__dict__, "dataset_sha256": "b" * 64}
    del old["dataset_version"]  # baselines saved before the field are of version 1
    path = tmp_path / "baseline.json"
    item = {"id": "x-1", "capability": "edge_cases", "level": "simple", "template": "t", "score": 1.0, "passed": True}
    save_baseline(path, {"run_id": "r", "items": [item]}, Identity(**old))
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["identity"]["dataset_version"]
    path.write_text(json.dumps(data), encoding="utf-8")
    problems = incompatibilities(load_baseline(path).identity, identity)
    assert any(f"dataset version 1, this run of version {DATASET_VERSION}" in p for p in problems), problems
    assert not any("sha256" in p for p in problems), "one clear reason, not two"


def test_custom_case_files_carry_no_version(tmp_path: Path) -> None:
    assert run_identity("custom", "a" * 64, None, None, tmp_path).dataset_version is None


# --- counts per level keep the config's mix --------------------------------------------------------------------


def test_levels_are_spread_over_their_templates(tiers: dict[str, Dataset]) -> None:
    # No template dominates a cell: the clustered intervals need many clusters of similar size.
    for data in (tiers["gate"], tiers["full"]):
        cells: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for case in data.cases:
            if case.template not in GROUPS:  # a hand-written group ships all its cases
                cells[case.capability, case.level][case.template] += 1
        for cell, counts in cells.items():
            assert max(counts.values()) <= max(4, sum(counts.values()) // 4), (data.path.name, cell, counts)
    assert set(LEVELS) == {case.level for case in tiers["dev"].cases}


# --- the contract prompt ---------------------------------------------------------------------------------------


def test_shipped_prompts_resolve_by_name_and_paths_stay_paths(tmp_path: Path) -> None:
    assert system_prompt_path("contract") == PROMPTS_DIR / "contract.j2"
    assert system_prompt_path("system") == DEFAULT_SYSTEM_PROMPT
    own = tmp_path / "contract"
    assert system_prompt_path(own) == own
    assert system_prompt_path("my_prompt.j2") == Path("my_prompt.j2")


def test_the_contract_prompt_states_the_contract() -> None:
    tasks = [{"title": "Dentist appointment", "priority": "high", "due_date": None, "due_time": None, "status": "open"}]
    text = render_system_prompt("2026-11-24", tasks, system_prompt_path("contract"))
    assert "Tuesday 2026-11-24" in text and "- Dentist appointment | high | - | open" in text
    for word in (*ACTIONS, *FILTERS, *ANSWER_KEY_ORDER, "medium", "null", "YYYY-MM-DD", "HH:MM", "next week"):
        assert word in text, word
    key_order = [text.index(f'"{key}"') for key in ("action", "title", "priority", "due_date", "due_time")]
    assert key_order == sorted(key_order), "keys are listed in the contract's order"
    assert 250 <= len(text.split()) <= 600  # a few hundred tokens: states the rules, fits a small context


def test_the_system_prompt_option_takes_a_shipped_name() -> None:
    spec = OPTIONS_BY_NAME["system_prompt"]
    assert spec.kind("contract") == PROMPTS_DIR / "contract.j2"
    assert spec.kind("prompts/mine.j2") == Path("prompts/mine.j2")
    assert "contract" in spec.help


def test_a_date_and_a_time_never_say_two_times() -> None:
    ref, g = dt.date(2026, 11, 24), t.Gen(random.Random(0), EVAL)
    end_of_today = DatePhrase(DateForm.TODAY, "today", "by the end of today", ref)
    tonight = DatePhrase(DateForm.TONIGHT, "tonight", "tonight", ref)
    four_am, nine_pm = (
        TimePhrase(TimeForm.HOUR_AMPM, "at 4am", "04:00"),
        TimePhrase(TimeForm.HOUR_AMPM, "at 9pm", "21:00"),
    )
    assert t.create_request(g, "water the plants", implicit=False, date=end_of_today, time=four_am).input.endswith(
        "water the plants today at 4am"
    )
    assert "today at 4am" in t.create_request(g, "water the plants", implicit=False, date=tonight, time=four_am).input
    assert "tonight at 9pm" in t.create_request(g, "water the plants", implicit=False, date=tonight, time=nine_pm).input
    assert "by the end of today" in t.create_request(g, "water the plants", implicit=False, date=end_of_today).input


# --- the templates behind each interval, in summary.md ----------------------------------------------------------


def test_summary_md_gives_the_templates_behind_each_interval() -> None:
    results = synthetic_results()
    text = render_markdown(results)
    summary = results["summary"]
    assert f"interval over {summary['aggregate']['templates']} templates" in text
    for name, cell in summary["capabilities"].items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        counts = " · ".join(str(cell["levels"][level]["templates"]) for level in LEVELS)
        assert row.endswith(f"| {counts} ({cell['templates']}) |"), row
