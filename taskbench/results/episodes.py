"""results["episodes"]: how many multi-turn episodes left the right task list, overall and per level.

An episode passes when its final task list is the expected one. Episodes generated from one template are
correlated, so the pass-rate intervals treat templates as the independent units (taskbench.results.stats). Errored
episodes (no verdict) are counted apart and never as failures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from taskbench.data.capabilities import LEVELS
from taskbench.results import stats
from taskbench.results.aggregate import CONFIDENCE


def _pass_rate_fields(episodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """episodes, passed, pass_rate and its interval (None for all three when there are no episodes)."""
    estimate = stats.pass_rate_ci(
        [episode["passed"] for episode in episodes],
        [episode["template"] for episode in episodes],
        confidence=CONFIDENCE,
    )
    empty = estimate.n == 0
    return {
        "episodes": len(episodes),
        "passed": sum(1 for episode in episodes if episode["passed"]),
        "pass_rate": None if empty else estimate.value,
        "ci_low": None if empty else estimate.low,
        "ci_high": None if empty else estimate.high,
    }


def episodes_section(
    records: Sequence[Mapping[str, Any]], errors: Sequence[Mapping[str, Any]], mode: str
) -> dict[str, Any] | None:
    """The episode summary of a run, None when it ran no episode. `mode`: realistic or teacher_forcing."""
    if not records and not errors:
        return None
    records = sorted(records, key=lambda record: record["id"])
    turns = [turn for record in records for turn in record["turns"]]
    turns_passed = sum(1 for turn in turns if turn["passed"])
    levels = [level for level in LEVELS if any(record["level"] == level for record in records)]
    return {
        "mode": mode,
        **_pass_rate_fields(records),
        "errored": len(errors),
        "turns": len(turns),
        "turns_passed": turns_passed,
        "turn_accuracy": turns_passed / len(turns) if turns else None,
        "by_level": {level: _pass_rate_fields([r for r in records if r["level"] == level]) for level in levels},
        "items": records,
        "errors": sorted(errors, key=lambda error: error["id"]),
        "failed": failed_episodes(records),
    }


def failed_episodes(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each failed episode with the turn where its task list first went wrong and how; `turn` is None when
    every turn left the right list but the final one differs (teacher forcing resets the list each turn)."""
    failed = []
    for record in records:
        if record["passed"]:
            continue
        number = record["first_wrong_turn"]
        turn = None if number is None else next(t for t in record["turns"] if t["number"] == number)
        failed.append(
            {
                "id": record["id"],
                "level": record["level"],
                "template": record["template"],
                "turn": turn,
                "how": record["how"] if turn is not None else record["final_diff"],
            }
        )
    return failed
