"""The collector: on the controller (or in a serial run), every item's record or error gathered from the
test reports, and at session end the run finished (taskbench.results.build.finish_run: results.json and
the reports) and its table printed after pytest's summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from taskbench.reports.process import ReportWriter
from taskbench.reports.terminal import write_summary
from taskbench.results.build import Collected, Results, ResultsOnly, finish_run
from taskbench.run import AnswerStore, RunInputs
from taskbench.scoring.episodes import EpisodeRecord
from taskbench.scoring.records import CaseError, EpisodeError, ItemRecord, case_brief, episode_brief
from taskbench.xdist import param_id

COLLECTOR = pytest.StashKey["Collector"]()


class Collector:
    """Registered as a plugin on the controller (or in a serial run) only: the one place results are written."""

    def __init__(self, config: pytest.Config, inputs: RunInputs, answers: AnswerStore, writer: ReportWriter) -> None:
        self.config = config
        self.inputs = inputs
        self.answers = answers
        self.writer = writer
        self.records: dict[str, ItemRecord] = {}
        self.errors: dict[str, CaseError] = {}
        self.episode_records: dict[str, EpisodeRecord] = {}
        self.episode_errors: dict[str, EpisodeError] = {}
        self.fuzz: list[dict[str, Any]] = []
        self.incomplete: list[str] = []  # why items may be missing (a worker crashed...)
        self.results: Results | None = None
        self.results_path: Path | None = None
        # Registered by pytest's own pytest_configure, which runs before taskbench's (trylast).
        self.terminal = config.pluginmanager.get_plugin("terminalreporter")

    def received(self) -> set[str]:
        """The ids of every case and episode whose record arrived."""
        return set(self.records) | set(self.episode_records)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.fuzz.extend(getattr(report, "taskbench_fuzz", ()))
        brief = getattr(report, "taskbench_case", None)
        records, errors = self.records, self.errors
        if brief is None and (brief := getattr(report, "taskbench_episode", None)) is not None:
            records, errors = self.episode_records, self.episode_errors
        if brief is not None and report.passed and report.when != "call" and not report.sections:
            self._forget_quiet_report(report)
        if brief is None and report.when == "???":
            brief, records, errors = self._crashed_item(report.nodeid)
        if brief is None:
            return
        record = getattr(report, "taskbench_record", None)
        if record is not None:
            records[record["id"]] = record
            errors.pop(record["id"], None)
        elif report.failed and report.when != "teardown":
            message = report.longreprtext[-2000:]
            # pytest-xdist names the phase a worker crashed in "???".
            when = "crashed" if report.when == "???" else report.when
            errors[brief["id"]] = {**brief, "when": when, "message": message}

    def _crashed_item(self, node_id: str) -> tuple[Mapping[str, Any] | None, dict[str, Any], dict[str, Any]]:
        # pytest-xdist's report for the item a crashed worker was running carries only its node id.
        param = param_id(node_id) or ""
        case = self.inputs.case_by_id().get(param)
        if case is not None:
            return case_brief(case), self.records, self.errors
        episode = self.inputs.episode_by_id().get(param)
        brief = None if episode is None else episode_brief(episode)
        return brief, self.episode_records, self.episode_errors

    def _forget_quiet_report(self, report: pytest.TestReport) -> None:
        # The terminal reporter keeps every passed setup/teardown report and, for each failure, scans them
        # all for its teardown output: O(failures x items), most of a 10k-item replay. An item's setup or
        # teardown with no output has nothing to show there, so its report is not kept (it was just added).
        # No public hook does this: pytest_report_teststatus can only file a report under another category,
        # and the terminal reporter keeps (and counts in its summary line) every category.
        kept = self.terminal.stats.get("") if self.terminal is not None else None
        if kept and kept[-1] is report:
            kept.pop()

    def collected(self) -> Collected:
        inputs, answers = self.inputs, self.answers
        return Collected(
            run_id=inputs.run_id,
            settings=inputs.settings,
            capabilities=inputs.capabilities,
            dataset=inputs.dataset,
            model=answers.model,
            generation=answers.generation,
            episode_mode=inputs.episode_mode,
            selected_cases=answers.selected_cases,
            selected_episodes=answers.selected_episodes,
            records=self.records,
            errors=self.errors,
            episode_records=self.episode_records,
            episode_errors=self.episode_errors,
            fuzz=self.fuzz,
            incomplete=self.incomplete,
            warnings=answers.warnings,
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.records or self.errors or self.answers.generation is not None:
            run_dir = self.inputs.run_dir
            generation = self.answers.generation
            reports = ResultsOnly() if generation is not None and generation.interrupted else self.writer
            self.results, self.results_path = finish_run(self.collected(), run_dir, reports)
            session.config.hook.pytest_taskbench_results(session=session, results=self.results, run_dir=run_dir)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.results is not None and self.results_path is not None:
            write_summary(terminalreporter, self.results, self.results_path)

    def close(self) -> None:
        self.writer.close()
