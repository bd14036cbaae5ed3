"""results.json: the one machine-readable record of a run (schema: fixtures/schema/results.schema.json)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from taskbench import __version__
from taskbench.model.client import ServedModel
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
RESULTS_FILE = "results.json"
_ROW_LISTS = frozenset({"items", "errors"})
_ROW = json.JSONEncoder(ensure_ascii=False)


def model_record(served: ServedModel) -> dict[str, Any]:
    return {
        "name": served.name,
        "urls": list(served.urls),
        "root": served.root,
        "max_model_len": served.max_model_len,
        "vllm_version": served.vllm_version,
        "identity": served.identity(),
    }


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


def results_chunks(results: Mapping[str, Any]) -> Iterator[str]:
    """results.json's text, piece by piece: indented, except that each item and error is one line.

    Indenting switches json to its pure-Python encoder, about 4x slower on the items; a line per row keeps the
    C encoder and makes the file easy to grep and diff. Written in pieces, a 10,000-item run never holds the
    whole text (tens of MB) at once.
    """
    if not results:
        yield "{}"
        return
    separator = "{\n"
    for key, value in results.items():
        yield f"{separator} {json.dumps(key)}: "
        separator = ",\n"
        if key in _ROW_LISTS and value:
            yield "[\n  "
            for index, row in enumerate(value):
                yield (",\n  " if index else "") + _ROW.encode(row)
            yield "\n ]"
        else:
            # JSON text holds no raw newline inside a string, so this only re-indents.
            yield json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n ")
    yield "\n}"


def write_results(run_dir: Path, results: dict[str, Any]) -> Path:
    """Write <run_dir>/results.json and point the `latest` link beside it at the run folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.writelines(results_chunks(results))
    tmp.replace(path)
    latest = run_dir.parent / "latest"
    tmp_link = run_dir.parent / f".latest-{run_dir.name}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(run_dir.name)
    os.replace(tmp_link, latest)
    return path
