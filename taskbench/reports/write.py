"""Every report of a run, written beside its results.json: summary.md, report.html, items.csv, items.parquet.

All of them are rendered from the results dict alone, so a fresh run, a replay and an old results.json
give the same reports.
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
from taskbench.results.aggregate import summary_with_statistics
from taskbench.results.analysis import analyse


def prepare(results: Mapping[str, Any]) -> dict[str, Any]:
    """`results` with summary statistics and an analysis, computed from the items where the file lacks them."""
    prepared = {**results, "summary": summary_with_statistics(results)}
    if "analysis" not in prepared:
        prepared["analysis"] = analyse(prepared)
    return prepared


def write_reports(run_dir: Path, results: Mapping[str, Any]) -> list[Path]:
    """Write every report into `run_dir`; also append summary.md to $GITHUB_STEP_SUMMARY when it is set."""
    prepared = prepare(results)
    run_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(prepared)
    summary_path = run_dir / SUMMARY_MD
    summary_path.write_text(markdown, encoding="utf-8")
    html_path = run_dir / REPORT_HTML
    html_path.write_text(render_html(prepared), encoding="utf-8")
    paths = [summary_path, html_path, *write_tables(run_dir, prepared["items"])]
    append_to_step_summary(markdown)
    return paths
