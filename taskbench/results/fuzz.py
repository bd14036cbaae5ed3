"""What the reports show of results["fuzz"]: pass rates per request family x property, and the shrunk
minimal failing requests.

Generated examples are not a sample of real traffic (Hypothesis steers towards failures and shrinks them),
so the pass rates carry no interval: they say how often the property held, not how often users would see it fail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any


def fuzz_section(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Totals, one row per family x property (over every test of the pair) and every minimal failure;
    None when nothing was fuzzed."""
    if not records:
        return None
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        groups[record["family"], record["property"]].append(record)
    rows = []
    for (family, prop), members in sorted(groups.items()):
        examples = sum(m["examples"] for m in members)
        passed = sum(m["passed"] for m in members)
        rows.append(
            {
                "family": family,
                "property": prop,
                "capability": ", ".join(sorted({m["capability"] for m in members})),
                "level": ", ".join(sorted({m["level"] for m in members})),
                "examples": examples,
                "passed": passed,
                "pass_rate": passed / examples if examples else None,
                "tests": sorted(m["test"] for m in members),
            }
        )
    minimal = [
        {"family": family, "property": prop, "test": m["test"], **example}
        for (family, prop), members in sorted(groups.items())
        for m in members
        for example in m["minimal"]
    ]
    examples = sum(row["examples"] for row in rows)
    passed = sum(row["passed"] for row in rows)
    return {
        "examples": examples,
        "passed": passed,
        "pass_rate": passed / examples if examples else None,
        "rows": rows,
        "minimal": minimal,
    }
