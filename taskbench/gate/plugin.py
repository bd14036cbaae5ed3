"""The pre-merge gate, a pytest plugin (entry point `taskbench-gate`): one verdict and one exit code per run.

Configured by the gate rows of taskbench.options (`[tool.taskbench.gate]`, TASKBENCH_GATE_*, --gate-*); the
checks are taskbench.gate.checks. It reads the run's inputs from taskbench's RUN_INPUTS stash key before the
run (to refuse an incomparable baseline before anything is generated) and judges the results the
`pytest_taskbench_results` hook delivers after it.

A passing gate leaves pytest's exit status alone (1 when items failed) unless `--gate-only` is given: then item
failures are informational and the exit status is the gate's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from taskbench.artifacts import GATE_JSON, GATE_MD
from taskbench.data.capabilities import load_capability_config
from taskbench.errors import TaskbenchError
from taskbench.gate.baseline import (
    Baseline,
    Identity,
    differences,
    generating_config,
    incompatibilities,
    load_baseline,
    run_identity,
    save_baseline,
)
from taskbench.gate.checks import MARKS, Check, Outcome, Verdict, evaluate, render_markdown, verdict_line
from taskbench.options import GateSettings, resolve_gate_settings
from taskbench.reports.step_summary import append_to_step_summary
from taskbench.run import RUN_INPUTS

GATE_VERSION = 2


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("taskbench"):
        return  # only the controller (or a serial run) sees results; `-p no:taskbench` has none
    try:
        settings = resolve_gate_settings(config, load_capability_config().names)
        baseline = load_baseline(settings.baseline) if settings.baseline is not None else None
    except TaskbenchError as exc:
        raise pytest.UsageError(f"taskbench gate: {exc}") from None
    if settings.active or settings.save_baseline is not None:
        config.pluginmanager.register(Gate(config, settings, baseline), "taskbench-gate-verdict")


class Gate:
    """Refuses an incomparable baseline before the run; judges the results after it."""

    def __init__(self, config: pytest.Config, settings: GateSettings, baseline: Baseline | None) -> None:
        self.config = config
        self.settings = settings
        self.baseline = baseline
        self.generated_with: Mapping[str, Any] | None = None
        self.verdict: Verdict | None = None
        self.verdict_path: Path | None = None
        self.pytest_status: int | None = None  # set when pytest's own status was not OK/failed and was kept

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        inputs = self.config.stash[RUN_INPUTS]
        try:
            # Read now: a `--replay reports/latest` points at this run itself once its results are written.
            self.generated_with = generating_config(inputs.settings.public(), inputs.invocation_dir)
            if self.baseline is None:
                return
            tier = "custom" if inputs.settings.cases is not None else inputs.settings.tier
            identity = run_identity(
                tier,
                inputs.dataset.content_hash,
                self.generated_with,
                None,
                inputs.invocation_dir,
                inputs.capabilities.field_weights,
            )
        except TaskbenchError as exc:
            raise pytest.UsageError(f"taskbench gate: {exc}") from None
        problems = incompatibilities(self.baseline.identity, identity)
        if problems:
            raise pytest.UsageError(
                f"taskbench gate: {self.baseline.path}: baseline refused, its scores cannot be compared with this "
                f"run: {'; '.join(problems)}. Compare runs of the same tier, dataset, decoding settings and field "
                "weights."
            )

    def pytest_taskbench_results(self, session: pytest.Session, results: dict[str, Any], run_dir: Path) -> None:
        identity = run_identity(
            results["dataset"]["tier"],
            results["dataset"]["content_hash"],
            self.generated_with,
            results["model"],
            self.config.invocation_params.dir,
            self.config.stash[RUN_INPUTS].capabilities.field_weights,
        )
        saved = [self._save(results, identity)] if self.settings.save_baseline is not None else []
        verdict = Verdict(tuple(saved), ())
        if self.settings.active:
            judged = evaluate(results, self.settings, self.baseline)
            changes = () if self.baseline is None else differences(self.baseline.identity, identity)
            notes = (*judged.notes, *(f"changed since the baseline: {change}" for change in changes))
            verdict = Verdict((*saved, *judged.checks), notes, judged.family)
        self.verdict = verdict
        if self.settings.active:
            self.verdict_path = self._write(run_dir, results["run_id"])
        status = int(session.exitstatus)
        if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.pytest_status = status  # interrupted, internal error...: pytest's own status stands
        elif verdict.outcome is not Outcome.PASSED:
            session.exitstatus = verdict.exit_code
        elif self.settings.only:
            session.exitstatus = pytest.ExitCode.OK

    def _save(self, results: Mapping[str, Any], identity: Identity) -> Check:
        path = self.settings.save_baseline
        if not results["complete"]:
            why = "; ".join(results["incomplete_reasons"]) or f"{len(results['errors'])} items errored"
            return Check(
                "save_baseline", Outcome.INFRASTRUCTURE, f"baseline NOT saved to {path}: incomplete run ({why})"
            )
        try:
            count = save_baseline(path, results, identity)
        except TaskbenchError as exc:
            return Check("save_baseline", Outcome.INFRASTRUCTURE, f"baseline NOT saved: {exc}")
        return Check("save_baseline", Outcome.PASSED, f"baseline saved to {path} ({count} cases)", {"cases": count})

    def _write(self, run_dir: Path, run_id: str) -> Path:
        verdict = self.verdict
        assert verdict is not None
        data = {
            "gate_version": GATE_VERSION,
            "run_id": run_id,
            "verdict": verdict.outcome.value,
            "exit_code": verdict.exit_code,
            "family": verdict.family,
            "settings": self.settings.public(),
            "baseline": None if self.baseline is None else str(self.baseline.path),
            "checks": [asdict(check) for check in verdict.checks],
            "notes": list(verdict.notes),
        }
        path = run_dir / GATE_JSON
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        markdown = render_markdown(verdict)
        (run_dir / GATE_MD).write_text(markdown, encoding="utf-8")
        append_to_step_summary(markdown)
        return path

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        verdict = self.verdict
        if verdict is None and not self.settings.active:
            return
        terminalreporter.section("taskbench gate", sep="=")
        if verdict is None:
            terminalreporter.write_line("gate not evaluated: the run produced no results", red=True)
            return
        for check in verdict.checks:
            passed = check.outcome is Outcome.PASSED
            terminalreporter.write_line(f"{MARKS[check.outcome]:8} {check.message}", green=passed, red=not passed)
        for note in verdict.notes:
            terminalreporter.write_line(note)
        if self.settings.active:
            terminalreporter.write_line(verdict_line(verdict, self.settings.only), bold=True)
            if self.pytest_status is not None:
                terminalreporter.write_line(f"pytest ended with exit status {self.pytest_status}: that status stands")
            terminalreporter.write_line(f"gate: {self.verdict_path}")
