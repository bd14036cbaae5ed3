"""The sweep report, read from sweep.json's numbers (taskbench.results.sweep): sweep.json, sweep.md (a table per
capability and the aggregate across models, the best model and its comparison with the runner-up) and sweep.html
(the same table and a plot of every capability and the aggregate across the models, with 95 % intervals), in the
sweep folder; and the lines printed after pytest's summary."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from taskbench.reports.format import interval, markdown_text, percent

SWEEP_JSON = "sweep.json"
SWEEP_MD = "sweep.md"
SWEEP_HTML = "sweep.html"
AGGREGATE = "aggregate"


def write_sweep_reports(folder: Path, report: Mapping[str, Any]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / SWEEP_JSON, folder / SWEEP_MD, folder / SWEEP_HTML]
    paths[0].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(render_sweep_markdown(report), encoding="utf-8")
    paths[2].write_text(render_sweep_html(report), encoding="utf-8")
    return paths


def _rows(report: Mapping[str, Any]) -> list[tuple[str, list[tuple[float | None, Sequence[float] | None]]]]:
    """(column name, one (value, interval) per model) for the aggregate, then each capability."""
    models = report["models"]
    columns = [(AGGREGATE, [(m["aggregate"]["value"], m["aggregate"]["ci"]) for m in models])]
    for name in report["capabilities"]:
        cells = [
            (m["capabilities"].get(name, {}).get("mean"), m["capabilities"].get(name, {}).get("ci")) for m in models
        ]
        if any(value is not None for value, _ in cells):
            columns.append((name, cells))
    return columns


def _cell(value: float | None, ci: Sequence[float] | None) -> str:
    return f"{percent(value, 1)} {interval(ci)}".strip()


def render_sweep_markdown(report: Mapping[str, Any]) -> str:
    columns = _rows(report)
    lines = [f"# Sweep {markdown_text(report['run_id'])}", ""]
    lines += [
        f"{len(report['models'])} models on the same cases; mean score with its 95 % interval (clustered by template). "
        "Each model's run folder (results.json, summary.md, report.html) is named by its label.",
        "",
        "| model | " + " | ".join(name for name, _ in columns) + " |",
        "|---|" + "--:|" * len(columns),
    ]
    for index, model in enumerate(report["models"]):
        mark = " (best)" if model["label"] == report["best"] else ""
        cells = " | ".join(_cell(*cells[index]) for _, cells in columns)
        lines.append(f"| {markdown_text(model['label'])}{mark} | {cells} |")
    lines += ["", *_verdict_lines(report)]
    return "\n".join(lines) + "\n"


def _verdict_lines(report: Mapping[str, Any]) -> list[str]:
    comparison = report["comparison"]
    if report["best"] is None:
        return ["No model has a weighted aggregate (nothing was scored)."]
    if comparison is None:
        return [f"Best model: **{markdown_text(report['best'])}** (no other model to compare it with)."]
    lines = [f"Best model: **{markdown_text(report['best'])}**. {markdown_text(comparison['statement'], limit=600)}"]
    lines += ["", "| best − runner-up | difference [95% CI] | p | detectable (80% power) |", "|---|--:|--:|--:|"]
    for name, row in [(AGGREGATE, comparison), *comparison["capabilities"].items()]:
        star = " *" if row["significant"] else ""
        lines.append(
            f"| {name} | {100 * row['difference']:+.1f} pt [{100 * row['ci'][0]:+.1f}, {100 * row['ci'][1]:+.1f}]"
            f"{star} | {row['p_value']:.3g} | {100 * row['detectable']:.1f} pt |"
        )
    lines += [
        "",
        "\\* significant at two-sided alpha 0.05; per capability, uncorrected for the number of capabilities.",
    ]
    return lines


def sweep_plot_svg(report: Mapping[str, Any]) -> str:
    """Every capability and the aggregate across the models (in the sweep's order), with 95 % intervals."""
    from matplotlib.figure import Figure

    from taskbench.reports.html import FIGURE_DPI, data_uri, score_axis

    labels = [model["label"] for model in report["models"]]
    figure = Figure(figsize=(8, 4.2), dpi=FIGURE_DPI, layout="constrained")
    axes = figure.add_subplot()
    for name, cells in _rows(report):
        points = [(x, value, ci) for x, (value, ci) in enumerate(cells) if value is not None]
        if not points:
            continue
        x = [point[0] for point in points]
        y = [point[1] for point in points]
        low = [value - ci[0] if ci else 0.0 for _, value, ci in points]
        high = [ci[1] - value if ci else 0.0 for _, value, ci in points]
        aggregate = name == AGGREGATE
        axes.errorbar(
            x,
            y,
            yerr=[low, high],
            marker="o",
            capsize=4,
            linewidth=2.5 if aggregate else 1.2,
            color="black" if aggregate else None,
            alpha=1.0 if aggregate else 0.75,
            label="weighted aggregate" if aggregate else name,
        )
    axes.set_xticks(range(len(labels)), labels, rotation=15, ha="right", fontsize=8)
    score_axis(axes, "mean score (95% CI)")
    axes.legend(loc="lower right", fontsize=8)
    return data_uri(figure)


def render_sweep_html(report: Mapping[str, Any]) -> str:
    columns = _rows(report)
    escape = html.escape
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in columns)
    body = []
    for index, model in enumerate(report["models"]):
        best = model["label"] == report["best"]
        cells = "".join(f"<td>{escape(_cell(*cells[index]))}</td>" for _, cells in columns)
        link = f'<a href="{escape(model["run_dir"])}/report.html">{escape(model["label"])}</a>'
        body.append(f"<tr{' class=best' if best else ''}><td>{link}{' (best)' if best else ''}</td>{cells}</tr>")
    comparison = report["comparison"]
    verdict = escape(comparison["statement"]) if comparison else escape(" ".join(_verdict_lines(report)))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>taskbench sweep {escape(report["run_id"])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}td:first-child{{text-align:left}}
tr.best{{font-weight:bold;background:#eef7ee}}</style></head>
<body><h1>Sweep {escape(report["run_id"])}</h1>
<p>{len(report["models"])} models on the same cases: mean score with its 95 % interval (clustered by template).</p>
<table><thead><tr><th>model</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
<p>{verdict}</p>
<img alt="scores across the models" src="{sweep_plot_svg(report)}">
</body></html>
"""


def terminal_lines(report: Mapping[str, Any], paths: Sequence[Path]) -> list[str]:
    """The sweep table as plain text for the terminal (no Markdown), the verdict, and where the files are."""
    columns = _rows(report)
    width = max(len(model["label"]) for model in report["models"]) + 7
    header = "model".ljust(width) + "".join(name[:18].rjust(20) for name, _ in columns)
    lines = ["", "taskbench sweep", header]
    for index, model in enumerate(report["models"]):
        label = model["label"] + (" (best)" if model["label"] == report["best"] else "")
        lines.append(label.ljust(width) + "".join(_cell(*cells[index]).rjust(20) for _, cells in columns))
    comparison = report["comparison"]
    lines.append(comparison["statement"] if comparison else f"best model: {report['best']}")
    lines += [f"sweep report: {path}" for path in paths]
    return lines
