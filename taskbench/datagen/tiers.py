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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from taskbench.data.capabilities import LEVELS, CapabilityConfig, load_capability_config
from taskbench.data.cases import Case, Dataset, case_problems, load_cases
from taskbench.datagen.catalog import TIER_POOLS, Pool, Source
from taskbench.datagen.content import normalise_request
from taskbench.datagen.handwritten import HandGroup
from taskbench.datagen.readings import other_readings
from taskbench.datagen.templates import Draft, Gen
from taskbench.datagen.training import TRAIN_POOLS
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

# The order of each pool is in taskbench.datagen.catalog (tiers) and taskbench.datagen.training (the
# training split). A pool's first sources are what the dev tier (8/6/4/2 cases) gets, so context cases
# lead the complex and adversarial pools that must hold them.
POOLS: Mapping[tuple[str, str], Pool] = TIER_POOLS


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
    return source.name


def _draws(capability: str, level: str, source: Source, gen: Gen) -> Iterator[Draft]:
    if isinstance(source, HandGroup):
        for case in source.for_pool(capability, level):
            yield case.draft()
        return
    while True:
        yield source(gen)


class _Pool:
    """Fills one capability x level pool, round-robin over its sources, skipping repeated requests.

    A source listed twice shares one stream, so it gets two turns per round; a source keeps its stream
    across `fill` calls, so the full tier's part continues where the gate tier's stopped."""

    def __init__(
        self, capability: str, level: str, gen: Gen, seen: set[str], key: Callable[[Draft], str] | None = None
    ) -> None:
        self.capability, self.level, self.gen, self.seen = capability, level, gen, seen
        self.key = key or request_key
        self.streams: dict[str, Iterator[Draft]] = {}

    def fill(self, sources: Sequence[Source], count: int) -> list[tuple[str, Draft]]:
        for source in sources:
            self.streams.setdefault(source_name(source), _draws(self.capability, self.level, source, self.gen))
        live = [(source_name(source), self.streams[source_name(source)]) for source in sources]
        filled: list[tuple[str, Draft]] = []
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

    def drain(self, groups: Sequence[HandGroup]) -> list[tuple[str, Draft]]:
        """Every case the hand-written `groups` have left."""
        drained = []
        for group in groups:
            stream = self.streams[group.name]
            while (draft := self._next_new(stream)) is not None:
                drained.append((group.name, draft))
        return drained

    def _next_new(self, stream: Iterator[Draft]) -> Draft | None:
        for _ in range(MAX_DRAWS):
            draft = next(stream, None)
            if draft is None:
                return None
            key = self.key(draft)
            if key not in self.seen:
                self.seen.add(key)
                return draft
        return None


def request_key(draft: Draft) -> str:
    """Requests that differ only in case, punctuation, a greeting or a closing are one request."""
    return json.dumps([normalise_request(draft.input), draft.context], sort_keys=True, ensure_ascii=False)


def exact_key(draft: Draft) -> str:
    """The training split keeps a greeting's variants apart: they teach that a greeting changes nothing."""
    return json.dumps([draft.input, draft.context], sort_keys=True, ensure_ascii=False)


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
    accept = dict(draft.accept or {})
    readings = other_readings(draft.input, draft.reference_date, draft.expected)
    if readings:
        accept["due_date"] = [*accept.get("due_date", ()), *readings]
        record["rationale"] += f" A careful reader may also take {' or '.join(readings)}: accepted."
    if accept:
        record["accept"] = accept
    if draft.context:
        record["context"] = draft.context
    problems = case_problems(record, capabilities)
    if problems:
        # A generator bug, not a user's file: name the template that made the case.
        raise DataError(f"template {template} ({case_id})", "; ".join(problems))
    return Case(**record)


def build_tiers(seed: int = DEFAULT_SEED, config: CapabilityConfig | None = None) -> dict[str, tuple[Case, ...]]:
    config = config or load_capability_config()
    gate_counts, full_counts = level_counts(TIER_SIZES["gate"], config), level_counts(TIER_SIZES["full"], config)
    seen: set[str] = set()
    pools: dict[tuple[str, str], list[Case]] = {}
    for capability in config.names:
        for level in LEVELS:
            pool = _pool(capability, level)
            filler = _Pool(capability, level, Gen(random.Random(f"{seed}:tiers:{capability}:{level}"), EVAL), seen)
            # The full tier ships the rest of the hand-written cases, then its own templates lead and
            # every template takes turns.
            filled = filler.fill(pool.gate, gate_counts[level])
            filled += filler.drain([source for source in pool.gate if isinstance(source, HandGroup)])
            filled += filler.fill((*pool.full, *pool.gate), full_counts[level] - len(filled))
            pools[capability, level] = [
                _case(f"{capability}-{level}-{n:04d}", capability, level, name, draft, config.names)
                for n, (name, draft) in enumerate(filled, start=1)
            ]
    tiers = {}
    for tier, size in TIER_SIZES.items():
        counts = level_counts(size, config)
        tiers[tier] = tuple(case for (cap, level), cases in pools.items() for case in cases[: counts[level]])
    return tiers


def _pool(capability: str, level: str) -> Pool:
    try:
        return POOLS[capability, level]
    except KeyError:
        raise DataError(
            "taskbench/datagen/catalog.py", f"TIER_POOLS has no sources for {capability} x {level}; add them"
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
    banned_inputs = {normalise_request(case.input) for case in tier_cases}
    banned_titles = set().union(*(case_titles(case) for case in tier_cases))
    seen: set[str] = set()
    examples: list[Case] = []
    for capability in config.names:
        for level, count in TRAINING_SIZES.items():
            sources = TRAIN_POOLS.get((capability, level))
            if not sources:
                raise DataError(
                    "taskbench/datagen/training.py", f"TRAIN_POOLS has no sources for {capability} x {level}"
                )
            gen = Gen(random.Random(f"{seed}:train:{capability}:{level}"), TRAIN)
            for name, draft in _Pool(capability, level, gen, seen, exact_key).fill(sources, count):
                case = _case("train-00000", capability, level, name, draft, config.names)
                if normalise_request(case.input) not in banned_inputs and not case_titles(case) & banned_titles:
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
