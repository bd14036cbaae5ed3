"""results.json: the one machine-readable record of a run (schema: fixtures/schema/results.schema.json)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, Protocol

from taskbench import __version__
from taskbench.artifacts import model_record
from taskbench.results.aggregate import summarize
from taskbench.results.episodes import episodes_section
from taskbench.results.samples import samples_section

if TYPE_CHECKING:
    from taskbench.data.capabilities import CapabilityConfig
    from taskbench.data.cases import Dataset
    from taskbench.model.generation import GenerationReport
    from taskbench.model.session import ModelSession
    from taskbench.options import Settings

RESULTS_VERSION = 1


class FinishedRun(Protocol):
    """What results.json is built from: a pytest run's RunState, or a run imported from lm_eval."""

    run_id: str
    settings: Settings
    capabilities: CapabilityConfig
    dataset: Dataset
    model: ModelSession | None
    replayed_model: dict[str, Any] | None
    generation: GenerationReport | None
    records: dict[str, dict[str, Any]]
    errors: dict[str, dict[str, Any]]
    episode_records: dict[str, dict[str, Any]]
    episode_errors: dict[str, dict[str, Any]]
    episode_mode: str
    selected_cases: list[str]  # ids the run generated answers for
    selected_episodes: list[str]
    fuzz: list[dict[str, Any]]
    incomplete: list[str]


def _unreported(state: FinishedRun) -> list[str]:
    """A reason per kind of item that was selected but never reported a score or an error."""
    reasons = []
    for kind, selected, records, errors in (
        ("cases", state.selected_cases, state.records, state.errors),
        ("episodes", state.selected_episodes, state.episode_records, state.episode_errors),
    ):
        missing = [item for item in selected if item not in records and item not in errors]
        if missing:
            reasons.append(
                f"{len(missing)} of {len(selected)} selected {kind} never reported a score or an error "
                f"(the session stopped early?): {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            )
    return reasons


def build_results(state: FinishedRun) -> dict[str, Any]:
    incomplete = [*state.incomplete, *_unreported(state)]
    records = sorted(state.records.values(), key=lambda r: r["id"])
    errors = sorted(state.errors.values(), key=lambda e: e["id"])
    served = state.model.served if state.model is not None else None
    model = state.replayed_model if served is None else model_record(served)
    dataset = state.dataset
    return {
        "results_version": RESULTS_VERSION,
        "run_id": state.run_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "taskbench_version": __version__,
        "config": state.settings.public(),
        "model": model,
        "replayed_from": str(state.settings.replay) if state.settings.replay else None,
        "dataset": {
            "tier": "custom" if state.settings.cases is not None else state.settings.tier,
            "path": str(dataset.path),
            "content_hash": dataset.content_hash,
            "cases": len(dataset.cases),
        },
        "generation": dataclasses.asdict(state.generation) if state.generation is not None else None,
        "complete": not incomplete and not errors and not state.episode_errors,
        "incomplete_reasons": incomplete,
        "summary": summarize(records, errors, state.capabilities, [c.id for c in dataset.cases]),
        "items": records,
        "errors": errors,
        "episodes": episodes_section(
            list(state.episode_records.values()), list(state.episode_errors.values()), state.episode_mode
        ),
        "samples": samples_section(records, list(state.episode_records.values()), state.settings.samples),
        "fuzz": sorted(state.fuzz, key=lambda f: (f["family"], f["property"], f["test"])),
    }
