"""Build the shipped tiers and the training split from the templates and the hand-written groups.

Each capability x level pool is filled in a fixed order: its sources (templates and hand-written
groups) take turns, so hand-written cases land early, and a smaller tier is a prefix of a bigger
one. The training split runs the same templates with another seed over the TRAIN vocabulary and
drops anything that would overlap a tier."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from taskbench.data.capabilities import LEVELS, CapabilityConfig, load_capability_config
from taskbench.data.cases import Case, Dataset, case_problems, load_cases
from taskbench.datagen import templates as t
from taskbench.datagen.handwritten import GROUPS, HandGroup
from taskbench.datagen.templates import Draft, Gen, Template
from taskbench.datagen.vocab import EVAL, TRAIN
from taskbench.errors import DataError
from taskbench.paths import FIXTURES, TIERS, TIERS_DIR, TRAINING_SPLIT

DEFAULT_SEED = 20261124
TIER_SIZES: Mapping[str, int] = MappingProxyType({"dev": 20, "gate": 100, "full": 200})  # cases per capability
TRAINING_SIZES: Mapping[str, int] = MappingProxyType(
    {"simple": 560, "moderate": 440, "complex": 190, "adversarial": 60}
)
MIX_TOLERANCE = 2
# Draws a template gets to produce a case not already in the benchmark before it counts as used up.
MAX_DRAWS = 40

Source = Template | HandGroup

# The order of each pool. A pool's first sources are what the dev tier (8/6/4/2 cases) gets, so
# context cases lead the complex and adversarial pools that must hold them. Hand-written groups
# are listed twice or three times where the pool is short, so the full tier ships all of them.
POOLS: Mapping[tuple[str, str], tuple[Source, ...]] = MappingProxyType(
    {
        ("action_recognition", "simple"): (t.explicit_action,),
        ("action_recognition", "moderate"): (t.implicit_action, GROUPS["implicit_intent"], t.list_filter_implicit),
        ("action_recognition", "complex"): (
            t.that_task_done,
            GROUPS["context"],
            t.self_correction,
            GROUPS["multilingual"],
            t.history_followup,
            GROUPS["natural_corrections"],
            t.keyword_reference,
        ),
        ("action_recognition", "adversarial"): (
            t.mark_both_done,
            GROUPS["adversarial_intent"],
            t.correction_chain,
            t.injected_list_title,
            GROUPS["adversarial_intent"],
            t.negation_redirect,
            t.reference_matches_none,
        ),
        ("entity_extraction", "simple"): (t.single_entity, t.list_filter, t.date_and_time),
        ("entity_extraction", "moderate"): (
            t.relative_date,
            t.priority_synonym,
            GROUPS["entity_phrasing"],
            t.time_forms,
            t.attendees,
            t.list_filter_implicit,
            t.update_fields,
        ),
        ("entity_extraction", "complex"): (
            t.keyword_move,
            t.many_entities,
            GROUPS["context"],
            t.update_two_fields,
            GROUPS["multilingual"],
            t.history_followup,
        ),
        ("entity_extraction", "adversarial"): (
            t.distractor_reference,
            GROUPS["entity_boundaries"],
            t.boundary_date,
            GROUPS["entity_boundaries"],
            t.corrected_entity,
            t.weekday_on_same_weekday,
            GROUPS["entity_boundaries"],
            t.midnight,
        ),
        ("default_handling", "simple"): (t.bare_create, t.bare_list),
        ("default_handling", "moderate"): (t.implicit_bare_create, t.partial_fields, GROUPS["defaults"]),
        ("default_handling", "complex"): (
            t.single_field_update,
            GROUPS["defaults"],
            t.name_without_attendees,
            t.chatty_bare_create,
            t.new_task_beside_list,
        ),
        ("default_handling", "adversarial"): (t.field_words_in_title, GROUPS["defaults"], t.new_task_beside_list),
        ("edge_cases", "simple"): (t.bulk_delete, t.empty_input, t.out_of_domain, t.gibberish, t.missing_task),
        ("edge_cases", "moderate"): (
            t.bulk_delete_polite,
            t.vague_request,
            GROUPS["negation"],
            t.negation_only,
            t.gibberish,
            t.out_of_domain,
        ),
        ("edge_cases", "complex"): (
            t.reference_matches_none,
            t.reference_matches_several,
            GROUPS["context"],
            t.mark_both_done,
            t.negation_redirect,
            t.correction_to_bulk,
            t.bulk_delete_with_list,
            t.contradictory_request,
        ),
        ("edge_cases", "adversarial"): (
            t.injected_list_title,
            GROUPS["injection"],
            t.injection_in_title,
            GROUPS["bulk_delete_disguised"],
            t.unicode_bulk_delete,
            GROUPS["injection"],
            t.bulk_delete_with_list,
            GROUPS["bulk_delete_disguised"],
            t.enumerated_bulk_delete,
        ),
        ("format_compliance", "simple"): (t.plain_request,),
        ("format_compliance", "moderate"): (t.unicode_title, t.plain_implicit_request, t.one_word_title),
        ("format_compliance", "complex"): (t.long_title, GROUPS["format"], t.newline_title, t.escaped_title),
        ("format_compliance", "adversarial"): (
            t.format_bait,
            GROUPS["format"],
            t.very_long_title,
            t.json_in_input,
        ),
    }
)


@dataclass(frozen=True)
class GeneratedDataset:
    tiers: Mapping[str, tuple[Case, ...]]
    training: tuple[Case, ...]


def level_counts(per_capability: int, config: CapabilityConfig) -> dict[str, int]:
    """Cases per level for one capability of a tier: the config's shares, rounded to sum exactly."""
    counts = {level: int(per_capability * config.level_mix[level]) for level in LEVELS}
    by_remainder = sorted(LEVELS, key=lambda lv: per_capability * config.level_mix[lv] - counts[lv], reverse=True)
    for level in by_remainder[: per_capability - sum(counts.values())]:
        counts[level] += 1
    return counts


def source_name(source: Source) -> str:
    return source.name if isinstance(source, HandGroup) else source.__name__


def _draws(capability: str, level: str, source: Source, gen: Gen) -> Iterator[Draft]:
    if isinstance(source, HandGroup):
        for case in source.for_pool(capability, level):
            yield case.draft()
        return
    while True:
        yield source(gen)


class _Pool:
    """Fills one capability x level pool, round-robin over its sources, skipping duplicates."""

    def __init__(self, capability: str, level: str, sources: Sequence[Source], gen: Gen, seen: set[str]) -> None:
        self.capability, self.level, self.seen = capability, level, seen
        # A source listed twice shares one stream, so it gets two turns per round.
        streams: dict[str, Iterator[Draft]] = {}
        for source in sources:
            streams.setdefault(source_name(source), _draws(capability, level, source, gen))
        self.streams = [(source_name(source), streams[source_name(source)]) for source in sources]

    def fill(self, count: int) -> list[tuple[str, Draft]]:
        filled: list[tuple[str, Draft]] = []
        live = list(self.streams)
        while len(filled) < count and live:
            for stream in list(live):
                if len(filled) == count:
                    break
                draft = self._next_new(stream[1])
                if draft is None:
                    live.remove(stream)
                else:
                    filled.append((stream[0], draft))
        if len(filled) < count:
            raise DataError(
                f"{self.capability} x {self.level}",
                f"the generator's sources ran out after {len(filled)} distinct cases, {count} are needed",
            )
        return filled

    def _next_new(self, stream: Iterator[Draft]) -> Draft | None:
        for _ in range(MAX_DRAWS):
            draft = next(stream, None)
            if draft is None:
                return None
            key = dedupe_key(draft.input, draft.context)
            if key not in self.seen:
                self.seen.add(key)
                return draft
        return None


def dedupe_key(text: str, context: Mapping[str, Any] | None) -> str:
    return json.dumps([text, context], sort_keys=True, ensure_ascii=False)


def _case(case_id: str, capability: str, level: str, template: str, draft: Draft, capabilities: Iterable[str]) -> Case:
    record: dict[str, Any] = {
        "id": case_id,
        "capability": capability,
        "level": level,
        "input": draft.input,
        "reference_date": draft.reference_date.isoformat(),
        "expected": draft.expected,
        "rationale": draft.rationale,
        "template": template,
    }
    if draft.accept:
        record["accept"] = draft.accept
    if draft.context:
        record["context"] = draft.context
    problems = case_problems(record, capabilities)
    if problems:
        # A generator bug, not a user's file: name the template that made the case.
        raise DataError(f"template {template} ({case_id})", "; ".join(problems))
    return Case(**record)


def build_tiers(seed: int = DEFAULT_SEED, config: CapabilityConfig | None = None) -> dict[str, tuple[Case, ...]]:
    config = config or load_capability_config()
    largest = max(TIER_SIZES.values())
    seen: set[str] = set()
    pools: dict[tuple[str, str], list[Case]] = {}
    for capability in config.names:
        for level, count in level_counts(largest, config).items():
            sources = _sources(capability, level)
            gen = Gen(random.Random(f"{seed}:tiers:{capability}:{level}"), EVAL)
            filled = _Pool(capability, level, sources, gen, seen).fill(count)
            pools[capability, level] = [
                _case(f"{capability}-{level}-{n:04d}", capability, level, name, draft, config.names)
                for n, (name, draft) in enumerate(filled, start=1)
            ]
    tiers = {}
    for tier, size in TIER_SIZES.items():
        counts = level_counts(size, config)
        tiers[tier] = tuple(case for (cap, level), cases in pools.items() for case in cases[: counts[level]])
    return tiers


def _sources(capability: str, level: str) -> tuple[Source, ...]:
    try:
        return POOLS[capability, level]
    except KeyError:
        raise DataError(
            "taskbench/datagen/tiers.py", f"POOLS has no sources for {capability} x {level}; add them"
        ) from None


def case_titles(case: Case) -> set[str]:
    """Every task title a case mentions: the answer's title and new title, the list's, the history's."""
    answers = [case.expected, *(turn["assistant"] for turn in (case.context or {}).get("history", ()))]
    titles = {answer[key] for answer in answers for key in ("title", "new_title") if key in answer}
    titles |= {task["title"] for task in (case.context or {}).get("tasks", ())}
    return titles


def build_training_split(
    seed: int, tier_cases: Iterable[Case], config: CapabilityConfig | None = None
) -> tuple[Case, ...]:
    config = config or load_capability_config()
    tier_cases = list(tier_cases)
    banned_inputs = {case.input for case in tier_cases}
    banned_titles = set().union(*(case_titles(case) for case in tier_cases))
    seen: set[str] = set()
    examples: list[Case] = []
    for capability in config.names:
        for level, count in TRAINING_SIZES.items():
            templates = [s for s in _sources(capability, level) if not isinstance(s, HandGroup)]
            gen = Gen(random.Random(f"{seed}:train:{capability}:{level}"), TRAIN)
            for name, draft in _Pool(capability, level, templates, gen, seen).fill(count):
                case = _case("train-00000", capability, level, name, draft, config.names)
                if case.input not in banned_inputs and not case_titles(case) & banned_titles:
                    examples.append(case)
    return tuple(_renumbered(case, n) for n, case in enumerate(examples, start=1))


def _renumbered(case: Case, number: int) -> Case:
    return Case(**{**case.to_record(), "id": f"train-{number:05d}"})


def generate(seed: int = DEFAULT_SEED, config: CapabilityConfig | None = None) -> GeneratedDataset:
    config = config or load_capability_config()
    tiers = build_tiers(seed, config)
    training = build_training_split(seed, tiers["full"], config)
    return GeneratedDataset(MappingProxyType(tiers), training)


def output_paths(out: Path) -> dict[str, Path]:
    """Where each file goes under `out`, laid out as under fixtures/."""
    paths = {tier: out / TIERS_DIR.relative_to(FIXTURES) / f"{tier}.jsonl" for tier in TIERS}
    paths["train"] = out / TRAINING_SPLIT.relative_to(FIXTURES)
    return paths


def write_dataset(dataset: GeneratedDataset, out: Path = FIXTURES) -> dict[str, Path]:
    paths = output_paths(out)
    files = {**dataset.tiers, "train": dataset.training}
    for name, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(to_jsonl_line(case) for case in files[name]), encoding="utf-8")
    return paths


def to_jsonl_line(case: Case) -> str:
    return json.dumps(case.to_record(), ensure_ascii=False) + "\n"


# --- checks ----------------------------------------------------------------------------------


def check_dataset(tiers: Mapping[str, Dataset], training: Dataset, config: CapabilityConfig) -> list[str]:
    """Every rule the shipped data breaks, as sentences naming the rule; [] when all hold."""
    return [
        *check_nesting(tiers),
        *(problem for name, data in tiers.items() for problem in check_mix(name, data, config)),
        *check_disjoint(tiers, training),
    ]


def check_nesting(tiers: Mapping[str, Dataset]) -> list[str]:
    problems = []
    ordered = [name for name in TIERS if name in tiers]
    for smaller, bigger in itertools.pairwise(ordered):
        inside = {case.id: case for case in tiers[bigger].cases}
        for case in tiers[smaller].cases:
            if case.id not in inside:
                problems.append(f"nesting: {case.origin} ({case.id}) is in {smaller} but not in {bigger}")
            elif inside[case.id] != case:
                problems.append(f"nesting: {case.id} differs between {smaller} ({case.origin}) and {bigger}")
    return problems


def check_mix(name: str, data: Dataset, config: CapabilityConfig) -> list[str]:
    problems = []
    counts = Counter((case.capability, case.level) for case in data.cases)
    for capability in config.names:
        total = sum(counts[capability, level] for level in LEVELS)
        for level in LEVELS:
            found = counts[capability, level]
            target = total * config.level_mix[level]
            if found == 0:
                problems.append(f"coverage: {name} has no {capability} case at level {level}")
            elif abs(found - target) > MIX_TOLERANCE:
                problems.append(
                    f"mix: {name} has {found} {capability} x {level} cases, the target is {target:g}"
                    f" ±{MIX_TOLERANCE} ({config.level_mix[level]:.0%} of {total})"
                )
    return problems


def check_disjoint(tiers: Mapping[str, Dataset], training: Dataset) -> list[str]:
    tier_cases = [case for data in tiers.values() for case in data.cases]
    inputs = {case.input for case in tier_cases}
    titles = set().union(*(case_titles(case) for case in tier_cases))
    problems = []
    for case in training.cases:
        if case.input in inputs:
            problems.append(f"disjointness: {case.origin} ({case.id}) repeats a tier input: {case.input!r}")
        shared = sorted(case_titles(case) & titles)
        if shared:
            problems.append(f"disjointness: {case.origin} ({case.id}) uses tier titles: {', '.join(shared)}")
    return problems


def load_training_split(path: Path = TRAINING_SPLIT, config: CapabilityConfig | None = None) -> Dataset:
    """The training split, loaded and checked like a tier."""
    return load_cases(path, config)
