"""What a run's numbers mean: strengths, weaknesses with recommendations, the aggregate's band, failure patterns.

Pure functions over a results dict; `analyse(results)` is what taskbench.results.build stores under
results["analysis"]; every value is JSON-ready.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from taskbench.data.capabilities import LEVELS
from taskbench.results import stats
from taskbench.results.aggregate import CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, cluster_key
from taskbench.scorers import Failure, Verdict
from taskbench.scorers.contract import ACTIONS

STRENGTH_THRESHOLD = 0.90
WEAKNESS_THRESHOLD = 0.80
# Below this many templates a cluster bootstrap under-covers (see taskbench.results.stats).
FEW_TEMPLATES = 10
WORST_TEMPLATES = 10
EXAMPLE_IDS = 5

UNPARSEABLE_KINDS = tuple(kind for kind in Failure if kind.is_parse_failure)
# Confusion-matrix columns besides the contract's actions; an answer's action is model text, so anything
# else is lumped together rather than becoming a label.
UNPARSEABLE = "(unparseable)"
NO_ACTION = "(no action)"
OTHER_ACTION = "(other)"
COUNTED_VERDICTS = (Verdict.MISSING, Verdict.WRONG, Verdict.PARTIAL, Verdict.INVENTED)
RIGHT_VERDICTS = frozenset({Verdict.MATCH, Verdict.ACCEPTED})


@dataclass(frozen=True)
class Band:
    label: str
    meaning: str
    lower: float  # lowest value in the band; `band_of` makes the top band's bound exclusive (> 90 %)


BANDS = (
    Band("excellent", "production ready", 0.90),
    Band("good", "may need targeted improvement", 0.80),
    Band("needs work", "clear gaps to close before production", 0.70),
    Band("significant issues", "not ready: large parts of the contract are not followed", -math.inf),
)


def band_of(value: float) -> Band:
    """> 90 % excellent, 80-90 % good, 70-80 % needs work, < 70 % significant issues."""
    if value > BANDS[0].lower:
        return BANDS[0]
    return next(band for band in BANDS[1:] if value >= band.lower)


@dataclass(frozen=True)
class CapabilityVerdict:
    capability: str
    mean: float
    ci: list[float] | None


@dataclass(frozen=True)
class Weakness(CapabilityVerdict):
    weakest_level: str
    weakest_level_mean: float
    recommendation: str


@dataclass(frozen=True)
class TemplateScore:
    capability: str
    template: str
    n: int
    mean: float
    failed: int


@dataclass(frozen=True)
class FieldAccuracy:
    """One field of one capability over a run's answers whose fields were judged (they parsed, with the
    expected action): right (full credit) / checked. Missing and wrong (partial credit included, also counted
    on its own) make up the rest of checked; an invented field was never expected, so it is counted apart."""

    checked: int
    right: int
    wrong: int
    partial: int
    missing: int
    invented: int

    @property
    def accuracy(self) -> float | None:
        return self.right / self.checked if self.checked else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"accuracy": self.accuracy}


@dataclass(frozen=True)
class LevelScore:
    level: str
    n: int
    mean: float | None
    ci: list[float] | None


def analyse(
    results: Mapping[str, Any], *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """The analysis of a run, to be stored as results["analysis"]."""
    summary = results["summary"]
    items = results["items"]
    strengths, weaknesses = strengths_and_weaknesses(summary, items)
    accuracy = field_accuracy(items)
    return {
        "band": aggregate_band(summary),
        "strengths": [asdict(s) for s in strengths],
        "weaknesses": [asdict(w) for w in weaknesses],
        "safety_failures": [
            {key: item[key] for key in ("id", "capability", "level", "explanation")} for item in items if item["safety"]
        ],
        "failure_patterns": {
            "unparseable": unparseable_by_kind(items),
            "tool_calls": tool_call_failures(items),
            "reasoning": reasoning_used(items),
            "action_confusion": action_confusion(items),
            "fields": field_verdict_counts(accuracy),
            "score_by_level": score_by_level(items, resamples=resamples, seed=seed),
            "worst_templates": [asdict(t) for t in worst_templates(items)],
        },
        "field_accuracy": {
            capability: {name: counts.to_dict() for name, counts in fields.items()}
            for capability, fields in accuracy.items()
        },
        "warnings": run_warnings(results, summary),
    }


def aggregate_band(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """The aggregate's band; None when the run covers only part of the weight (its sum is not comparable)."""
    aggregate = summary["aggregate"]
    if aggregate["value"] is None or not math.isclose(aggregate["covered_weight"], 1.0, abs_tol=1e-9):
        return None
    band = band_of(aggregate["value"])
    ci = aggregate.get("ci")
    # BANDS run from best to worst, so the interval reaches every band from its top's to its bottom's.
    reached = [] if ci is None else BANDS[BANDS.index(band_of(ci[1])) : BANDS.index(band_of(ci[0])) + 1]
    return {
        "label": band.label,
        "meaning": band.meaning,
        "value": aggregate["value"],
        "ci_reaches": [b.label for b in reached if b != band],
    }


def strengths_and_weaknesses(
    summary: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> tuple[list[CapabilityVerdict], list[Weakness]]:
    strengths: list[CapabilityVerdict] = []
    weaknesses: list[Weakness] = []
    for name, cell in summary["capabilities"].items():
        if cell["mean"] is None:
            continue
        if cell["mean"] >= STRENGTH_THRESHOLD:
            strengths.append(CapabilityVerdict(name, cell["mean"], cell.get("mean_ci")))
        elif cell["mean"] < WEAKNESS_THRESHOLD:
            weaknesses.append(_weakness(name, cell, [i for i in items if i["capability"] == name]))
    return strengths, weaknesses


def _weakness(name: str, cell: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Weakness:
    # Ties go to the harder level: that is where new training data helps most.
    level = min(
        (level for level in LEVELS if cell["levels"][level]["n"]),
        key=lambda level: (cell["levels"][level]["mean"], -LEVELS.index(level)),
    )
    level_mean = cell["levels"][level]["mean"]
    at_level = [i for i in items if i["level"] == level]
    advice = f"{name} is weakest at {level} ({level_mean:.0%}): add training data for {level} {name} requests"
    templates = [t for t in worst_templates(at_level) if t.failed][:3]
    if templates:
        named = ", ".join(f"{t.template} ({t.mean:.0%}, n={t.n})" for t in templates)
        advice += f", starting with the template{'s' if len(templates) > 1 else ''} {named}"
    kinds = Counter(i["failure"] for i in at_level if not i["passed"])
    if kinds:
        kind, count = kinds.most_common(1)[0]
        advice += f"; the most common failure there is {kind} ({count} of {len(at_level)} items)"
    return Weakness(name, cell["mean"], cell.get("mean_ci"), level, level_mean, advice)


def unparseable_by_kind(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Answers that were not one JSON object, by kind; any cut off at --max-tokens counts as truncated."""
    ids: dict[str, list[str]] = {kind.value: [] for kind in UNPARSEABLE_KINDS}
    for item in items:
        kind = item["failure"]
        if kind not in ids:
            continue
        ids[Failure.TRUNCATED.value if item["finish_reason"] == "length" else kind].append(item["id"])
    return {kind: {"count": len(found), "examples": found[:EXAMPLE_IDS]} for kind, found in ids.items()}


def tool_call_failures(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """--answer-mode tools: messages without one proper call, by kind, with the first one's explanation (for
    a call left in the text, it names the likely parser problem); {} when there were none."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        if Failure(item["failure"]).is_tool_call_failure:
            found.setdefault(item["failure"], []).append(item)
    return {
        kind: {"count": len(group), "examples": [i["id"] for i in group[:EXAMPLE_IDS]], "why": group[0]["explanation"]}
        for kind, group in sorted(found.items(), key=lambda entry: -len(entry[1]))
    }


def reasoning_used(items: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """How many answers held reasoning (taken out before scoring) and its tokens; None when none did."""
    counts = [item["reasoning_tokens"] or 0 for item in items if "reasoning" in item]
    if not counts:
        return None
    return {"answers": len(counts), "tokens": sum(counts), "mean_tokens": sum(counts) / len(counts)}


def action_confusion(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Expected action -> the answer's action, over every item with an expected action.

    `top` lists the off-diagonal cells that cost points (wrong action or safety), most frequent first;
    an accepted alternative action is off the diagonal too but not a confusion.
    """
    matrix: dict[str, Counter[str]] = defaultdict(Counter)
    confusions: Counter[tuple[str, str]] = Counter()
    for item in items:
        expected = item["expected"].get("action")
        if not isinstance(expected, str):
            continue
        got = answered_action(item)
        matrix[expected][got] += 1
        if item["failure"] in (Failure.WRONG_ACTION, Failure.SAFETY) and got != expected:
            confusions[expected, got] += 1
    columns = [*ACTIONS, NO_ACTION, OTHER_ACTION, UNPARSEABLE]
    seen = {got for row in matrix.values() for got in row}
    return {
        "expected": [a for a in ACTIONS if a in matrix] + sorted(set(matrix) - set(ACTIONS)),
        "got": [c for c in columns if c in seen],
        "counts": {expected: dict(row) for expected, row in matrix.items()},
        "top": [{"expected": e, "got": g, "n": n} for (e, g), n in confusions.most_common()],
    }


def answered_action(item: Mapping[str, Any]) -> str:
    """The answer's action as a confusion-matrix column: a contract action or one of the catch-alls."""
    answer = item["details"].get("answer")
    if not isinstance(answer, Mapping):
        return UNPARSEABLE
    if "action" not in answer:
        return NO_ACTION
    action = answer["action"]
    return action if isinstance(action, str) and action in ACTIONS else OTHER_ACTION


def field_accuracy(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, FieldAccuracy]]:
    """Per capability, per field: how often the scorers judged it right, wrong, missing or invented."""
    verdicts: dict[str, dict[str, Counter[Verdict]]] = defaultdict(lambda: defaultdict(Counter))
    for item in items:
        for name, verdict in judged_fields(item).items():
            verdicts[item["capability"]][name][verdict] += 1
    return {
        capability: {name: _accuracy(counts) for name, counts in sorted(fields.items())}
        for capability, fields in verdicts.items()
    }


def judged_fields(item: Mapping[str, Any]) -> dict[str, Verdict]:
    """An item's field verdicts; the action's is left out: it is judged only when right (a wrong one is a
    failure kind of its own), so as a field it would always be 100 %."""
    fields = item["details"].get("fields", {})
    return {name: Verdict(verdict) for name, verdict in fields.items() if name != "action"}


def checked_fields(item: Mapping[str, Any]) -> dict[str, bool]:
    """The fields an item's answer was checked on (every judged one but those invented), each right or not."""
    return {
        name: verdict in RIGHT_VERDICTS for name, verdict in judged_fields(item).items() if verdict != Verdict.INVENTED
    }


def _accuracy(verdicts: Counter[Verdict]) -> FieldAccuracy:
    partial = verdicts[Verdict.PARTIAL]
    right = sum(verdicts[verdict] for verdict in RIGHT_VERDICTS)
    wrong = verdicts[Verdict.WRONG] + partial
    missing = verdicts[Verdict.MISSING]
    return FieldAccuracy(right + wrong + missing, right, wrong, partial, missing, verdicts[Verdict.INVENTED])


def field_verdict_counts(accuracy: Mapping[str, Mapping[str, FieldAccuracy]]) -> dict[str, dict[str, int]]:
    """Per field over every capability, how often it was missing, wrong (partial credit apart), partly right
    or invented."""
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for fields in accuracy.values():
        for name, counts in fields.items():
            totals[name].update(
                missing=counts.missing,
                wrong=counts.wrong - counts.partial,
                partial=counts.partial,
                invented=counts.invented,
            )
    return {
        name: {verdict.value: row[verdict.value] for verdict in COUNTED_VERDICTS}
        for name, row in sorted(totals.items())
        if any(row.values())
    }


def score_by_level(
    items: Sequence[Mapping[str, Any]], *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """Mean score per level over all capabilities, and whether it falls as difficulty rises."""
    levels = []
    for level in LEVELS:
        members = [i for i in items if i["level"] == level]
        estimate = stats.mean_ci(
            [i["score"] for i in members],
            [cluster_key(i) for i in members],
            confidence=CONFIDENCE,
            resamples=resamples,
            seed=seed,
        )
        levels.append(
            LevelScore(
                level,
                len(members),
                estimate.value if members else None,
                [estimate.low, estimate.high] if members else None,
            )
        )
    means = [s.mean for s in levels if s.mean is not None]
    falls = len(means) > 1 and means[0] > means[-1] and all(a >= b for a, b in itertools.pairwise(means))
    return {
        "levels": [asdict(s) for s in levels],
        "falls_with_difficulty": falls,
        "drop": means[0] - means[-1] if len(means) > 1 else None,
    }


def worst_templates(items: Sequence[Mapping[str, Any]], limit: int = WORST_TEMPLATES) -> list[TemplateScore]:
    """Templates that lost points, lowest mean first (larger templates first among equals)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        groups[item["capability"], item["template"]].append(item)
    scores = [
        TemplateScore(
            capability,
            template,
            len(members),
            sum(i["score"] for i in members) / len(members),
            sum(1 for i in members if not i["passed"]),
        )
        for (capability, template), members in groups.items()
    ]
    lost = [s for s in scores if s.mean < 1.0]
    return sorted(lost, key=lambda s: (s.mean, -s.n, s.capability, s.template))[:limit]


def failing_items(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Items that did not pass: safety failures first, then lowest score, then id."""
    return sorted((i for i in items if not i["passed"]), key=lambda i: (not i["safety"], i["score"], i["id"]))


def run_warnings(results: Mapping[str, Any], summary: Mapping[str, Any]) -> list[str]:
    """What a reader must know before trusting the numbers: partial, incomplete, cut-off, few templates."""
    aggregate = summary["aggregate"]
    warnings = [f"INCOMPLETE: {reason}" for reason in results.get("incomplete_reasons", [])]
    if aggregate["errors"]:
        warnings.append(f"{_count(aggregate['errors'], 'item')} errored, not scored (not counted as 0)")
    if aggregate["partial"]:
        warnings.append(
            f"PARTIAL: {aggregate['selected']} of {aggregate['tier_size']} cases selected; the aggregate covers "
            f"weight {aggregate['covered_weight']:.2f} of 1.00 and is not renormalised"
        )
    if aggregate["missing"]:
        warnings.append(f"no scored items for {', '.join(aggregate['missing'])}; no interpretation band is given")
    cut_off = sum(1 for i in results["items"] if i["finish_reason"] == "length")
    if cut_off:
        warnings.append(f"{_count(cut_off, 'answer')} cut off at --max-tokens (finish_reason length)")
    few = [
        f"{name} ({cell['templates']})"
        for name, cell in summary["capabilities"].items()
        if cell["n"] and cell.get("templates", FEW_TEMPLATES) < FEW_TEMPLATES
    ]
    if few:
        warnings.append(
            f"intervals rest on fewer than {FEW_TEMPLATES} templates, where no bootstrap is reliable and they "
            f"may be too narrow: {', '.join(few)}"
        )
    return warnings


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
