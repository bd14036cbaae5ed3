"""Every report of a run, written beside its results.json: summary.md, report.html, items.csv, items.parquet.

All of them are rendered from the results alone (every number and section is computed in
taskbench.results.build), so a fresh run, a replay and an imported run give the same reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from taskbench.artifacts import REPORT_HTML, SUMMARY_MD
from taskbench.reports.html import render_html
from taskbench.reports.markdown import render_markdown
from taskbench.reports.step_summary import append_to_step_summary
from taskbench.reports.tables import write_tables


def write_reports(run_dir: Path, results: Mapping[str, Any]) -> list[Path]:
    """Write every report into `run_dir`; also append summary.md to $GITHUB_STEP_SUMMARY when it is set."""
    run_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(results)
    summary_path = run_dir / SUMMARY_MD
    summary_path.write_text(markdown, encoding="utf-8")
    html_path = run_dir / REPORT_HTML
    html_path.write_text(render_html(results), encoding="utf-8")
    paths = [summary_path, html_path, *write_tables(run_dir, results["items"])]
    append_to_step_summary(markdown)
    return paths
