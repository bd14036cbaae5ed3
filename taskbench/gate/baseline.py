"""Baselines for the pre-merge gate: one run's per-item scores and what made them, saved as JSON.

A later run is compared with a baseline case by case, so both must have asked the same questions the same
way: the same tier, the same dataset content, the same decoding settings, and scored with the same field
weights (other weights turn the same answer into another score). The model, the system prompt, the answer mode
(content or tools) and the scorers may differ between the two; that difference is what the gate judges, and the
report names it. So may the sampling seed when both runs sample (temperature above 0): another seed is the noise
the regression test must tolerate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from taskbench.artifacts import RESULTS_FILE
from taskbench.datagen import DATASET_VERSION
from taskbench.errors import TaskbenchError
from taskbench.model.prompts import DEFAULT_SYSTEM_PROMPT

BASELINE_VERSION = 1
DECODING_KEYS = ("temperature", "max_tokens", "seed", "structured_outputs")


@dataclass(frozen=True)
class Identity:
    """What a run's scores depend on. `decoding` is None when unknown (replayed answers without their run)."""

    tier: str
    dataset_sha256: str
    decoding: dict[str, Any] | None
    system_prompt_sha256: str | None
    model_name: str | None
    model_identity: str | None
    # The shipped cases' version (taskbench.datagen.DATASET_VERSION); None for a custom case file.
    # Baselines saved before the field existed are of version 1.
    dataset_version: int | None = 1
    # "content", or "tools (auto)" / "tools (required)". Baselines saved before tools mode existed: content.
    answer_mode: str | None = "content"
    # Entity extraction's field weights the scores were made with; None: not recorded (an older baseline).
    field_weights: dict[str, float] | None = None

    def describe_model(self) -> str:
        return f"{self.model_name or 'unknown model'} ({self.model_identity or 'no identity'})"


@dataclass(frozen=True)
class BaselineItem:
    id: str
    capability: str
    level: str
    template: str
    score: float
    passed: bool


@dataclass(frozen=True)
class Baseline:
    path: Path
    run_id: str
    created: str
    identity: Identity
    items: tuple[BaselineItem, ...]


def generating_config(config: Mapping[str, Any], invocation_dir: Path) -> Mapping[str, Any] | None:
    """The settings a run's answers were generated with: for a replay, those of the run it replays
    (followed through chains of replays), None when that run's results.json cannot be found."""
    seen: set[Path] = set()
    while config.get("replay"):
        source = invocation_dir / config["replay"]
        path = (source if source.is_dir() else source.parent).resolve() / RESULTS_FILE
        # `--replay reports/latest` can point back at a run already followed.
        if path in seen or not path.is_file():
            return None
        seen.add(path)
        try:
            config = json.loads(path.read_text(encoding="utf-8"))["config"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TaskbenchError(f"{path}: cannot read the settings of the replayed run: {exc}") from None
    return config


def run_identity(
    tier: str,
    dataset_sha256: str,
    generated_with: Mapping[str, Any] | None,
    model: Mapping[str, Any] | None,
    invocation_dir: Path,
    field_weights: Mapping[str, float] | None = None,
) -> Identity:
    """`generated_with` comes from `generating_config`; `model` is results.json's model record, if known;
    `field_weights` are those the run scores with."""
    return Identity(
        tier=tier,
        dataset_sha256=dataset_sha256,
        decoding=None if generated_with is None else {key: generated_with[key] for key in DECODING_KEYS},
        system_prompt_sha256=None if generated_with is None else _prompt_sha256(generated_with, invocation_dir),
        model_name=(model or {}).get("name"),
        model_identity=(model or {}).get("identity"),
        dataset_version=None if tier == "custom" else DATASET_VERSION,
        answer_mode=None if generated_with is None else _answer_mode(generated_with),
        field_weights=None if field_weights is None else dict(field_weights),
    )


def _answer_mode(config: Mapping[str, Any]) -> str:
    mode = config.get("answer_mode") or "content"
    return mode if mode == "content" else f"{mode} ({config.get('tool_choice') or 'auto'})"


def _prompt_sha256(config: Mapping[str, Any], invocation_dir: Path) -> str | None:
    path = invocation_dir / config["system_prompt"] if config.get("system_prompt") else DEFAULT_SYSTEM_PROMPT
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def incompatibilities(baseline: Identity, run: Identity) -> list[str]:
    """Why scores of `run` cannot be compared with `baseline`, as sentences; [] when they can."""
    problems = []
    if baseline.tier != run.tier:
        problems.append(f"tier {baseline.tier!r} in the baseline, {run.tier!r} in this run")
    if run.dataset_version is not None and baseline.dataset_version != run.dataset_version:
        problems.append(
            f"the baseline is of taskbench's dataset version {baseline.dataset_version}, this run of version "
            f"{run.dataset_version}: the shipped cases changed, so save a new baseline with --save-baseline"
        )
    elif baseline.dataset_sha256 != run.dataset_sha256:
        problems.append(
            f"dataset sha256 {baseline.dataset_sha256[:12]} in the baseline, {run.dataset_sha256[:12]} in this run "
            "(a case id may not mean the same case)"
        )
    for name, decoding in (("the baseline", baseline.decoding), ("this run", run.decoding)):
        if decoding is None:
            problems.append(
                f"the decoding settings of {name} are unknown (replayed answers without their results.json)"
            )
    if baseline.decoding is not None and run.decoding is not None:
        problems += [
            f"{key} {baseline.decoding[key]!r} in the baseline, {run.decoding[key]!r} in this run"
            for key in DECODING_KEYS
            if baseline.decoding[key] != run.decoding[key] and not (key == "seed" and _samples(baseline, run))
        ]
    if None not in (baseline.field_weights, run.field_weights) and baseline.field_weights != run.field_weights:
        problems.append(
            f"entity extraction's field weights {_weights(baseline.field_weights)} in the baseline, "
            f"{_weights(run.field_weights)} in this run (the same answer would score differently)"
        )
    return problems


def _weights(weights: Mapping[str, float] | None) -> str:
    return ", ".join(f"{name} {weight:g}" for name, weight in (weights or {}).items())


def _samples(baseline: Identity, run: Identity) -> bool:
    """Both runs sample at the same temperature above 0, so their seeds may differ."""
    assert baseline.decoding is not None and run.decoding is not None
    return baseline.decoding["temperature"] == run.decoding["temperature"] > 0


def differences(baseline: Identity, run: Identity) -> list[str]:
    """What legitimately changed since the baseline (what the gate judges), as sentences."""
    changes = []
    if baseline.decoding is not None and run.decoding is not None and baseline.decoding["seed"] != run.decoding["seed"]:
        changes.append(
            f"seed {baseline.decoding['seed']} in the baseline, {run.decoding['seed']} in this run: accepted at "
            f"temperature {run.decoding['temperature']:g} > 0, where another seed gives other samples of the same "
            "model; the regression checks count that as noise"
        )
    if (baseline.model_name, baseline.model_identity) != (run.model_name, run.model_identity):
        changes.append(f"model {baseline.describe_model()} -> {run.describe_model()}")
    if baseline.system_prompt_sha256 != run.system_prompt_sha256:
        before, after = (h[:12] if h else "unknown" for h in (baseline.system_prompt_sha256, run.system_prompt_sha256))
        changes.append(f"system prompt sha256 {before} -> {after}")
    if None not in (baseline.answer_mode, run.answer_mode) and baseline.answer_mode != run.answer_mode:
        changes.append(f"answer mode {baseline.answer_mode} -> {run.answer_mode}")
    return changes


def save_baseline(path: Path, results: Mapping[str, Any], identity: Identity) -> int:
    """Write the scored items of `results` to `path`; returns how many."""
    fields = BaselineItem.__dataclass_fields__
    items = [{key: item[key] for key in fields} for item in results["items"]]
    data = {
        "baseline_version": BASELINE_VERSION,
        "run_id": results["run_id"],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "identity": asdict(identity),
        "items": items,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise TaskbenchError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None
    return len(items)


def load_baseline(path: Path) -> Baseline:
    """Read a file written by `save_baseline`; a TaskbenchError naming the file and the problem otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaskbenchError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise TaskbenchError(f"{path}: not a taskbench baseline (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("baseline_version") != BASELINE_VERSION:
        raise TaskbenchError(
            f"{path}: not a taskbench baseline of version {BASELINE_VERSION} (write one with --save-baseline)"
        )
    try:
        identity = Identity(**data["identity"])
        items = tuple(BaselineItem(**item) for item in data["items"])
        run_id, created = str(data["run_id"]), str(data["created"])
    except (KeyError, TypeError) as exc:
        raise TaskbenchError(f"{path}: malformed baseline: {exc}") from None
    bad = [item.id for item in items if not (isinstance(item.score, int | float) and 0 <= item.score <= 1)]
    if bad:
        raise TaskbenchError(f"{path}: malformed baseline: scores outside [0, 1] for {', '.join(bad[:5])}")
    if len({item.id for item in items}) != len(items):
        raise TaskbenchError(f"{path}: malformed baseline: duplicate case ids")
    if not items:
        raise TaskbenchError(f"{path}: the baseline holds no scored cases")
    return Baseline(path, run_id, created, identity, items)
