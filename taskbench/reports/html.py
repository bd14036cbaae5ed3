"""report.html: one self-contained page (inline CSS, JS and SVG plots; no network) to read a run by.

Case and model text is data. It reaches the page only through jinja2's autoescaping (never marked safe,
never put into a script, a URL or a template), plots label only capability, level and action names, and
a Content-Security-Policy allows no network at all and no script but the page's own (by hash), so even
a payload that slipped through escaping could not run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from taskbench.data.capabilities import LEVELS
from taskbench.reports.format import aggregate_text, consistency_rows, interval, percent
from taskbench.results.analysis import failing_items

OUTPUT_LIMIT = 600
FIGURE_DPI = 100


@functools.cache
def template_environment() -> jinja2.Environment:
    """The environment every taskbench page is rendered in: autoescaping on, undefined names an error. One
    per process, so each template is compiled once."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("taskbench.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.globals.update(percent=percent, interval=interval)
    return environment


def page_script(name: str) -> tuple[Markup, str]:
    """A script of taskbench's own (not data) and its CSP source expression, so it alone may run."""
    code = (resources.files("taskbench.reports") / "templates" / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")
    return Markup(code), f"'sha256-{digest}'"


def render_html(results: Mapping[str, Any]) -> str:
    """report.html of a run's results (as taskbench.results.build makes them)."""
    summary, analysis = results["summary"], results["analysis"]
    patterns = analysis["failure_patterns"]
    script, script_source = page_script("report.js")
    failures = [_failure_row(item) for item in failing_items(results["items"])]
    episodes, samples = results["episodes"], results["samples"]
    return (
        template_environment()
        .get_template("report.html.j2")
        .render(
            results=results,
            summary=summary,
            analysis=analysis,
            patterns=patterns,
            levels=LEVELS,
            aggregate=aggregate_text(summary),
            failures=failures,
            safety_count=sum(1 for row in failures if row["safety"]),
            episodes=episodes,
            episode_failures=[_episode_row(row) for row in episodes["failed"]] if episodes else [],
            samples=samples,
            consistency=consistency_rows(samples) if samples else [],
            changing=samples["changing"] if samples else [],
            fuzz=_fuzz_rows(results["fuzz_summary"]),
            plots={
                "heatmap": heatmap_svg(summary),
                "confusion": confusion_svg(patterns["action_confusion"]),
                "levels": level_plot_svg(summary, patterns["score_by_level"]),
            },
            script=script,
            script_source=script_source,
        )
    )


def _clipped(output: str) -> str:
    if len(output) > OUTPUT_LIMIT:
        return f"{output[:OUTPUT_LIMIT]}… ({len(output)} characters)"
    return output


def _failure_row(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "capability": item["capability"],
        "level": item["level"],
        "input": item["input"],
        "expected": json.dumps(item["expected"], ensure_ascii=False),
        "got": _clipped(item["output"]),
        "failure": item["failure"],
        "safety": item["safety"],
        "score": item["score"],
        "why": item["explanation"],
        "cut_off": item["finish_reason"] == "length",
    }


def _episode_row(failed: Mapping[str, Any]) -> dict[str, Any]:
    turn = failed["turn"]
    shown = {"number": "final", "user": "", "expected": "", "got": "", "why": ""}
    if turn is not None:
        shown = {
            "number": turn["number"],
            "user": turn["user"],
            "expected": json.dumps(turn["expected"], ensure_ascii=False),
            "got": _clipped(turn["output"]),
            "why": turn["explanation"],
        }
    return {**failed, **shown}


def _fuzz_rows(section: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The fuzz summary with every minimal failure's expected answer as JSON text and its output clipped."""
    if section is None:
        return None
    minimal = [
        {**row, "expected": json.dumps(row["expected"], ensure_ascii=False), "output": _clipped(row["output"])}
        for row in section["minimal"]
    ]
    return {**section, "minimal": minimal}


def heatmap_svg(summary: Mapping[str, Any]) -> str:
    """Capability x level mean scores, each cell labelled with its mean and interval."""
    names = list(summary["capabilities"])
    cells = [[summary["capabilities"][name]["levels"][level] for level in LEVELS] for name in names]
    means = np.array([[math.nan if c["mean"] is None else c["mean"] for c in row] for row in cells])
    figure = Figure(figsize=(8, 0.7 * len(names) + 1.4), dpi=FIGURE_DPI, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(means), cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    for row, row_cells in enumerate(cells):
        for column, cell in enumerate(row_cells):
            label = f"{percent(cell['mean'])}\n{interval(cell.get('mean_ci'))}" if cell["n"] else "no items"
            axes.text(column, row, label, ha="center", va="center", fontsize=9)
    _label_axes(axes, LEVELS, names)
    figure.colorbar(image, ax=axes, label="mean score")
    return data_uri(figure)


def confusion_svg(confusion: Mapping[str, Any]) -> str:
    """Expected action (rows) against the answer's action (columns); colour is the share of the row."""
    expected, got = confusion["expected"], confusion["got"]
    counts = np.array([[confusion["counts"][e].get(g, 0) for g in got] for e in expected], dtype=float)
    figure = Figure(figsize=(1.1 * max(len(got), 3) + 2, 0.6 * max(len(expected), 1) + 1.6), dpi=FIGURE_DPI)
    figure.set_layout_engine("constrained")
    axes = figure.add_subplot()
    if counts.size:
        shares = counts / counts.sum(axis=1, keepdims=True)
        axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for (row, column), count in np.ndenumerate(counts):
            if count:
                colour = "white" if shares[row, column] > 0.6 else "black"
                axes.text(column, row, f"{count:.0f}", ha="center", va="center", fontsize=9, color=colour)
    _label_axes(axes, got, expected)
    axes.set_xlabel("answer's action")
    axes.set_ylabel("expected action")
    return data_uri(figure)


def level_plot_svg(summary: Mapping[str, Any], by_level: Mapping[str, Any]) -> str:
    """Mean score per level over all capabilities with its 95 % interval, and each capability's line."""
    figure = Figure(figsize=(8, 4), dpi=FIGURE_DPI, layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(LEVELS))
    for name, cell in summary["capabilities"].items():
        means = [
            math.nan if cell["levels"][level]["mean"] is None else cell["levels"][level]["mean"] for level in LEVELS
        ]
        axes.plot(positions, means, marker=".", linewidth=1, alpha=0.6, label=name)
    overall = [s for s in by_level["levels"] if s["n"]]
    if overall:
        x = [LEVELS.index(s["level"]) for s in overall]
        y = np.array([s["mean"] for s in overall])
        errors = np.array([[s["mean"] - s["ci"][0] for s in overall], [s["ci"][1] - s["mean"] for s in overall]])
        axes.errorbar(x, y, yerr=errors, color="black", linewidth=2.5, capsize=6, marker="o", label="all (95% CI)")
    axes.set_xticks(positions, LEVELS)
    score_axis(axes, "mean score")
    axes.legend(loc="lower left", fontsize=8)
    return data_uri(figure)


def _label_axes(axes: Any, columns: Sequence[str], rows: Sequence[str]) -> None:
    axes.set_xticks(range(len(columns)), columns, rotation=20, ha="right")
    axes.set_yticks(range(len(rows)), rows)


def warm_up() -> None:
    """Compile the page template and draw a small figure of every kind the report has, so that the report
    process (taskbench.reports.process) pays matplotlib's first-draw costs (~0.15 s) before the run ends."""
    template_environment().get_template("report.html.j2")
    figure = Figure(figsize=(2, 1), dpi=FIGURE_DPI, layout="constrained")
    axes = figure.add_subplot()
    figure.colorbar(axes.imshow([[0.0, 1.0]], cmap="RdYlGn", vmin=0.0, vmax=1.0), ax=axes, label="warm-up")
    axes.text(0, 0, "0%", ha="center", va="center", fontsize=9)
    axes.errorbar([0], [0.5], yerr=[[0.1], [0.1]], capsize=6, marker="o", label="warm-up")
    axes.legend(loc="lower left", fontsize=8)
    _label_axes(axes, ["a", "b"], ["c"])
    data_uri(figure)


def score_axis(axes: Axes, ylabel: str) -> None:
    """A y axis of scores in [0, 1] shown as percentages, with a light grid: every score plot's."""
    axes.set_ylim(0.0, 1.05)
    axes.yaxis.set_major_formatter(lambda value, _: f"{100 * value:.0f}%")
    axes.set_ylabel(ylabel)
    axes.grid(axis="y", alpha=0.3)


def data_uri(figure: Figure) -> str:
    # SVG, not PNG: it skips rasterising (the plots render in ~0.25 s rather than ~0.45 s) and stays sharp when
    # zoomed. In an <img> it is only an image: an SVG loaded that way runs no script.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
