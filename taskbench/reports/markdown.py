"""summary.md: the run in a form fit for a pull-request comment or a GitHub job summary.

Case and model text is data: every piece goes through `markdown_text`, which turns HTML into entities and
backslash-escapes Markdown punctuation, so an answer can neither inject markup nor break a table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from taskbench.data.capabilities import LEVELS
from taskbench.reports.format import NO_VALUE, aggregate_text, consistency_rows, interval, markdown_text, percent

LISTED_SAFETY_FAILURES = 20
LISTED_TEMPLATES = 5
LISTED_CONFUSIONS = 5
LISTED_EPISODE_FAILURES = 10
LISTED_CHANGING = 20
LISTED_FUZZ_FAILURES = 10


def cell_text(cell: Mapping[str, Any], digits: int = 0) -> str:
    """mean [CI] · pass rate, or a dash for an empty cell."""
    if not cell["n"]:
        return NO_VALUE
    return (
        f"{percent(cell['mean'], digits)} {interval(cell.get('mean_ci'), digits)} · pass {percent(cell['pass_rate'])}"
    )


def render_markdown(results: Mapping[str, Any]) -> str:
    """summary.md of a run's results (as taskbench.results.build makes them)."""
    summary, analysis = results["summary"], results["analysis"]
    sections = [
        _header(results),
        _warnings(analysis["warnings"]),
        _capability_table(summary),
        _strengths_and_weaknesses(analysis),
        _safety_failures(results["items"], analysis["safety_failures"]),
        _failure_patterns(analysis["failure_patterns"]),
        _episodes(results["episodes"]),
        _consistency(results["samples"]),
        _fuzzing(results["fuzz_summary"]),
        "Full report: `report.html`; every item: `items.csv`, `items.parquet`, `results.json`.",
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _header(results: Mapping[str, Any]) -> str:
    summary, band = results["summary"], results["analysis"]["band"]
    model = results["model"]["name"] if results.get("model") else "(no model contacted)"
    dataset = results["dataset"]
    lines = [
        f"## taskbench run {markdown_text(results['run_id'])}",
        f"model **{markdown_text(model)}** · tier **{markdown_text(dataset['tier'])}** "
        f"({summary['aggregate']['scored']} of {dataset['cases']} cases scored, dataset "
        f"{markdown_text(dataset['content_hash'][:12])}) · taskbench {markdown_text(results['taskbench_version'])}",
    ]
    headline = f"**Weighted aggregate: {aggregate_text(summary)}**"
    if band is not None:
        headline += f" · **{band['label']}**: {band['meaning']}"
        if band["ci_reaches"]:
            headline += f" (the interval also reaches {' and '.join(band['ci_reaches'])})"
    if summary["aggregate"].get("templates"):
        headline += f" · interval over {summary['aggregate']['templates']} templates"
    lines.append(headline)
    return "\n\n".join(lines)


def _warnings(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    return "\n".join(["> [!WARNING]", *(f"> - {markdown_text(w, limit=400)}" for w in warnings)])


def _capability_table(summary: Mapping[str, Any]) -> str:
    lines = [
        "### Capability × level",
        "",
        "mean score [95% CI] · pass rate (score ≥ 0.8); intervals clustered by template",
        "",
        "| capability | weight | " + " | ".join(LEVELS) + " | all | n | templates by level (all) |",
        "|---|--:|" + "--:|" * len(LEVELS) + "--:|--:|--:|",
    ]
    for name, cell in summary["capabilities"].items():
        levels = " | ".join(cell_text(cell["levels"][level]) for level in LEVELS)
        errors = f" (+{cell['errors']} errored)" if cell["errors"] else ""
        lines.append(
            f"| {name} | {cell['weight']:.2f} | {levels} | **{cell_text(cell, 1)}** | {cell['n']}{errors} | "
            f"{_templates_text(cell)} |"
        )
    return "\n".join(lines)


def _templates_text(cell: Mapping[str, Any]) -> str:
    """How many templates (the clusters) stand behind each level's interval and the capability's."""
    counts = " · ".join(str(cell["levels"][level].get("templates", NO_VALUE)) for level in LEVELS)
    return f"{counts} ({cell.get('templates', NO_VALUE)})"


def _strengths_and_weaknesses(analysis: Mapping[str, Any]) -> str:
    lines = ["### Strengths"]
    lines += [f"- **{s['capability']}** {percent(s['mean'], 1)} {interval(s['ci'], 1)}" for s in analysis["strengths"]]
    if not analysis["strengths"]:
        lines.append("- none at ≥ 90%")
    lines += ["", "### Weaknesses and recommendations"]
    lines += [
        f"- **{w['capability']}** {percent(w['mean'], 1)} {interval(w['ci'], 1)}: "
        f"{markdown_text(w['recommendation'], limit=400)}"
        for w in analysis["weaknesses"]
    ]
    if not analysis["weaknesses"]:
        lines.append("- none below 80%")
    return "\n".join(lines)


def _safety_failures(items: Sequence[Mapping[str, Any]], safety: Sequence[Mapping[str, Any]]) -> str:
    if not safety:
        return "### Safety failures: none"
    inputs = {item["id"]: item["input"] for item in items}
    lines = [
        f"### Safety failures: {len(safety)}",
        "",
        "a destructive action where the model should have asked",
        "",
        "| id | capability | level | input | why |",
        "|---|---|---|---|---|",
    ]
    for failure in safety[:LISTED_SAFETY_FAILURES]:
        lines.append(
            f"| {markdown_text(failure['id'])} | {failure['capability']} | {failure['level']} | "
            f"{markdown_text(inputs.get(failure['id'], ''))} | {markdown_text(failure['explanation'])} |"
        )
    if len(safety) > LISTED_SAFETY_FAILURES:
        lines.append(f"\n… and {len(safety) - LISTED_SAFETY_FAILURES} more in report.html")
    return "\n".join(lines)


def _failure_patterns(patterns: Mapping[str, Any]) -> str:
    lines = ["### Failure patterns", ""]
    unparseable = {kind: entry["count"] for kind, entry in patterns["unparseable"].items() if entry["count"]}
    lines.append(
        "- unparseable answers: "
        + (", ".join(f"{kind} {count}" for kind, count in unparseable.items()) if unparseable else "none")
    )
    lines += [
        f"- tool calls: {kind} {entry['count']} (e.g. {markdown_text(entry['why'], limit=300)})"
        for kind, entry in patterns.get("tool_calls", {}).items()
    ]
    reasoning = patterns.get("reasoning")
    if reasoning:
        lines.append(
            f"- reasoning taken out before scoring: {reasoning['answers']} answers, {reasoning['tokens']:,} tokens "
            f"({reasoning['mean_tokens']:.0f} per answer)"
        )
    top = patterns["action_confusion"]["top"][:LISTED_CONFUSIONS]
    lines.append(
        "- action confusions (expected → got): "
        + (", ".join(f"{c['expected']} → {markdown_text(c['got'])} {c['n']}" for c in top) if top else "none")
    )
    fields = patterns["fields"]
    lines.append(
        "- fields (missing / wrong / partial / invented): "
        + (
            "; ".join(
                f"{name} {row['missing']} / {row['wrong']} / {row['partial']} / {row['invented']}"
                for name, row in fields.items()
            )
            if fields
            else "none"
        )
    )
    by_level = patterns["score_by_level"]
    steps = " → ".join(f"{s['level']} {percent(s['mean'])} {interval(s['ci'])}" for s in by_level["levels"] if s["n"])
    trend = "falls as difficulty rises" if by_level["falls_with_difficulty"] else "does not fall steadily"
    lines.append(f"- score by level: {steps} ({trend})" if steps else "- score by level: no items")
    worst = patterns["worst_templates"][:LISTED_TEMPLATES]
    if worst:
        lines += ["", "| worst templates | capability | n | mean | failed |", "|---|---|--:|--:|--:|"]
        lines += [
            f"| {markdown_text(t['template'])} | {t['capability']} | {t['n']} | {percent(t['mean'])} | {t['failed']} |"
            for t in worst
        ]
    return "\n".join(lines)


def _rate_with_interval(rate: float | None, low: float | None, high: float | None) -> str:
    return percent(rate) if low is None or high is None else f"{percent(rate)} {interval((low, high))}"


def _json_text(value: Any) -> str:
    return markdown_text(json.dumps(value, ensure_ascii=False))


def _more(shown: int, total: int) -> str:
    return f"\n… and {total - shown} more in report.html" if total > shown else ""


def _episodes(section: Mapping[str, Any] | None) -> str:
    if section is None:
        return ""
    lines = [
        f"### Episodes: {section['passed']} of {section['episodes']} passed, "
        f"{_rate_with_interval(section['pass_rate'], section['ci_low'], section['ci_high'])}",
        "",
        f"multi-turn conversations judged by the task list they leave ({section['mode'].replace('_', ' ')} mode); "
        f"turn accuracy {percent(section['turn_accuracy'])} ({section['turns_passed']} of {section['turns']} turns)"
        + (f"; {section['errored']} errored, not counted" if section["errored"] else ""),
        "",
        "| level | episodes | passed | pass rate [95% CI] |",
        "|---|--:|--:|--:|",
    ]
    lines += [
        f"| {level} | {cell['episodes']} | {cell['passed']} | "
        f"{_rate_with_interval(cell['pass_rate'], cell['ci_low'], cell['ci_high'])} |"
        for level, cell in section["by_level"].items()
    ]
    failed = section["failed"]
    if failed:
        lines += [
            "",
            "where each failed episode's task list first went wrong:",
            "",
            "| episode | level | turn | user | expected | output | how |",
            "|---|---|--:|---|---|---|---|",
        ]
        for row in failed[:LISTED_EPISODE_FAILURES]:
            turn = row["turn"]
            how = markdown_text("; ".join(row["how"]), limit=200)
            if turn is None:
                lines.append(f"| {markdown_text(row['id'])} | {row['level']} | final | | | | {how} |")
                continue
            lines.append(
                f"| {markdown_text(row['id'])} | {row['level']} | {turn['number']} | {markdown_text(turn['user'])} | "
                f"{_json_text(turn['expected'])} | {markdown_text(turn['output'])} | {how} |"
            )
        lines.append(_more(LISTED_EPISODE_FAILURES, len(failed)))
    return "\n".join(lines).rstrip()


def _consistency(section: Mapping[str, Any] | None) -> str:
    if section is None:
        return ""
    k = section["k"]
    lines = [
        f"### Consistency (pass^k, k = {k})",
        "",
        f"pass@1: the chance one answer passes; pass^{k}: the chance {k} answers all pass (unbiased estimates "
        "from the samples of each case)",
        "",
        f"| group | n | pass@1 | pass^{k} |",
        "|---|--:|--:|--:|",
    ]
    for row in consistency_rows(section):
        group = "**overall**" if row["kind"] == "overall" else row["group"]
        if row["kind"] == "level":
            group = f"level {group}"
        lines.append(f"| {group} | {row['n']} | {percent(row['pass_at_1'], 1)} | {percent(row['pass_hat_k'], 1)} |")
    changing = section["changing"]
    shown = ", ".join(
        f"{markdown_text(row['id'])} ({row['passed']}/{row['samples']})" for row in changing[:LISTED_CHANGING]
    )
    lines += ["", f"changing between samples: {len(changing)}" + (f": {shown}" if changing else "")]
    lines.append(_more(LISTED_CHANGING, len(changing)))
    return "\n".join(lines).rstrip()


def _fuzzing(section: Mapping[str, Any] | None) -> str:
    if section is None:
        return ""
    lines = [
        f"### Fuzzing: {section['passed']} of {section['examples']} generated requests kept their property "
        f"({percent(section['pass_rate'], 1)})",
        "",
        "| family | property | capability | level | examples | passed | pass rate |",
        "|---|---|---|---|--:|--:|--:|",
    ]
    lines += [
        f"| {markdown_text(row['family'])} | {markdown_text(row['property'])} | {markdown_text(row['capability'])} | "
        f"{markdown_text(row['level'])} | "
        f"{row['examples']} | {row['passed']} | {percent(row['pass_rate'], 1)} |"
        for row in section["rows"]
    ]
    minimal = section["minimal"]
    if minimal:
        lines += [
            "",
            "minimal failing requests (shrunk):",
            "",
            "| family | property | input | expected | output | why |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {markdown_text(row['family'])} | {markdown_text(row['property'])} | {markdown_text(row['input'])} | "
            f"{_json_text(row['expected'])} | {markdown_text(row['output'])} | {markdown_text(row['explanation'])} |"
            for row in minimal[:LISTED_FUZZ_FAILURES]
        ]
        lines.append(_more(LISTED_FUZZ_FAILURES, len(minimal)))
    return "\n".join(lines).rstrip()
