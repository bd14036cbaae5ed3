"""`taskbench compare RUN_A RUN_B`: what changed from run A to run B, on the cases both scored.

Deltas are B - A with paired intervals clustered by template (taskbench.gate.paired, the gate's own pairing),
per capability and for the weighted aggregate over the capabilities both runs cover, with their real weights
(never renormalised). Beside each, the drop the gate would detect with 80 % power at --alpha over this family of
checks (Holm's first step); with --max-regression, a plain sentence for each check that cannot detect that drop.
Per capability, each field's accuracy (right / checked, taskbench.results.analysis.field_accuracy) in both runs
with its paired delta over the cases both checked it, and a headline naming the field that fell most. How the
cases moved between failure kinds (none, invalid_json, wrong_action, wrong_field, ...). Cases that flipped
pass -> fail (regressions) and fail -> pass (fixes) are listed.

Shown as rich tables on a terminal, or as Markdown or HTML (--format); without --out, compare.md is also
written into B's run folder.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from taskbench.artifacts import load_results, results_path
from taskbench.errors import TaskbenchError
from taskbench.gate.checks import POWER, RegressionRule
from taskbench.gate.paired import Item, Pair, PairedDelta, field_deltas, pair_runs
from taskbench.options import argument_type, fraction, significance_level
from taskbench.reports.format import markdown_text, percent, terminal_text
from taskbench.reports.html import template_environment
from taskbench.reports.terminal import command_console
from taskbench.results.aggregate import CONFIDENCE
from taskbench.results.analysis import FieldAccuracy, field_accuracy
from taskbench.results.comparability import field_weight_difference

FORMATS = ("terminal", "md", "html")
MARKDOWN_FILE = "compare.md"
MOVE_EXAMPLES = 3
PROSE_LIMIT = 1000


@dataclass(frozen=True)
class Run:
    """A results dict and where it was read from."""

    source: str
    results: Mapping[str, Any]


@dataclass(frozen=True)
class Delta:
    """B - A over `n` common cases: the two means, the paired interval of their difference and the drop the gate
    would detect with 80 % power (NaN for a field's accuracy, which no gate check tests)."""

    name: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    low: float
    high: float
    detectable_drop: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class FieldChange:
    """One field of one capability: its counts in each run over the common cases, and the paired delta of its
    accuracy over the cases both runs checked it on (None when there is no such case)."""

    capability: str
    name: str
    a: FieldAccuracy
    b: FieldAccuracy
    delta: Delta | None


@dataclass(frozen=True)
class KindCount:
    kind: str
    count_a: int
    count_b: int


@dataclass(frozen=True)
class KindMove:
    """Common cases whose failure kind was `kind_a` in A and `kind_b` in B."""

    kind_a: str
    kind_b: str
    n: int
    capabilities: dict[str, int]
    examples: list[str]


@dataclass(frozen=True)
class Flip:
    id: str
    capability: str
    level: str
    score_a: float
    score_b: float
    failure_b: str
    explanation_b: str


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    common: int
    only_a: int
    only_b: int
    capabilities: list[Delta]
    aggregate: Delta
    aggregate_weight: float
    fields: list[FieldChange]
    kinds: list[KindCount]
    moves: list[KindMove]
    regressions: list[Flip]
    fixes: list[Flip]
    warnings: list[str]
    alpha: float
    undetectable: list[str]  # with --max-regression: the checks that cannot detect that drop, as sentences

    @property
    def headline(self) -> str:
        """One line: the field whose accuracy fell most, in its capability."""
        fallen = [(f, f.delta) for f in self.fields if f.delta is not None and f.delta.delta < 0]
        if not fallen:
            return "No field's accuracy fell on the cases both runs checked."
        worst, d = min(fallen, key=lambda entry: (entry[1].delta, entry[1].high))
        capability = next(d for d in self.capabilities if d.name == worst.capability)
        change = capability.delta
        moved = "held" if change == 0 else f"{'fell' if change < 0 else 'rose'} {abs(100 * change):.1f} pt"
        return (
            f"{worst.capability} {moved}: {worst.name} accuracy {percent(d.mean_a, 1)} → {percent(d.mean_b, 1)} "
            f"({_signed(d.delta)}, {100 * CONFIDENCE:.0f}% CI {_delta_interval(d)}; {d.n} cases both checked)"
        )


def load_run(path: Path) -> Run:
    """A run folder (its results.json) or a results.json itself."""
    return Run(str(path), load_results(path))


def compare_runs(run_a: Run, run_b: Run, *, alpha: float = 0.05, max_regression: float | None = None) -> Comparison:
    """Compare on the case ids both runs scored; TaskbenchError naming both when they share none or were scored
    with different field weights."""
    weights_changed = field_weight_difference(run_a.results, run_b.results)
    if weights_changed:
        raise TaskbenchError(
            f"{run_a.source} and {run_b.source} were scored with different entity_extraction field weights "
            f"({weights_changed}), so their scores do not measure the same thing: replay one run with the other's "
            "weights in fixtures/capabilities.toml (pytest evals/ --replay RUN) and compare the replay"
        )
    paired = pair_runs(run_a.results["items"], run_b.results["items"], _weights(run_a.results))
    if paired is None:
        raise TaskbenchError(
            f"{run_a.source} and {run_b.source} share no case ids: nothing to compare "
            f"({len(run_a.results['items'])} and {len(run_b.results['items'])} scored items)"
        )
    rule = RegressionRule(alpha=alpha, max_regression=max_regression or 0.0)
    checks = len(paired.deltas)
    capabilities = [_delta(delta, rule, checks) for delta in paired.capabilities]
    aggregate = _delta(paired.aggregate, rule, checks)
    undetectable = []
    if max_regression is not None:
        undetectable = [
            f"{delta.name}: this comparison cannot detect a drop of {100 * max_regression:.1f} pt; it can detect "
            f"{100 * delta.detectable_drop:.1f} pt"
            for delta in [*capabilities, aggregate]
            if max_regression < delta.detectable_drop
        ]
    return Comparison(
        a=run_a.source,
        b=run_b.source,
        common=paired.common,
        only_a=paired.only_a,
        only_b=paired.only_b,
        capabilities=capabilities,
        aggregate=aggregate,
        aggregate_weight=paired.aggregate_weight,
        fields=_field_changes(paired.pairs, [delta.name for delta in capabilities]),
        kinds=_kind_counts(paired.pairs),
        moves=_kind_moves(paired.pairs),
        regressions=[_flip(a, b) for a, b in paired.aggregate.flipped],
        fixes=[_flip(a, b) for a, b in paired.aggregate.fixed],
        warnings=_warnings(run_a, run_b),
        alpha=alpha,
        undetectable=undetectable,
    )


def _weights(results: Mapping[str, Any]) -> dict[str, float]:
    return {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()}


def _delta(paired: PairedDelta, rule: RegressionRule | None, checks: int) -> Delta:
    """`rule` None: no gate check stands behind this delta (a field), so it has no detectable drop."""
    low, high = paired.interval(CONFIDENCE)
    # A difference of two means of scores in [0, 1] lies in [-1, 1]; the skew correction may reach past it.
    low, high = max(low, -1.0), min(high, 1.0)
    detectable = math.nan if rule is None else float(rule.detectable_drop(paired.test, checks))
    return Delta(paired.name, paired.n, paired.mean_a, paired.mean_b, paired.delta, low, high, detectable)


def _field_changes(pairs: Sequence[Pair], capabilities: Sequence[str]) -> list[FieldChange]:
    changes = []
    for capability in capabilities:
        group = [pair for pair in pairs if pair[0]["capability"] == capability]
        counts_a = field_accuracy([a for a, _ in group]).get(capability, {})
        counts_b = field_accuracy([b for _, b in group]).get(capability, {})
        deltas = field_deltas(group)
        empty = FieldAccuracy(0, 0, 0, 0, 0, 0)
        changes += [
            FieldChange(
                capability,
                name,
                counts_a.get(name, empty),
                counts_b.get(name, empty),
                _delta(deltas[name], None, 1) if name in deltas else None,
            )
            for name in sorted(counts_a.keys() | counts_b.keys())
        ]
    return changes


def _kind_counts(pairs: Sequence[Pair]) -> list[KindCount]:
    """Every failure kind either run has on the common cases, most frequent in A first."""
    count_a = Counter(a["failure"] for a, _ in pairs)
    count_b = Counter(b["failure"] for _, b in pairs)
    kinds = sorted(count_a.keys() | count_b.keys(), key=lambda kind: (-count_a[kind], -count_b[kind], kind))
    return [KindCount(kind, count_a[kind], count_b[kind]) for kind in kinds]


def _kind_moves(pairs: Sequence[Pair]) -> list[KindMove]:
    """The common cases whose failure kind changed, by (kind in A, kind in B), most cases first."""
    moved: dict[tuple[str, str], list[Item]] = {}
    for a, b in pairs:
        if a["failure"] != b["failure"]:
            moved.setdefault((a["failure"], b["failure"]), []).append(a)
    return [
        KindMove(
            kind_a,
            kind_b,
            len(items),
            dict(Counter(item["capability"] for item in items).most_common()),
            [item["id"] for item in items[:MOVE_EXAMPLES]],
        )
        for (kind_a, kind_b), items in sorted(moved.items(), key=lambda entry: (-len(entry[1]), entry[0]))
    ]


def _flip(a: Item, b: Item) -> Flip:
    return Flip(a["id"], a["capability"], a["level"], a["score"], b["score"], b["failure"], b["explanation"])


def _warnings(run_a: Run, run_b: Run) -> list[str]:
    a, b = run_a.results, run_b.results
    warnings = []
    tier_a, tier_b = a["dataset"]["tier"], b["dataset"]["tier"]
    if tier_a != tier_b:
        warnings.append(f"the runs use different tiers: {tier_a} ({run_a.source}) and {tier_b} ({run_b.source})")
    hash_a, hash_b = a["dataset"]["content_hash"], b["dataset"]["content_hash"]
    if hash_a != hash_b:
        warnings.append(
            f"the runs use different datasets (sha256 {hash_a[:12]} vs {hash_b[:12]}): a case id may not mean "
            "the same case in both"
        )
    if _weights(a) != _weights(b):
        warnings.append(f"the capability weights differ; the aggregate uses those of {run_a.source}")
    mode_a, mode_b = _answer_mode(a), _answer_mode(b)
    if mode_a != mode_b:
        warnings.append(
            f"the runs were answered differently: {mode_a} ({run_a.source}) and {mode_b} ({run_b.source}); "
            "the deltas are what the serving path costs, not a change of the model"
        )
    return warnings


def _answer_mode(results: Mapping[str, Any]) -> str:
    """How a run's model answered: content, or tools with its tool_choice (older runs: content)."""
    config = results.get("config") or {}
    mode = config.get("answer_mode", "content")
    return f"tools mode, tool_choice {config.get('tool_choice', 'auto')}" if mode == "tools" else f"{mode} mode"


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    change: float | None = None  # a delta whose interval excludes 0: bold in Markdown, coloured elsewhere


@dataclass(frozen=True)
class Section:
    """One table of the comparison, the same in every format."""

    id: str
    title: str
    headers: tuple[str, ...]
    numeric: frozenset[int]  # right-aligned columns
    text: frozenset[int]  # columns showing case or model text, made inert in each format
    rows: list[Row]
    notes: list[str]
    highlight: int | None = None  # the column a row's `change` marks


def sections(comparison: Comparison) -> list[Section]:
    c = comparison
    ci = f"delta [{100 * CONFIDENCE:.0f}% CI]"
    capabilities = Section(
        "deltas",
        "Per capability",
        ("", "n", "A", "B", ci, "detectable drop"),
        frozenset({1, 2, 3, 4, 5}),
        frozenset(),
        [
            Row(
                (d.name, str(d.n), percent(d.mean_a, 1), percent(d.mean_b, 1), _shown(d), _size(d.detectable_drop)),
                d.delta if d.significant else None,
            )
            for d in [*c.capabilities, c.aggregate]
        ],
        [f"The aggregate covers weight {c.aggregate_weight:.2f} of 1.00 (not renormalised).", *c.undetectable],
        highlight=4,
    )
    fields = Section(
        "fields",
        "Field accuracy",
        ("capability", "field", "checked A / B", "n both", "A", "B", ci, "missing", "wrong", "invented"),
        frozenset({2, 3, 4, 5, 6, 7, 8, 9}),
        frozenset({1}),
        [_field_row(change) for change in c.fields],
        [
            "Accuracy is right / checked: a field is checked in an answer that parsed and chose the expected action; "
            "right is full credit (partial credit counts as wrong). A and B are over the n cases both runs checked, "
            f"and the delta's {100 * CONFIDENCE:.0f}% interval is paired and clustered by template, one field at a "
            "time (not corrected for the number of fields). Missing, wrong and invented are A → B counts over "
            "the common cases; an invented field was never expected, so it is not checked."
        ],
        highlight=6,
    )
    kinds = Section(
        "failure-kinds",
        "Failure kinds",
        ("failure kind", "A", "B", "change"),
        frozenset({1, 2, 3}),
        frozenset(),
        [Row((k.kind, str(k.count_a), str(k.count_b), f"{k.count_b - k.count_a:+d}")) for k in c.kinds],
        [f"Over the {c.common} common cases; none is a case that lost no points."],
    )
    moves = Section(
        "kind-moves",
        f"Cases that moved between kinds: {sum(m.n for m in c.moves)}",
        ("A's kind", "B's kind", "cases", "capabilities", "e.g."),
        frozenset({2}),
        frozenset({4}),
        [
            Row(
                (
                    m.kind_a,
                    m.kind_b,
                    str(m.n),
                    ", ".join(f"{name} {n}" for name, n in m.capabilities.items()),
                    ", ".join(m.examples),
                )
            )
            for m in c.moves
        ],
        [],
    )
    flips = [
        Section(
            table_id,
            f"{title}: {len(flipped)}",
            ("id", "capability", "level", "A", "B", "B failure", "B why"),
            frozenset({3, 4}),
            frozenset({0, 6}),
            [
                Row((f.id, f.capability, f.level, f"{f.score_a:.2f}", f"{f.score_b:.2f}", f.failure_b, f.explanation_b))
                for f in flipped
            ],
            [],
        )
        for title, flipped, table_id in (
            ("pass → fail", c.regressions, "regressions"),
            ("fail → pass", c.fixes, "fixes"),
        )
    ]
    return [capabilities, fields, kinds, moves, *flips]


def _field_row(change: FieldChange) -> Row:
    a, b, d = change.a, change.b, change.delta
    counts = [f"{getattr(a, kind)} → {getattr(b, kind)}" for kind in ("missing", "wrong", "invented")]
    paired = (
        [str(d.n), percent(d.mean_a, 1), percent(d.mean_b, 1), _shown(d)] if d is not None else ["0", "–", "–", "–"]
    )
    return Row(
        (change.capability, change.name, f"{a.checked} / {b.checked}", *paired, *counts),
        d.delta if d is not None and d.significant else None,
    )


def _shown(delta: Delta) -> str:
    return f"{_signed(delta.delta)} {_delta_interval(delta)}"


def _intro(comparison: Comparison) -> str:
    c = comparison
    return (
        f"{c.common} common cases ({c.only_a} only in A, {c.only_b} only in B). Delta is B − A with a paired "
        f"{100 * CONFIDENCE:.0f}% interval clustered by template; marked when the interval excludes 0. "
        f"{_detectable_note(c)}"
    )


def render_markdown(comparison: Comparison) -> str:
    c = comparison
    lines = [
        f"## taskbench compare: {markdown_text(c.a)} → {markdown_text(c.b)}",
        "",
        f"**{markdown_text(c.headline, limit=400)}**",
        "",
        _intro(c).replace("marked when", "**bold** when"),
    ]
    if c.warnings:
        lines += ["", "> [!WARNING]", *(f"> - {markdown_text(w, limit=400)}" for w in c.warnings)]
    for section in sections(c):
        lines += ["", f"### {section.title}"]
        if section.rows:
            lines += ["", _markdown_row(section.headers), _markdown_rule(section)]
            lines += [_markdown_row(_markdown_cells(section, row)) for row in section.rows]
        lines += [f"\n{markdown_text(note, limit=PROSE_LIMIT)}" for note in section.notes]
    return "\n".join(lines) + "\n"


def _markdown_cells(section: Section, row: Row) -> list[str]:
    cells = [markdown_text(cell) if i in section.text else cell for i, cell in enumerate(row.cells)]
    if row.change is not None and section.highlight is not None:
        cells[section.highlight] = f"**{cells[section.highlight]}**"
    return cells


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _markdown_rule(section: Section) -> str:
    return "|" + "|".join("--:" if i in section.numeric else "---" for i in range(len(section.headers))) + "|"


def render_terminal(comparison: Comparison, console: Console) -> None:
    """Rich tables; every string as plain Text (never read as markup) with its control characters shown."""
    c = comparison
    lines = [
        (f"taskbench compare: {c.a} → {c.b}", "bold"),
        (c.headline, "bold"),
        (_intro(c), "dim"),
        *((f"warning: {warning}", "yellow") for warning in c.warnings),
    ]
    for line, style in lines:
        console.print(Text(terminal_text(line, PROSE_LIMIT), style=style), soft_wrap=True)
    for section in sections(c):
        title = Text(section.title, style="bold")
        table = Table(title=title, title_justify="left", show_edge=False)
        for i, header in enumerate(section.headers):
            table.add_column(Text(header), justify="right" if i in section.numeric else "left")
        for row in section.rows:
            table.add_row(*_terminal_cells(section, row))
        console.print()
        console.print(table if section.rows else title)
        for note in section.notes:
            console.print(Text(note, style="dim"), soft_wrap=True)


def _terminal_cells(section: Section, row: Row) -> list[Text]:
    cells = [Text(terminal_text(cell)) for cell in row.cells]
    if row.change is not None and section.highlight is not None:
        cells[section.highlight].stylize("bold red" if row.change < 0 else "bold green")
    return cells


def render_html(comparison: Comparison) -> str:
    return (
        template_environment()
        .get_template("compare.html.j2")
        .render(comparison=comparison, sections=sections(comparison), intro=_intro(comparison))
    )


def _detectable_note(comparison: Comparison) -> str:
    checks = len(comparison.capabilities) + 1
    return (
        f"Detectable drop: the true drop the gate detects with {100 * POWER:.0f}% power at one-sided alpha "
        f"{comparison.alpha:g}, Holm over these {checks} checks."
    )


def _size(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f} pt"


def _signed(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:+.1f} pt"


def _delta_interval(delta: Delta) -> str:
    return f"[{100 * delta.low:+.1f}, {100 * delta.high:+.1f}]"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("compare", help="compare two runs on their common cases (B - A)")
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="run folder or results.json (the baseline)")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="run folder or results.json (the candidate)")
    parser.add_argument(
        "--format", choices=FORMATS, default="terminal", help="terminal (rich tables, the default), md or html"
    )
    parser.add_argument(
        "--alpha",
        type=argument_type(significance_level),
        default=0.05,
        help="one-sided level the detectable drops are stated at (default 0.05)",
    )
    parser.add_argument(
        "--max-regression",
        type=argument_type(fraction),
        metavar="X",
        help="the drop that matters (0.02 = 2 pt): say which checks cannot detect it",
    )
    parser.add_argument(
        "--out", type=Path, help=f"write to this file instead of stdout (and of {MARKDOWN_FILE} in RUN_B's folder)"
    )
    parser.set_defaults(run=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    comparison = compare_runs(
        load_run(args.run_a), load_run(args.run_b), alpha=args.alpha, max_regression=args.max_regression
    )
    for warning in comparison.warnings:
        print(f"taskbench compare: warning: {warning}", file=sys.stderr)
    if args.out is None:
        _write(comparison, args.format, sys.stdout)
        _write_markdown_file(comparison, results_path(args.run_b).parent / MARKDOWN_FILE)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            _write(comparison, args.format, out)
        print(f"taskbench compare: wrote {args.out}", file=sys.stderr)
    return 0


def _write(comparison: Comparison, output_format: str, out: IO[str]) -> None:
    if output_format == "terminal":
        render_terminal(comparison, command_console(out))
    else:
        out.write(render_html(comparison) if output_format == "html" else render_markdown(comparison))


def _write_markdown_file(comparison: Comparison, path: Path) -> None:
    """compare.md beside B's results.json; a folder that cannot be written to costs a warning, not the output."""
    try:
        path.write_text(render_markdown(comparison), encoding="utf-8")
    except OSError as exc:
        print(f"taskbench compare: warning: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return
    print(f"taskbench compare: wrote {path}", file=sys.stderr)
