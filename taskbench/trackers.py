"""Experiment trackers: `--log-to mlflow` sends each run's params, metrics and report files to MLflow.

A tracker is a plugin object on the public hook `pytest_taskbench_results` (taskbench.hookspec), called once
results.json and the reports are written; a user's own plugin on the same hook sends results anywhere else (the
README's Weights & Biases example uses `run_params` and `run_metrics` from here). Registered through the `pytest11`
entry point; only the controller (or a serial run) sees results.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from taskbench.artifacts import REPORT_HTML, RESULTS_FILE, SUMMARY_MD
from taskbench.errors import TaskbenchError
from taskbench.options import resolve_settings
from taskbench.results.comparability import dataset_version, field_weights, settings_digest

TRACKERS = ("mlflow",)
LOGGED_FILES = (RESULTS_FILE, SUMMARY_MD, REPORT_HTML)


def run_params(results: Mapping[str, Any]) -> dict[str, str]:
    """What made the run: model, tier, dataset version, settings digest, every setting (server flags included)
    and the field weights, as flat string params."""
    model = results.get("model") or {}
    params: dict[str, Any] = {
        "run_id": results["run_id"],
        "taskbench_version": results.get("taskbench_version"),
        "model": model.get("name"),
        "model.identity": model.get("identity"),
        "model.vllm_version": model.get("vllm_version"),
        "tier": results["dataset"]["tier"],
        "dataset.version": dataset_version(results),
        "dataset.cases": results["dataset"]["cases"],
        "settings_digest": settings_digest(results),
        "replayed_from": results.get("replayed_from"),
        **{f"config.{key}": value for key, value in (results.get("config") or {}).items()},
        **{f"field_weight.{name}": weight for name, weight in field_weights(results).items()},
    }
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in params.items()}


def run_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    """The run's numbers as flat metrics: the aggregate, per capability and per capability x level (mean and pass
    rate, each with its interval bounds), pass@1 and pass^k when sampled, and the episodes' rates. Values the run
    does not have (a capability it did not cover) are left out, never logged as 0."""
    summary = results["summary"]
    metrics: dict[str, Any] = {
        "aggregate": summary["aggregate"]["value"],
        **_bounds("aggregate", summary["aggregate"].get("ci")),
    }
    for name, cell in summary["capabilities"].items():
        metrics.update(_cell_metrics(name, cell))
        for level, level_cell in cell["levels"].items():
            metrics.update(_cell_metrics(f"{name}.{level}", level_cell))
    samples = results.get("samples")
    if samples:
        for table in ("pass_at_1", "pass_hat_k"):
            values = samples[table]
            metrics[f"{table}.overall"] = values["overall"]
            metrics.update({f"{table}.{name}": value for name, value in values["by_capability"].items()})
            metrics.update({f"{table}.{level}": value for level, value in values["by_level"].items()})
    episodes = results.get("episodes")
    if episodes:
        metrics["episodes.pass_rate"] = episodes["pass_rate"]
        metrics.update(_bounds("episodes.pass_rate", [episodes.get("ci_low"), episodes.get("ci_high")]))
        metrics["episodes.turn_accuracy"] = episodes["turn_accuracy"]
    return {key: float(value) for key, value in metrics.items() if value is not None}


def _cell_metrics(prefix: str, cell: Mapping[str, Any]) -> dict[str, Any]:
    return {
        f"{prefix}.mean": cell["mean"],
        **_bounds(f"{prefix}.mean", cell.get("mean_ci")),
        f"{prefix}.pass_rate": cell["pass_rate"],
        **_bounds(f"{prefix}.pass_rate", cell.get("pass_rate_ci")),
    }


def _bounds(name: str, interval: Any) -> dict[str, Any]:
    low, high = interval if interval else (None, None)
    return {f"{name}.ci_low": low, f"{name}.ci_high": high}


class MlflowTracker:
    """Logs each run as one MLflow run, to MLFLOW_TRACKING_URI or MLflow's local default store."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_taskbench_results(self, session: pytest.Session, results: dict[str, Any], run_dir: Path) -> None:
        # MLflow's deprecations (its SQL store warns about its own use of SQLAlchemy) are not the user's to act
        # on, and would land in their run's warnings summary.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            message = self._log(results, run_dir)
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(message)

    def _log(self, results: dict[str, Any], run_dir: Path) -> str:
        """The run logged to MLflow; the line that says where, or why not."""
        import mlflow  # seconds to import: only when a run has results to log

        try:
            with mlflow.start_run(run_name=results["run_id"]) as run:
                mlflow.log_params(run_params(results))
                mlflow.log_metrics(run_metrics(results))
                mlflow.set_tags({"taskbench.run_dir": str(run_dir), "taskbench.complete": str(results["complete"])})
                for name in LOGGED_FILES:
                    if (run_dir / name).is_file():
                        mlflow.log_artifact(str(run_dir / name))
            return f"taskbench: logged to MLflow run {run.info.run_id} at {mlflow.get_tracking_uri()}"
        except Exception as exc:  # any tracker failure: the results are safe on disk; say why in one line
            first_line = next(iter(str(exc).splitlines()), "")
            return f"taskbench: could not log to MLflow ({type(exc).__name__}: {first_line})"


def _trackers(config: pytest.Config) -> list[Any]:
    """The tracker plugins --log-to asks for; a UsageError (one line) for an unknown name or a missing package."""
    try:
        names = resolve_settings(config).log_to
    except TaskbenchError:
        return []  # taskbench's own plugin reports a bad setting
    unknown = [name for name in names if name not in TRACKERS]
    if unknown:
        raise pytest.UsageError(f"taskbench: --log-to {unknown[0]!r} is not a tracker (known: {', '.join(TRACKERS)})")
    trackers = []
    if "mlflow" in names:
        if importlib.util.find_spec("mlflow") is None:  # find_spec: importing mlflow itself takes seconds
            raise pytest.UsageError(
                "taskbench: --log-to mlflow needs the mlflow package: pip install 'taskbench[mlflow]'"
            )
        trackers.append(MlflowTracker(config))
    return trackers


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("taskbench"):
        return  # only the controller (or a serial run) sees results; `-p no:taskbench` has none
    for index, tracker in enumerate(_trackers(config)):
        config.pluginmanager.register(tracker, f"taskbench-tracker-{index}")
