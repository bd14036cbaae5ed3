"""Promotion: a run's minimal fuzz failures become regression cases in a JSONL case file.

Each promoted case gets the next free id `<capability>-<level>-NNNN` from 9001 up (tier ids stay far
below), the family as its template, and a rationale naming the property that failed. A request already
in the file (same input and reference date) is refused; every line is checked with the case rules
before anything is written, and the file is loaded back with `load_cases` before it replaces the old one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskbench.artifacts import load_results, results_path
from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import case_problems, load_cases
from taskbench.errors import DataError, TaskbenchError
from taskbench.paths import FIXTURES

REGRESSIONS = FIXTURES / "regressions" / "fuzz.jsonl"
FIRST_NUMBER = 9001


@dataclass
class Promotion:
    added: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one sentence per request not promoted


def read_fuzz(run: Path) -> list[dict[str, Any]]:
    """The fuzz outcomes of a run folder or of its results.json."""
    fuzz = load_results(run).get("fuzz")
    if not isinstance(fuzz, list):
        raise TaskbenchError(f"{results_path(run)}: holds no fuzz outcomes (was evals/test_fuzz.py run?)")
    return fuzz


def plan(outcomes: Iterable[dict[str, Any]], existing: Iterable[dict[str, Any]]) -> Promotion:
    """The cases to add for `outcomes`' minimal failures, given the cases already in the file."""
    existing = list(existing)
    taken = {(c["input"], c["reference_date"]): c["id"] for c in existing}
    numbers = [_number(c["id"]) for c in existing]
    next_number = max([FIRST_NUMBER - 1, *numbers]) + 1
    promotion = Promotion()
    for outcome in outcomes:
        for failure in outcome.get("minimal", []):
            request = (failure["input"], failure["reference_date"])
            if failure.get("expected") is None:
                promotion.refused.append(f"{failure['input']!r}: no single right answer to promote")
                continue
            if request in taken:
                promotion.refused.append(f"{failure['input']!r}: already promoted as {taken[request]}")
                continue
            case = _case(outcome, failure, f"{outcome['capability']}-{outcome['level']}-{next_number:04d}")
            taken[request] = case["id"]
            next_number += 1
            promotion.added.append(case)
    return promotion


def _case(outcome: dict[str, Any], failure: dict[str, Any], case_id: str) -> dict[str, Any]:
    return {
        "id": case_id,
        "capability": outcome["capability"],
        "level": outcome["level"],
        "input": failure["input"],
        "reference_date": failure["reference_date"],
        "expected": failure["expected"],
        "rationale": (
            f"Found by fuzzing (family {outcome['family']}): the {outcome['property']} property failed "
            f"({failure['explanation']}); the expected answer is the generator's for the request's parts."
        ),
        "template": outcome["family"],
    }


def _number(case_id: str) -> int:
    tail = case_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def promote(run: Path, out: Path = REGRESSIONS) -> Promotion:
    """Append `run`'s minimal fuzz failures to `out` as cases; DataError if any would be invalid."""
    existing = [case.to_record() for case in load_cases(out).cases] if _has_cases(out) else []
    promotion = plan(read_fuzz(run), existing)
    if not promotion.added:
        return promotion
    names = load_capability_config().names
    for case in promotion.added:
        problems = case_problems(case, names)
        if problems:
            raise DataError(f"{out} (new case {case['id']})", "; ".join(problems))
    lines = [json.dumps(case, ensure_ascii=False) for case in [*existing, *promotion.added]]
    staged = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    staged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_cases(staged)
    except DataError:
        staged.unlink()
        raise
    os.replace(staged, out)
    return promotion


def _has_cases(path: Path) -> bool:
    return path.is_file() and bool(path.read_text(encoding="utf-8").strip())
