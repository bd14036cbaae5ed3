"""results.json built once: `finish_run(collected)` computes every number and section a report shows
(statistics, aggregates, analysis, episodes, samples, fuzzing) and stores them, so renderers only read.

Both ways a run ends come here: the pytest plugin's collector (taskbench.collector) and `taskbench import
lm-eval` (taskbench.lmeval.importer), each with a `Collected`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from taskbench import __version__
from taskbench.artifacts import ModelRecord, write_results
from taskbench.datagen import DATASET_VERSION
from taskbench.model.plays import REALISTIC
from taskbench.results.aggregate import summarize
from taskbench.results.analysis import analyse
from taskbench.results.episodes import episodes_section
from taskbench.results.fuzz import fuzz_section
from taskbench.results.samples import samples_section

if TYPE_CHECKING:
    from taskbench.data.capabilities import CapabilityConfig
    from taskbench.data.cases import Dataset
    from taskbench.model.generation import GenerationReport
    from taskbench.options import Settings
    from taskbench.scoring.episodes import EpisodeRecord
    from taskbench.scoring.records import CaseError, EpisodeError, ItemRecord

# 2: samples.changing lists {id, samples, passed} (was ids); episodes.failed and fuzz_summary added.
RESULTS_VERSION = 2


class DatasetRecord(TypedDict):
    tier: str  # "custom" for --cases
    path: str
    content_hash: str
    cases: int


class Results(TypedDict):
    """results.json (fixtures/schema/results.schema.json says what each field means)."""

    results_version: int
    run_id: str
    created: str
    taskbench_version: str
    config: dict[str, Any]
    model: ModelRecord | None
    replayed_from: str | None
    dataset: DatasetRecord
    generation: dict[str, Any] | None
    complete: bool
    incomplete_reasons: list[str]
    warnings: list[str]
    summary: dict[str, Any]
    items: list[ItemRecord]
    errors: list[CaseError]
    episodes: dict[str, Any] | None
    samples: dict[str, Any] | None
    fuzz: list[dict[str, Any]]
    fuzz_summary: dict[str, Any] | None
    analysis: dict[str, Any]


@dataclass
class Collected:
    """What a finished run holds, as results.json is built from it: the run's settings and dataset, the
    model side's record, and every item's record or error as the collector gathered them."""

    run_id: str
    settings: Settings
    capabilities: CapabilityConfig
    dataset: Dataset
    model: ModelRecord | None  # None: no model was contacted and no run says which one answered
    generation: GenerationReport | None
    episode_mode: str = REALISTIC
    selected_cases: list[str] = field(default_factory=list)  # ids the run generated answers for
    selected_episodes: list[str] = field(default_factory=list)
    records: dict[str, ItemRecord] = field(default_factory=dict)
    errors: dict[str, CaseError] = field(default_factory=dict)
    episode_records: dict[str, EpisodeRecord] = field(default_factory=dict)
    episode_errors: dict[str, EpisodeError] = field(default_factory=dict)
    fuzz: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # why the run may have missed items
    warnings: list[str] = field(default_factory=list)  # what did not stop the run (a damaged cache moved aside)


class ReportSink(Protocol):
    """Where the reports are rendered (taskbench.reports.process.ReportWriter): given the results, then
    waited for, so that results.json is written while they render."""

    def submit(self, run_dir: Path, results: Results) -> None: ...

    def wait(self) -> list[Path]: ...


class ResultsOnly:
    """A ReportSink that renders nothing: results.json alone, for a run that Ctrl-C stopped before its items
    (reports of no items would say nothing, and rendering them would keep the user waiting)."""

    def submit(self, run_dir: Path, results: Results) -> None:
        pass

    def wait(self) -> list[Path]:
        return []


def _unreported(collected: Collected) -> list[str]:
    """A reason per kind of item that was selected but never reported a score or an error."""
    reasons = []
    for kind, selected, records, errors in (
        ("cases", collected.selected_cases, collected.records, collected.errors),
        ("episodes", collected.selected_episodes, collected.episode_records, collected.episode_errors),
    ):
        missing = [item for item in selected if item not in records and item not in errors]
        if missing:
            reasons.append(
                f"{len(missing)} of {len(selected)} selected {kind} never reported a score or an error "
                f"(the session stopped early?): {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            )
    return reasons


def build_results(collected: Collected) -> Results:
    """The run's results, every section computed."""
    settings, dataset = collected.settings, collected.dataset
    incomplete = [*collected.incomplete, *_unreported(collected)]
    records = sorted(collected.records.values(), key=lambda r: r["id"])
    errors = sorted(collected.errors.values(), key=lambda e: e["id"])
    episode_records = list(collected.episode_records.values())
    fuzz = sorted(collected.fuzz, key=lambda f: (f["family"], f["property"], f["test"]))
    results: Results = {
        "results_version": RESULTS_VERSION,
        "run_id": collected.run_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "taskbench_version": __version__,
        "config": settings.public(),
        "model": collected.model,
        "replayed_from": str(settings.replay) if settings.replay else None,
        "dataset": {
            "tier": "custom" if settings.cases is not None else settings.tier,
            "path": str(dataset.path),
            "content_hash": dataset.content_hash,
            "cases": len(dataset.cases),
            "version": None if settings.cases is not None else DATASET_VERSION,
        },
        "generation": dataclasses.asdict(collected.generation) if collected.generation is not None else None,
        "complete": not incomplete and not errors and not collected.episode_errors,
        "incomplete_reasons": incomplete,
        "warnings": collected.warnings,
        "summary": summarize(records, errors, collected.capabilities, [c.id for c in dataset.cases]),
        "items": records,
        "errors": errors,
        "episodes": episodes_section(episode_records, list(collected.episode_errors.values()), collected.episode_mode),
        "samples": samples_section(records, episode_records, settings.samples),
        "fuzz": fuzz,
        "fuzz_summary": fuzz_section(fuzz),
        "analysis": {},
    }
    results["analysis"] = analyse(results)
    return results


def finish_run(collected: Collected, run_dir: Path, reports: ReportSink) -> tuple[Results, Path]:
    """Build the results, hand them to the report writer and write results.json meanwhile; returns the
    results and the path of results.json once the reports are written too."""
    results = build_results(collected)
    reports.submit(run_dir, results)
    path = write_results(run_dir, results)
    reports.wait()
    return results, path
