"""taskbench compare: a known degradation in one capability, flipped cases, and runs that cannot be compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic_results import synthetic_results

from taskbench.cli import main
from taskbench.data.capabilities import load_capability_config
from taskbench.errors import TaskbenchError
from taskbench.gate.checks import RegressionRule
from taskbench.gate.compare import Run, compare_runs, render_html, render_markdown
from taskbench.gate.paired import pair_runs

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
    assert main(["compare", str(run_a), str(run_b / "results.json")]) == 0
    captured = capsys.readouterr()
    assert "| entity_extraction | 60 |" in captured.out
    assert "different tiers: gate" in captured.err and "different datasets" in captured.err
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
    assert main(["compare", str(run_a), str(run_b), "--max-regression", "0.05", "--alpha", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "| detectable drop |" in out and "one-sided alpha 0.1, Holm over these 6 checks" in out
    assert "cannot detect a drop of 5.0 pt" in out
    with pytest.raises(SystemExit):
        main(["compare", str(run_a), str(run_b), "--alpha", "0.7"])
    assert "significance level above 0 and below 0.5" in capsys.readouterr().err
