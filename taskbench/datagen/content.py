"""What a tier is made of, beyond its case counts: templates per capability x level, distinct requests once
case, punctuation, greetings and closings are set aside, and the clusters (templates) behind each interval.

A benchmark's intervals are only as narrow as its kinds of request allow: two cases that differ in a "hey"
or a full stop are one request, and cases of one template move together."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from taskbench.data.capabilities import LEVELS
from taskbench.data.cases import Case, Dataset

# Words that open or close a request without changing it. Stripped repeatedly from both ends.
GREETINGS = (
    "hey there",
    "hi there",
    "hello",
    "hey",
    "hi",
    "yo",
    "ok so",
    "okay so",
    "ok",
    "okay",
    "so",
    "um",
    "please",
    "pls",
    "plz",
    "can you",
    "could you",
    "would you",
    "can u",
    "could u",
)
CLOSINGS = ("thank you", "thanks", "thx", "ty", "cheers", "please", "pls", "plz", "for me", "thanks a lot")
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_OPENING = re.compile(r"^(?:" + "|".join(sorted(map(re.escape, GREETINGS), key=len, reverse=True)) + r")\b\s*")
_CLOSING = re.compile(r"\s*\b(?:" + "|".join(sorted(map(re.escape, CLOSINGS), key=len, reverse=True)) + r")$")


def normalise_request(text: str) -> str:
    """`text` as a request: lower case, no punctuation, no greeting before it or closing after it."""
    raw = unicodedata.normalize("NFKC", text).lower()
    text = _SPACES.sub(" ", _PUNCTUATION.sub(" ", raw).replace("_", " ")).strip()
    if not text:
        # Nothing but punctuation or symbols ("?", "👍"): those are the request.
        return _SPACES.sub(" ", raw).strip()
    while True:
        stripped = _CLOSING.sub("", _OPENING.sub("", text)).strip()
        # A request that is nothing but a greeting ("hey", "please") stays itself.
        if stripped == text or not stripped:
            return text
        text = stripped


def request_key(case: Case) -> str:
    """Two cases with the same key are the same request: same normalised words, same list and history."""
    return json.dumps([normalise_request(case.input), case.context], sort_keys=True, ensure_ascii=False)


def duplicate_requests(cases: Iterable[Case]) -> list[list[Case]]:
    """Groups of two or more cases that are the same request, in file order."""
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        groups[request_key(case)].append(case)
    return [group for group in groups.values() if len(group) > 1]


@dataclass(frozen=True)
class ContentStats:
    name: str
    cases: int
    distinct_requests: int  # after normalising, context included
    cases_without_context: int
    distinct_without_context: int
    templates: Mapping[tuple[str, str], int]  # (capability, level) -> templates
    templates_per_capability: Mapping[str, int]
    levels_per_template: Mapping[str, int]  # "capability/template" -> levels it feeds
    clusters: int  # behind the weighted aggregate: capability/template pairs


def content_stats(data: Dataset) -> ContentStats:
    by_cell: dict[tuple[str, str], set[str]] = defaultdict(set)
    levels: dict[str, set[str]] = defaultdict(set)
    for case in data.cases:
        by_cell[case.capability, case.level].add(case.template)
        levels[f"{case.capability}/{case.template}"].add(case.level)
    capabilities = sorted({case.capability for case in data.cases})
    bare = [case for case in data.cases if not case.context]
    return ContentStats(
        name=data.path.stem,
        cases=len(data.cases),
        distinct_requests=len({request_key(case) for case in data.cases}),
        cases_without_context=len(bare),
        distinct_without_context=len({normalise_request(case.input) for case in bare}),
        templates={cell: len(names) for cell, names in by_cell.items()},
        templates_per_capability={
            cap: len({t for (c, _), names in by_cell.items() if c == cap for t in names}) for cap in capabilities
        },
        levels_per_template={key: len(found) for key, found in levels.items()},
        clusters=len(levels),
    )


def content_table(stats: ContentStats, capabilities: Iterable[str]) -> str:
    """Templates per capability x level (and per capability), then the request and cluster counts."""
    capabilities = list(capabilities)
    width = max(len(name) for name in (*capabilities, "capability"))
    header = f"{stats.name + ' templates':<{width}} " + " ".join(f"{lv:>11}" for lv in LEVELS) + f" {'all':>7}"
    lines = [header, "-" * len(header)]
    for capability in capabilities:
        row = " ".join(f"{stats.templates.get((capability, lv), 0):>11}" for lv in LEVELS)
        lines.append(f"{capability:<{width}} {row} {stats.templates_per_capability.get(capability, 0):>7}")
    spanning = sorted(key for key, count in stats.levels_per_template.items() if count > 1)
    duplicates = stats.cases - stats.distinct_requests
    lines += [
        f"cases {stats.cases}; distinct requests after normalising {stats.distinct_requests}"
        f" ({duplicates} repeat an earlier one)",
        f"cases without context {stats.cases_without_context}; distinct among them {stats.distinct_without_context}",
        f"clusters (capability x template) behind the aggregate interval: {stats.clusters}",
        f"templates feeding more than one level: {len(spanning)}" + (f" ({', '.join(spanning)})" if spanning else ""),
    ]
    return "\n".join(lines)


def most_repeated(cases: Iterable[Case], top: int = 5) -> list[tuple[str, int]]:
    """The normalised requests met most often, with their counts (only those met more than once)."""
    counts = Counter(normalise_request(case.input) for case in cases if not case.context)
    return [(text, n) for text, n in counts.most_common(top) if n > 1]
