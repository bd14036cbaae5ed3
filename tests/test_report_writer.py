"""taskbench.reports.process: the reports written by a real second process, and written anyway when it fails."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from synthetic_results import synthetic_results

from taskbench.reports.process import ReportWriter
from taskbench.reports.step_summary import GITHUB_STEP_SUMMARY
from taskbench.reports.write import write_reports

REPORT_FILES = ["summary.md", "report.html", "items.csv", "items.parquet"]


@pytest.fixture(scope="module")
def results() -> dict:
    return synthetic_results(seed=9)


@pytest.fixture(scope="module")
def in_process(results: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("in-process")
    write_reports(run_dir, results)
    return run_dir


def write_with(writer: ReportWriter, run_dir: Path, results: dict) -> list[Path]:
    try:
        writer.submit(run_dir, results)
        return writer.wait()
    finally:
        writer.close()


def assert_same_reports(run_dir: Path, reference: Path) -> None:
    for name in ("summary.md", "items.csv", "items.parquet"):
        assert (run_dir / name).read_bytes() == (reference / name).read_bytes(), name
    assert (run_dir / "report.html").stat().st_size > 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_report_process_writes_what_the_run_would(results: dict, in_process: Path, tmp_path: Path) -> None:
    said: list[str] = []
    writer = ReportWriter(said.append)
    writer.start()
    pid = writer.pid
    assert pid is not None and pid != os.getpid()
    paths = write_with(writer, tmp_path, results)
    assert [p.name for p in paths] == REPORT_FILES
    assert_same_reports(tmp_path, in_process)
    assert said == []


def test_a_killed_report_process_leaves_the_writing_to_the_run(results: dict, in_process: Path, tmp_path: Path) -> None:
    said: list[str] = []
    writer = ReportWriter(said.append)
    writer.start()
    os.kill(writer.pid, 9)
    paths = write_with(writer, tmp_path, results)
    assert [p.name for p in paths] == REPORT_FILES
    assert_same_reports(tmp_path, in_process)
    assert len(said) == 1 and "the report process failed (exit -9" in said[0] and "writing the reports here" in said[0]


def test_a_report_process_that_cannot_start_is_said_and_the_run_writes(
    results: dict, in_process: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    said: list[str] = []
    writer = ReportWriter(said.append)
    writer.start()
    assert writer.pid is None
    write_with(writer, tmp_path / "run", results)
    assert_same_reports(tmp_path / "run", in_process)
    assert len(said) == 1 and said[0].startswith("taskbench: could not start the report process")


def test_a_failing_job_names_its_error_and_the_run_raises_it(results: dict, tmp_path: Path) -> None:
    said: list[str] = []
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    writer = ReportWriter(said.append)
    writer.start()
    with pytest.raises(OSError):
        write_with(writer, blocked / "run", results)
    assert len(said) == 1 and "the report process failed (exit 1: " in said[0] and "Error" in said[0]


def test_closing_without_results_ends_the_process(tmp_path: Path) -> None:
    writer = ReportWriter(lambda line: None)
    writer.start()
    pid = writer.pid
    writer.close()
    assert pid is not None and not alive(pid)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_at_the_terminal_does_not_reach_the_report_process() -> None:
    writer = ReportWriter(lambda line: None)
    writer.start()
    try:
        assert os.getpgid(writer.pid) != os.getpgid(0), "a terminal's SIGINT goes to the run's process group"
    finally:
        writer.close()


def test_the_report_process_appends_the_summary_to_the_github_step_summary(
    results: dict, in_process: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv(GITHUB_STEP_SUMMARY, str(step_summary))
    writer = ReportWriter(lambda line: None)
    writer.start()
    write_with(writer, tmp_path / "run", results)
    summary = (in_process / "summary.md").read_text(encoding="utf-8")
    assert step_summary.read_text(encoding="utf-8").startswith("earlier step\n")
    assert summary.strip() in step_summary.read_text(encoding="utf-8")
