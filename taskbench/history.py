"""`taskbench history [REPORTS_DIR]`: every run a reports folder holds, oldest first, as a terminal table and an
HTML page with a trend plot per capability.

Runs are set side by side only when their scores mean the same thing: the same tier, dataset version and scoring
settings (taskbench.results.comparability), over the whole tier. The newest full run is the reference; a run that
differs from it in any of these is marked not comparable, with the reason, and is never drawn on a trend line.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import fnmatch
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskbench.artifacts import LATEST_LINK, RESULTS_FILE, load_results
from taskbench.errors import TaskbenchError
from taskbench.paths import TIERS
from taskbench.reports.format import NO_VALUE, interval, percent
from taskbench.results.comparability import dataset_version, scoring_settings, settings_digest

HISTORY_HTML = "history.html"
AGGREGATE = "aggregate"


@dataclass(frozen=True)
class Estimate:
    value: float | None
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class HistoryRun:
    """One run as history shows it; `not_comparable` says why its scores cannot sit beside the reference's
    ("" when they can)."""

    path: Path
    run_id: str
    created: dt.datetime
    model: str
    tier: str
    dataset_version: str
    settings_digest: str
    scoring_settings: dict[str, Any]
    selected: int
    tier_size: int
    aggregate: Estimate
    capabilities: dict[str, Estimate]
    not_comparable: str = ""

    @property
    def comparable(self) -> bool:
        return not self.not_comparable

    @property
    def partial(self) -> bool:
        return self.selected != self.tier_size


@dataclass(frozen=True)
class Selection:
    """Which runs to show: a glob on the model name, a tier, and creation dates (inclusive, UTC)."""

    model: str | None = None
    tier: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def admits(self, run: HistoryRun) -> bool:
        day = run.created.astimezone(dt.UTC).date()
        return (
            (self.model is None or fnmatch.fnmatchcase(run.model, self.model))
            and (self.tier is None or run.tier == self.tier)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )


@dataclass(frozen=True)
class History:
    reports_dir: Path
    runs: list[HistoryRun]  # oldest first
    reference: HistoryRun | None
    capabilities: list[str]
    skipped: list[str] = field(default_factory=list)  # one line per run folder that could not be read


def read_run(path: Path) -> HistoryRun:
    """A run folder as history shows it; TaskbenchError naming the file when its results.json is not one."""
    results = load_results(path)
    try:
        summary = results["summary"]
        aggregate = summary["aggregate"]
        return HistoryRun(
            path=path,
            run_id=results["run_id"],
            created=dt.datetime.fromisoformat(results["created"]),
            model=(results.get("model") or {}).get("name") or "unknown",
            tier=results["dataset"]["tier"],
            dataset_version=dataset_version(results),
            settings_digest=settings_digest(results),
            scoring_settings=scoring_settings(results),
            selected=aggregate["selected"],
            tier_size=aggregate["tier_size"],
            aggregate=_estimate(aggregate["value"], aggregate.get("ci")),
            capabilities={
                name: _estimate(cell["mean"], cell.get("mean_ci")) for name, cell in summary["capabilities"].items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TaskbenchError(f"{path / RESULTS_FILE}: not a results.json taskbench can read ({exc!r})") from None


def _estimate(value: float | None, ci: Sequence[float] | None) -> Estimate:
    return Estimate(value, None if ci is None else (ci[0], ci[1]))


def collect_history(reports_dir: Path, selection: Selection = Selection()) -> History:
    """Every run folder of `reports_dir` that `selection` admits, marked comparable or not with the reference."""
    if not reports_dir.is_dir():
        raise TaskbenchError(f"{reports_dir}: no such reports folder")
    runs, skipped = [], []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir() and p.name != LATEST_LINK):
        if not (folder / RESULTS_FILE).is_file():
            skipped.append(f"{folder}: no {RESULTS_FILE} (a run that stopped before its end?)")
            continue
        try:
            run = read_run(folder)
        except TaskbenchError as exc:
            skipped.append(str(exc))
            continue
        if selection.admits(run):
            runs.append(run)
    runs.sort(key=lambda run: (run.created, run.run_id))
    if not runs:
        return History(reports_dir, [], None, [], skipped)
    reference = next((run for run in reversed(runs) if not run.partial), runs[-1])
    marked = [_mark(run, reference) for run in runs]
    capabilities = list(dict.fromkeys(name for run in runs for name in run.capabilities))
    return History(reports_dir, marked, marked[runs.index(reference)], capabilities, skipped)


def _mark(run: HistoryRun, reference: HistoryRun) -> HistoryRun:
    reasons = []
    if run.partial:
        reasons.append(f"partial run ({run.selected} of {run.tier_size} cases)")
    if run.tier != reference.tier:
        reasons.append(f"tier {run.tier}, not {reference.tier}")
    if run.dataset_version != reference.dataset_version:
        reasons.append(f"dataset version {run.dataset_version}, not {reference.dataset_version}")
    if run.settings_digest != reference.settings_digest:
        changed = _changed_settings(run.scoring_settings, reference.scoring_settings)
        reasons.append(f"settings {run.settings_digest}, not {reference.settings_digest} ({changed})")
    return dataclasses.replace(run, not_comparable="; ".join(reasons))


def _changed_settings(settings: Mapping[str, Any], reference: Mapping[str, Any]) -> str:
    """Which scoring settings differ, e.g. "field weights, temperature 0.8 vs 0"."""
    changed = []
    for group, values in settings.items():
        if group == "decoding":
            changed += [
                f"{key} {value} vs {reference[group].get(key)}"
                for key, value in values.items()
                if value != reference[group].get(key)
            ]
        elif values != reference[group]:
            changed.append(group.replace("_", " "))
    return ", ".join(changed)


# --- the terminal table --------------------------------------------------------------------------------------


def history_table(history: History) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"taskbench history: {len(history.runs)} runs in {history.reports_dir}, oldest first; "
        "mean score per capability",
        caption="comparable: the whole tier, with the tier, dataset version and settings of the newest full run "
        "(the reference)",
        title_justify="left",
        caption_justify="left",
    )
    for column in ("run", "date (UTC)", "model", "tier", "dataset", "settings"):
        table.add_column(column, no_wrap=column != "model", overflow="fold")
    table.add_column("aggregate [95% CI]", justify="right", no_wrap=True)
    for name in history.capabilities:
        table.add_column(name.replace("_", " "), justify="right")
    table.add_column("comparable")
    for run in history.runs:
        mark = "reference" if run is history.reference else "yes" if run.comparable else f"NO: {run.not_comparable}"
        cells = [
            run.run_id,
            run.created.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            run.model,
            run.tier,
            run.dataset_version,
            run.settings_digest,
            f"{percent(run.aggregate.value, 1)} {interval(run.aggregate.ci, 1)}",
            *(
                percent(run.capabilities[name].value, 1) if name in run.capabilities else NO_VALUE
                for name in history.capabilities
            ),
            mark,
        ]
        # Text, not markup: a model name or run id like "[bold]x" is shown as written.
        table.add_row(*map(Text, cells), style=None if run.comparable else "dim")
    return table


# --- the HTML page -------------------------------------------------------------------------------------------


def trend_svg(history: History, name: str) -> str:
    """The comparable runs' mean for capability `name` (or the aggregate) with 95 % intervals, oldest first."""
    from matplotlib.figure import Figure

    from taskbench.reports.html import FIGURE_DPI, data_uri, score_axis

    runs = [run for run in history.runs if run.comparable]
    points = [run.aggregate if name == AGGREGATE else run.capabilities.get(name, Estimate(None)) for run in runs]
    drawn = [(index, point) for index, point in enumerate(points) if point.value is not None]
    figure = Figure(figsize=(7, 3.2), dpi=FIGURE_DPI, layout="constrained")
    axes = figure.add_subplot()
    if drawn:
        x = [index for index, _ in drawn]
        y = [point.value for _, point in drawn]
        low = [point.value - point.ci[0] if point.ci else 0.0 for _, point in drawn]
        high = [point.ci[1] - point.value if point.ci else 0.0 for _, point in drawn]
        axes.errorbar(x, y, yerr=[low, high], marker="o", capsize=5, linewidth=1.5)
    axes.set_xticks(range(len(runs)), [f"{run.model}\n{run.created:%Y-%m-%d %H:%M}" for run in runs], fontsize=7)
    score_axis(axes, "mean score" if name != AGGREGATE else "weighted aggregate")
    axes.set_title(name, fontsize=10)
    return data_uri(figure)


def render_history_html(history: History) -> str:
    from taskbench.reports.html import template_environment

    names = [AGGREGATE, *history.capabilities]
    return (
        template_environment()
        .get_template("history.html.j2")
        .render(
            history=history,
            plots={name: trend_svg(history, name) for name in names} if history.runs else {},
        )
    )


# --- the command ---------------------------------------------------------------------------------------------


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history", help="list the runs of a reports folder, with a trend plot per capability (HTML)"
    )
    parser.add_argument(
        "reports_dir",
        type=Path,
        nargs="?",
        default=Path("reports"),
        metavar="REPORTS_DIR",
        help="folder of run folders (default: reports)",
    )
    parser.add_argument("--model", metavar="GLOB", help="only runs whose served model name matches (fnmatch)")
    parser.add_argument("--tier", choices=[*TIERS, "custom"], help="only runs of this tier")
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="only runs created on or after (UTC)")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="only runs created on or before (UTC)")
    parser.add_argument(
        "--html", type=Path, metavar="PATH", help=f"write the page here (default: REPORTS_DIR/{HISTORY_HTML})"
    )
    parser.set_defaults(run=run_history)


def run_history(args: argparse.Namespace) -> int:
    from rich.console import Console

    selection = Selection(args.model, args.tier, args.since, args.until)
    history = collect_history(args.reports_dir, selection)
    for line in history.skipped:
        print(f"taskbench history: skipped {line}", file=sys.stderr)
    if not history.runs:
        raise TaskbenchError(f"{args.reports_dir}: no run matches the selection")
    # A pipe or a CI log would get 80 columns, too few for a row of runs (and FORCE_COLOR must not shrink it).
    tty = sys.stdout.isatty()
    Console(force_terminal=tty, width=None if tty else 200).print(history_table(history))
    out = args.html if args.html is not None else args.reports_dir / HISTORY_HTML
    out.write_text(render_history_html(history), encoding="utf-8")
    print(f"taskbench history: {out}")
    return 0
