"""Episodes: multi-turn conversations judged by the task list they leave behind, and the loader that
refuses bad files loudly. The format is in docs/cases.md ("Episodes")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from taskbench.data.capabilities import CapabilityConfig, load_capability_config
from taskbench.data.cases import read_jsonl
from taskbench.data.taskapi import TaskStore, diff_states
from taskbench.errors import DataError
from taskbench.paths import EPISODES_DIR, SCHEMA_DIR
from taskbench.scorers.contract import contract_violations

EPISODES_PATH = EPISODES_DIR / "episodes.jsonl"


@dataclass(frozen=True)
class Turn:
    user: str
    expected: dict[str, Any]
    capability: str

    def to_record(self) -> dict[str, Any]:
        return {"user": self.user, "expected": self.expected, "capability": self.capability}


@dataclass(frozen=True)
class Episode:
    id: str
    level: str
    reference_date: str
    tasks: tuple[dict[str, Any], ...]
    turns: tuple[Turn, ...]
    final_tasks: tuple[dict[str, Any], ...]
    rationale: str
    template: str
    origin: str = field(default="", compare=False)

    @classmethod
    def from_record(cls, record: dict[str, Any], origin: str = "") -> Episode:
        return cls(
            id=record["id"],
            level=record["level"],
            reference_date=record["reference_date"],
            tasks=tuple(record["tasks"]),
            turns=tuple(Turn(**turn) for turn in record["turns"]),
            final_tasks=tuple(record["final_tasks"]),
            rationale=record["rationale"],
            template=record["template"],
            origin=origin,
        )

    def to_record(self) -> dict[str, Any]:
        """The episode as its JSONL line."""
        return {
            "id": self.id,
            "level": self.level,
            "reference_date": self.reference_date,
            "tasks": list(self.tasks),
            "turns": [turn.to_record() for turn in self.turns],
            "final_tasks": list(self.final_tasks),
            "rationale": self.rationale,
            "template": self.template,
        }


@dataclass(frozen=True)
class EpisodeSet:
    path: Path
    episodes: tuple[Episode, ...]
    content_hash: str


@cache
def _episode_validator() -> Draft202012Validator:
    # The task shape is case.schema.json's $defs/task, referenced rather than copied.
    case_schema = json.loads((SCHEMA_DIR / "case.schema.json").read_text(encoding="utf-8"))
    schema = json.loads((SCHEMA_DIR / "episode.schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(case_schema["$id"], Resource.from_contents(case_schema))
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _place(path: Sequence[Any]) -> str:
    """Where in a record a problem is, with turns counted from 1 as everywhere else: "turn 2/capability"."""
    parts = [str(part) for part in path]
    if len(parts) >= 2 and parts[0] == "turns":
        parts[:2] = [f"turn {int(parts[1]) + 1}"]
    return "/".join(parts) or "episode"


def episode_problems(record: Any, capabilities: Iterable[str]) -> list[str]:
    """What is wrong with one episode record short of replaying it, as sentences; [] when nothing is."""
    if not isinstance(record, dict):
        return [f"an episode must be a JSON object, not {type(record).__name__}"]
    problems = [f"{_place(e.absolute_path)}: {e.message}" for e in _episode_validator().iter_errors(record)]
    if problems:
        return problems
    known = tuple(capabilities)
    id_level = record["id"].split("-")[1]
    if id_level != record["level"]:
        problems.append(f"id {record['id']!r} names level {id_level!r}, the episode's level is {record['level']!r}")
    for name in ("tasks", "final_tasks"):
        ids = [task["id"] for task in record[name]]
        if len(ids) != len(set(ids)):
            problems.append(f"{name} has duplicate task ids")
    for number, turn in enumerate(record["turns"], start=1):
        if turn["capability"] not in known:
            problems.append(
                f"turn {number}: unknown capability {turn['capability']!r} (the config defines: {', '.join(known)})"
            )
        problems += [
            f"turn {number}: expected answer breaks the contract: {v}" for v in contract_violations(turn["expected"])
        ]
    return problems


def replay_expected(episode: Episode) -> list[dict[str, Any]]:
    """Apply the expected answers in order to the reference Task API, from the episode's initial list;
    the final snapshot. An answer the API rejects is a DataError naming the episode and the turn."""
    where = episode.origin or episode.id
    try:
        store = TaskStore.from_tasks(episode.tasks)
    except ValueError as exc:
        raise DataError(where, f"tasks: {exc}") from None
    with store:
        for number, turn in enumerate(episode.turns, start=1):
            outcome = store.apply(turn.expected, episode.reference_date)
            if not outcome.applied:
                raise DataError(
                    where, f"turn {number}: the reference Task API rejects the expected answer: {outcome.reason}"
                )
        return store.snapshot()


def parse_episode(record: Any, capabilities: Iterable[str], where: str) -> Episode:
    """The checked episode a record holds; a DataError at `where` naming every problem otherwise."""
    problems = episode_problems(record, capabilities)
    if problems:
        raise DataError(where, "; ".join(problems))
    episode = Episode.from_record(record, origin=where)
    differences = diff_states(episode.final_tasks, replay_expected(episode))
    if differences:
        raise DataError(where, "final_tasks is not the list the expected answers leave: " + "; ".join(differences))
    return episode


def load_episodes(path: Path, config: CapabilityConfig | None = None) -> EpisodeSet:
    """Load a JSONL episode file; the first bad line is a DataError naming path:line (and the turn)."""
    config = config or load_capability_config()
    episodes: list[Episode] = []
    first_seen: dict[str, int] = {}
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        episode = parse_episode(record, config.names, where)
        if episode.id in first_seen:
            raise DataError(where, f"duplicate episode id {episode.id!r} (first on line {first_seen[episode.id]})")
        first_seen[episode.id] = number
        episodes.append(episode)
    if not episodes:
        raise DataError(str(path), "holds no episodes")
    return EpisodeSet(path, tuple(episodes), hashlib.sha256(path.read_bytes()).hexdigest())
