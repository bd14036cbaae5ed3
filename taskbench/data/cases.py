"""Cases: the typed record of one benchmark case, and the loader that refuses bad files loudly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from taskbench.data.capabilities import CapabilityConfig, load_capability_config
from taskbench.errors import DataError
from taskbench.paths import SCHEMA_DIR, tier_path
from taskbench.scorers.contract import contract_violations
from taskbench.scorers.schema import SchemaValidator, compile_schema


@dataclass(frozen=True)
class Case:
    id: str
    capability: str
    level: str
    input: str
    reference_date: str
    expected: dict[str, Any]
    rationale: str
    template: str
    accept: dict[str, list[Any]] | None = None
    context: dict[str, Any] | None = None
    origin: str = field(default="", compare=False)

    def to_record(self) -> dict[str, Any]:
        """The case as its JSONL line: what scorers and reports take."""
        record = {
            "id": self.id,
            "capability": self.capability,
            "level": self.level,
            "input": self.input,
            "reference_date": self.reference_date,
            "expected": self.expected,
            "rationale": self.rationale,
            "template": self.template,
        }
        if self.accept is not None:
            record["accept"] = self.accept
        if self.context is not None:
            record["context"] = self.context
        return record


@dataclass(frozen=True)
class Dataset:
    path: Path
    cases: tuple[Case, ...]
    content_hash: str


@cache
def _case_validator() -> SchemaValidator:
    schema = json.loads((SCHEMA_DIR / "case.schema.json").read_text(encoding="utf-8"))
    return compile_schema(schema, check_formats=True)


def case_problems(record: Any, capabilities: Iterable[str]) -> list[str]:
    """What is wrong with one case record, as sentences; [] when it is a valid case."""
    if not isinstance(record, dict):
        return [f"a case must be a JSON object, not {type(record).__name__}"]
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or 'case'}: {e.message}" for e in _case_validator().iter_errors(record)
    ]
    if problems:
        return problems
    known = tuple(capabilities)
    if record["capability"] not in known:
        problems.append(f"unknown capability {record['capability']!r} (the config defines: {', '.join(known)})")
    problems += [f"expected answer breaks the contract: {v}" for v in contract_violations(record["expected"])]
    for name, alternatives in (record.get("accept") or {}).items():
        for value in alternatives:
            substituted = {**record["expected"], name: value}
            problems += [
                f"accept.{name} value {value!r} breaks the contract: {v}" for v in contract_violations(substituted)
            ]
    tasks = (record.get("context") or {}).get("tasks") or []
    ids = [t["id"] for t in tasks]
    if len(ids) != len(set(ids)):
        problems.append("context.tasks has duplicate task ids")
    return problems


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line; the first line that is not JSON is a DataError."""
    for number, line in _lines(path):
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}", _not_json(exc)) from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(str(path), "no such file") from None
    except IsADirectoryError:
        raise DataError(str(path), "is a folder, not a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(str(path), f"cannot read: {exc.strerror or exc}") from None
    return ((number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip())


def _not_json(error: json.JSONDecodeError) -> str:
    return f"not valid JSON: {error.msg} (column {error.colno})"


def load_cases(path: Path, config: CapabilityConfig | None = None) -> Dataset:
    """Load a JSONL case file. A file with bad lines is one DataError naming every problem of every line
    (path:line, and the case id where the line has one), so a user fixes them all in one go."""
    config = config or load_capability_config()
    cases: list[Case] = []
    problems: list[tuple[str, str]] = []
    first_seen: dict[str, int] = {}
    for number, line in _lines(path):
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((where, _not_json(exc)))
            continue
        found = case_problems(record, config.names)
        case_id = record.get("id") if isinstance(record, dict) else None
        if isinstance(case_id, str):
            if case_id in first_seen:
                found.append(f"duplicate case id {case_id!r} (first on line {first_seen[case_id]})")
            first_seen.setdefault(case_id, number)
        if found:
            named = f"case {case_id!r}: " if isinstance(case_id, str) else ""
            problems.append((where, named + "; ".join(found)))
            continue
        cases.append(Case(**record, origin=where))
    if problems:
        raise DataError(*problems[0], more=problems[1:])
    if not cases:
        raise DataError(str(path), "holds no cases")
    return Dataset(path, tuple(cases), hashlib.sha256(path.read_bytes()).hexdigest())


def load_tier(tier: str, config: CapabilityConfig | None = None) -> Dataset:
    return load_cases(tier_path(tier), config)
