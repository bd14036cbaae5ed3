"""taskbench compare: a known degradation in one capability, flipped cases, field accuracy and failure kinds,
the terminal and Markdown output, runs that cannot be compared; and a priority-degraded replay of a real run."""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from evalrun import run_evals
from hypothesis import given, settings
from hypothesis import strategies as st
from replays import forced_medium, medium_priority
from synthetic_results import synthetic_results
from taskbench.scorers import Verdict, score_case

from taskbench.cli import main
from taskbench.data.capabilities import load_capability_config
from taskbench.errors import TaskbenchError
from taskbench.gate.checks import RegressionRule
from taskbench.gate.compare import Run, compare_runs, render_html, render_markdown
from taskbench.gate.paired import field_deltas, pair_runs
from taskbench.results.analysis import field_accuracy, field_verdict_counts

WEIGHTS = load_capability_config().weights


@pytest.fixture(scope="module")
def runs() -> tuple[dict, dict]:
    # B loses entity extraction (0.95 -> 0.45) and gains edge cases (0.6 -> 0.95); the rest is identical.
    baseline = synthetic_results(
        run_id="baseline", quality={"entity_extraction": 0.95, "edge_cases": 0.6}, per_capability=60
    )
    candidate = synthetic_results(
        run_id="candidate", quality={"entity_extraction": 0.45, "edge_cases": 0.95}, per_capability=60
    )
    return baseline, candidate


def write_run(root: Path, results: dict) -> Path:
    run_dir = root / results["run_id"]
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run_dir


def flipped(a: dict, b: dict, was: bool) -> list[str]:
    passed_b = {i["id"]: i["passed"] for i in b["items"]}
    return [i["id"] for i in a["items"] if i["passed"] is was and passed_b[i["id"]] is not was]


def test_a_known_degradation_has_a_negative_delta_and_interval(runs: tuple[dict, dict]) -> None:
    a, b = runs
    comparison = compare_runs(Run("A", a), Run("B", b))
    deltas = {d.name: d for d in comparison.capabilities}
    entity = deltas["entity_extraction"]
    mean = a["summary"]["capabilities"]["entity_extraction"]["mean"]
    assert entity.mean_a == pytest.approx(mean)
    assert entity.delta == pytest.approx(b["summary"]["capabilities"]["entity_extraction"]["mean"] - mean)
    assert entity.delta < 0 and entity.high < 0 and entity.significant
    edge = deltas["edge_cases"]
    assert edge.delta > 0 and edge.low > 0
    for name in ("action_recognition", "default_handling", "format_compliance"):
        # Identical answers: the paired difference is exactly 0, with an interval of zero width.
        assert (deltas[name].delta, deltas[name].low, deltas[name].high) == (0, 0, 0)
        assert not deltas[name].significant
    assert comparison.aggregate.delta == pytest.approx(
        WEIGHTS["entity_extraction"] * entity.delta + WEIGHTS["edge_cases"] * edge.delta
    )
    assert comparison.aggregate.delta == pytest.approx(
        b["summary"]["aggregate"]["value"] - a["summary"]["aggregate"]["value"]
    )
    assert comparison.aggregate.low < comparison.aggregate.delta < comparison.aggregate.high
    assert (comparison.common, comparison.only_a, comparison.only_b) == (300, 0, 0)


def test_flipped_cases_are_listed(runs: tuple[dict, dict]) -> None:
    a, b = runs
    comparison = compare_runs(Run("A", a), Run("B", b))
    regressions = [f.id for f in comparison.regressions]
    fixes = [f.id for f in comparison.fixes]
    assert regressions == flipped(a, b, was=True) and regressions
    assert fixes == flipped(a, b, was=False) and fixes
    assert {f.capability for f in comparison.regressions} == {"entity_extraction"}
    assert {f.capability for f in comparison.fixes} == {"edge_cases"}
    text = render_markdown(comparison)
    assert f"### pass → fail: {len(regressions)}" in text
    assert f"### fail → pass: {len(fixes)}" in text
    page = render_html(comparison)
    assert page.count('<table id="regressions">') == 1
    assert "<script" not in page.replace("&lt;script", "")


def test_only_common_cases_are_compared_with_real_weights(runs: tuple[dict, dict]) -> None:
    a, _ = runs
    subset = synthetic_results(
        run_id="subset", capabilities=("entity_extraction",), quality={"entity_extraction": 0.45}, per_capability=60
    )
    comparison = compare_runs(Run("A", a), Run("S", subset))
    assert (comparison.common, comparison.only_a, comparison.only_b) == (60, 240, 0)
    assert [d.name for d in comparison.capabilities] == ["entity_extraction"]
    assert comparison.aggregate_weight == WEIGHTS["entity_extraction"]
    assert comparison.aggregate.delta == pytest.approx(WEIGHTS["entity_extraction"] * comparison.capabilities[0].delta)


def test_runs_without_common_cases_are_refused_naming_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only_actions = write_run(tmp_path, synthetic_results(run_id="actions", capabilities=("action_recognition",)))
    only_edges = write_run(tmp_path, synthetic_results(run_id="edges", capabilities=("edge_cases",)))
    with pytest.raises(TaskbenchError, match="share no case ids") as raised:
        compare_runs(
            Run(str(only_actions), json.loads((only_actions / "results.json").read_text())),
            Run(str(only_edges), json.loads((only_edges / "results.json").read_text())),
        )
    assert str(only_actions) in str(raised.value) and str(only_edges) in str(raised.value)
    assert main(["compare", str(only_actions), str(only_edges / "results.json")]) == 2
    error = capsys.readouterr().err
    assert "share no case ids" in error and str(only_actions) in error and str(only_edges / "results.json") in error


def test_cli_prints_markdown_and_writes_html_and_warns_on_dataset_differences(
    runs: tuple[dict, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = runs
    other_dataset = dict(b, dataset=dict(b["dataset"], tier="full", content_hash="f" * 64))
    run_a, run_b = write_run(tmp_path, a), write_run(tmp_path, other_dataset)
    assert main(["compare", str(run_a), str(run_b / "results.json"), "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert "| entity_extraction | 60 |" in captured.out
    assert "different tiers: gate" in captured.err and "different datasets" in captured.err
    # Without --out, the Markdown also goes into B's run folder.
    assert (run_b / "compare.md").read_text(encoding="utf-8") == captured.out
    assert f"wrote {run_b / 'compare.md'}" in captured.err
    out = tmp_path / "compare.html"
    assert main(["compare", str(run_a), str(run_b), "--format", "html", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<table id="deltas">' in page and "different datasets" in page
    assert capsys.readouterr().out == ""


def test_a_missing_run_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "nada")]) == 2
    assert "nope" in capsys.readouterr().err


def test_detectable_drops_are_the_gates_and_a_margin_below_them_is_named(
    runs: tuple[dict, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = runs
    comparison = compare_runs(Run("A", a), Run("B", b), max_regression=0.05)
    deltas = {d.name: d for d in [*comparison.capabilities, comparison.aggregate]}
    # The same pairing and rule as the gate's regression checks (tests/test_gate.py checks those).
    paired = pair_runs(a["items"], b["items"], WEIGHTS)
    rule = RegressionRule()
    for delta in paired.deltas:
        assert deltas[delta.name].detectable_drop == pytest.approx(float(rule.detectable_drop(delta.test, 6)))
    assert deltas["weighted aggregate"].detectable_drop < deltas["entity_extraction"].detectable_drop
    named = [d.name for d in deltas.values() if d.detectable_drop > 0.05]
    assert named and [s.split(":")[0] for s in comparison.undetectable] == named
    assert all("cannot detect a drop of 5.0 pt; it can detect" in s for s in comparison.undetectable)
    assert compare_runs(Run("A", a), Run("B", b)).undetectable == []

    run_a, run_b = write_run(tmp_path, a), write_run(tmp_path, b)
    assert (
        main(["compare", str(run_a), str(run_b), "--max-regression", "0.05", "--alpha", "0.1", "--format", "md"]) == 0
    )
    out = capsys.readouterr().out
    assert "| detectable drop |" in out and "one-sided alpha 0.1, Holm over these 6 checks" in out
    assert "cannot detect a drop of 5.0 pt" in out
    with pytest.raises(SystemExit):
        main(["compare", str(run_a), str(run_b), "--alpha", "0.7"])
    assert "significance level above 0 and below 0.5" in capsys.readouterr().err


# --- field accuracy and failure kinds ---------------------------------------------------------------------

FIELD_NAMES = ("title", "priority", "due_date", "action")
verdicts = st.dictionaries(st.sampled_from(FIELD_NAMES), st.sampled_from([v.value for v in Verdict]), max_size=4)
CHECKED = {v.value for v in Verdict} - {Verdict.INVENTED.value}
judged_items = st.lists(
    st.tuples(st.sampled_from(["entity_extraction", "default_handling"]), verdicts).map(
        lambda entry: {"capability": entry[0], "details": {"fields": entry[1]}}
    ),
    max_size=40,
)


@given(judged_items)
def test_field_accuracy_counts_every_verdict_once(items: list[dict[str, Any]]) -> None:
    accuracy = field_accuracy(items)
    for capability, fields in accuracy.items():
        assert "action" not in fields  # judged only when right: as a field it would always be 100 %
        for name, counts in fields.items():
            seen = Counter(
                i["details"]["fields"][name]
                for i in items
                if i["capability"] == capability and name in i["details"]["fields"]
            )
            assert counts.right + counts.wrong + counts.missing == counts.checked
            assert counts.invented == seen["invented"]
            assert counts.checked == sum(seen.values()) - seen["invented"]
            assert counts.right == seen["match"] + seen["accepted_alternative"]
            assert counts.missing == seen["missing"] and counts.partial == seen["partial"] <= counts.wrong
            assert counts.accuracy == (counts.right / counts.checked if counts.checked else None)
    # The run-wide per-field counts are these summed over capabilities.
    totals = field_verdict_counts(accuracy)
    for name, row in totals.items():
        everywhere = Counter(i["details"]["fields"][name] for i in items if name in i["details"]["fields"])
        assert row == {kind: everywhere[kind] for kind in ("missing", "wrong", "partial", "invented")}


@settings(deadline=None)
@given(st.lists(st.tuples(verdicts, verdicts), max_size=30))
def test_field_deltas_pair_the_cases_both_runs_checked(pairs_of_verdicts: list[tuple[dict, dict]]) -> None:
    def item(index: int, fields: dict[str, str]) -> dict[str, Any]:
        return {"id": str(index), "capability": "entity_extraction", "template": f"t{index % 4}",
                "details": {"fields": fields}}  # fmt: skip

    pairs = [(item(i, a), item(i, b)) for i, (a, b) in enumerate(pairs_of_verdicts)]
    deltas = field_deltas(pairs)
    right = {Verdict.MATCH.value, Verdict.ACCEPTED.value}
    for name in FIELD_NAMES:
        both = [(a, b) for a, b in pairs_of_verdicts if {a.get(name), b.get(name)} <= CHECKED]
        if name == "action" or not both:
            assert name not in deltas
            continue
        delta = deltas[name]
        assert delta.n == len(both)
        assert delta.mean_a == pytest.approx(sum(a[name] in right for a, _ in both) / len(both))
        assert delta.delta == pytest.approx(sum((b[name] in right) - (a[name] in right) for a, b in both) / len(both))
        assert len(delta.flipped) == sum(a[name] in right and b[name] not in right for a, b in both)


def rescored(item: dict[str, Any], output: str) -> dict[str, Any]:
    score = score_case(item, output, load_capability_config().field_weights)
    return item | {"output": output, "score": score.score, "passed": score.passed, "failure": score.failure.value,
                   "explanation": score.explanation, "details": score.details}  # fmt: skip


def priority_forced(results: dict[str, Any]) -> dict[str, Any]:
    """A copy of a results dict whose every create with an explicit priority says medium, rescored."""
    forced = copy.deepcopy(results)
    forced["items"] = [
        item if medium_priority(item["output"]) is None else rescored(item, medium_priority(item["output"]))
        for item in forced["items"]
    ]
    return forced


def test_a_forced_priority_is_the_field_named_in_the_headline(runs: tuple[dict, dict]) -> None:
    a, _ = runs
    b = priority_forced(a)
    comparison = compare_runs(Run("A", a), Run("B", b))
    priority = {f.capability: f for f in comparison.fields if f.name == "priority"}
    fallen = [f for f in comparison.fields if f.delta is not None and f.delta.delta < 0]
    assert fallen and {f.name for f in fallen} == {"priority"}
    worst = min(fallen, key=lambda f: f.delta.delta)
    headline = comparison.headline
    assert headline.startswith(f"{worst.capability} fell ") and ": priority accuracy " in headline
    # Its numbers are the items' own: the share of priorities right before and after, over the cases checked.
    before = [
        i for i in a["items"] if i["capability"] == worst.capability and "priority" in i["details"].get("fields", {})
    ]
    right_before = sum(i["details"]["fields"]["priority"] in ("match", "accepted_alternative") for i in before)
    assert worst.delta.n == len(before) == worst.a.checked == worst.b.checked
    assert worst.delta.mean_a == pytest.approx(right_before / len(before))
    assert f"{100 * worst.delta.mean_a:.1f}% → {100 * worst.delta.mean_b:.1f}%" in headline
    assert worst.delta.high < 0 and f"[{100 * worst.delta.low:+.1f}, {100 * worst.delta.high:+.1f}]" in headline
    for change in comparison.fields:
        if change.delta is not None:
            assert -1 <= change.delta.low <= change.delta.delta <= change.delta.high <= 1
        if change.name != "priority":
            assert (change.a, change.b) == (change.b, change.b)
    assert priority["entity_extraction"].b.wrong > priority["entity_extraction"].a.wrong
    # The cases that moved between failure kinds are exactly those whose kind changed.
    kind_a = {i["id"]: i["failure"] for i in a["items"]}
    moved = Counter((kind_a[i["id"]], i["failure"]) for i in b["items"] if i["failure"] != kind_a[i["id"]])
    assert {(m.kind_a, m.kind_b): m.n for m in comparison.moves} == moved and moved
    assert ("none", "wrong_field") in moved
    for kind in comparison.kinds:
        assert kind.count_a == Counter(kind_a.values())[kind.kind]
        assert kind.count_b == sum(i["failure"] == kind.kind for i in b["items"])


def test_no_fallen_field_says_so(runs: tuple[dict, dict]) -> None:
    a, _ = runs
    comparison = compare_runs(Run("A", a), Run("A again", a))
    assert comparison.headline == "No field's accuracy fell on the cases both runs checked."
    assert comparison.moves == [] and all(k.count_a == k.count_b for k in comparison.kinds)


HOSTILE = '[red]x[/red] \x1b[31mr {"a": 1} | *y* <b>'


def test_the_terminal_output_shows_text_as_it_is(
    runs: tuple[dict, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = runs
    b = copy.deepcopy(b)
    flipped_id = flipped(a, b, was=True)[0]
    next(i for i in b["items"] if i["id"] == flipped_id)["explanation"] = HOSTILE
    run_a, run_b = write_run(tmp_path, a), write_run(tmp_path, b)
    assert main(["compare", str(run_a), str(run_b)]) == 0
    out = capsys.readouterr().out
    assert "┃" in out and "Field accuracy" in out and "Failure kinds" in out
    # Text as written: no Markdown escapes, no markup read from an answer, no escape sequence passed through.
    assert '[red]x[/red] ␛[31mr {"a": 1} | *y* <b>' in out
    assert "\\" not in out and "\x1b" not in out
    assert out.splitlines()[1] == compare_runs(Run("A", a), Run("B", b)).headline
    markdown = (run_b / "compare.md").read_text(encoding="utf-8")
    assert "\\[red\\]" in markdown and "&lt;b&gt;" in markdown
    assert main(["compare", str(run_a), str(run_b), "--out", str(tmp_path / "compare.txt")]) == 0
    assert (tmp_path / "compare.txt").read_text(encoding="utf-8") == out


def test_html_has_the_field_and_kind_tables(runs: tuple[dict, dict]) -> None:
    a, _ = runs
    comparison = compare_runs(Run("A", a), Run("B", priority_forced(a)))
    page = render_html(comparison)
    for table in ("deltas", "fields", "failure-kinds", "kind-moves"):
        assert page.count(f'<table id="{table}">') == 1
    assert "priority accuracy" in page and 'class="num delta-down"' in page


# --- a real run of the demo model, and its answers with every explicit priority forced to medium --------------


@pytest.mark.vllm
def test_a_priority_degraded_replay_names_priority(
    pytester: pytest.Pytester, demo_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ["--cache-dir", str(pytester.path / "cache")]
    run_evals(pytester, "--model-url", demo_server.url, *cache, "--tier", "gate")
    reference = pytester.path / "reference"
    shutil.copytree((pytester.path / "reports" / "latest").resolve(), reference)
    forced, changed = forced_medium(reference, pytester.path / "forced")
    assert changed > 0
    run_evals(pytester, "--tier", "gate", "--replay", str(forced))
    replayed = (pytester.path / "reports" / "latest").resolve()
    capsys.readouterr()
    assert main(["compare", str(reference), str(replayed)]) == 0
    out = capsys.readouterr().out
    comparison = compare_runs(
        Run("A", json.loads((reference / "results.json").read_text(encoding="utf-8"))),
        Run("B", json.loads((replayed / "results.json").read_text(encoding="utf-8"))),
    )
    fallen = [f for f in comparison.fields if f.delta is not None and f.delta.delta < 0]
    assert {f.name for f in fallen} == {"priority"}
    for change in comparison.fields:
        # Only priorities were changed: every other field is counted the same in both runs.
        assert change.name == "priority" or change.a == change.b, change
    worst = min(fallen, key=lambda f: f.delta.delta)
    assert worst.b.wrong > worst.a.wrong and worst.delta.low < worst.delta.delta
    assert f"{worst.capability} fell " in out or f"{worst.capability} held" in out
    assert f": priority accuracy {100 * worst.delta.mean_a:.1f}% → {100 * worst.delta.mean_b:.1f}%" in out
    assert f"95% CI [{100 * worst.delta.low:+.1f}, {100 * worst.delta.high:+.1f}]" in out
    assert "\\" not in out and "Failure kinds" in out
    assert (replayed / "compare.md").is_file()
    print(out.splitlines()[1])
