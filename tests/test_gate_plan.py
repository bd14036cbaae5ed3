"""`taskbench plan`: the cases and templates a gate needs to detect a drop, scaled from a previous run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from synthetic_results import synthetic_results

from taskbench.cli import main
from taskbench.gate.checks import RegressionRule
from taskbench.gate.paired import pair_runs
from taskbench.gate.plan import churn_tests, plan


def write_run(root: Path, results: dict) -> Path:
    run_dir = root / results["run_id"]
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run_dir


@pytest.fixture(scope="module")
def run() -> dict:
    return synthetic_results(run_id="plan", per_capability=60)


def test_a_smaller_drop_needs_more_than_proportionally_more_cases(run: dict) -> None:
    weights = {name: cell["weight"] for name, cell in run["summary"]["capabilities"].items()}
    tests, aggregate = churn_tests(run["items"], weights, 0.1)
    rule = RegressionRule()
    now = {row.name: row for row in plan(tests, aggregate, rule, 0.05)}
    half = {row.name: row for row in plan(tests, aggregate, rule, 0.025)}
    for name, row in now.items():
        assert row.cases == 60 or name == "weighted aggregate"
        assert half[name].scale > 2 * row.scale
        # Detecting exactly what the run detects needs the run's own size.
        same = plan(tests, aggregate, rule, row.detectable_drop)
        assert next(r for r in same if r.name == name).needed(row.cases) == row.cases
    # More churn, more variance, more cases.
    churned, churned_aggregate = churn_tests(run["items"], weights, 0.4)
    assert plan(churned, churned_aggregate, rule, 0.05)[-1].scale > now["weighted aggregate"].scale


def test_two_runs_give_the_gates_own_paired_variance(run: dict) -> None:
    other = synthetic_results(run_id="other", per_capability=60, seed=3)
    weights = {name: cell["weight"] for name, cell in run["summary"]["capabilities"].items()}
    paired = pair_runs(run["items"], other["items"], weights)
    rows = plan({d.name: d.test for d in paired.capabilities}, paired.aggregate.test, RegressionRule(), 0.02)
    assert rows[-1].detectable_drop == pytest.approx(float(RegressionRule().detectable_drop(paired.aggregate.test, 6)))
    assert math.isfinite(rows[-1].scale)


def test_the_command_prints_a_table_from_one_or_two_runs(
    run: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_run(tmp_path, run)
    assert main(["plan", "--detect", "0.02", "--from", str(source), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## taskbench plan: detecting a drop of 2.0 pt (80% power, one-sided alpha 0.05, Holm)")
    assert "answers 10% of the cases afresh" in out and "| weighted aggregate | 300 |" in out
    markdown_rows = [line for line in out.splitlines() if line.startswith("| ")][1:]  # below the header
    assert main(["plan", "--detect", "0.02", "--from", str(source)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("taskbench plan: detecting a drop of 2.0 pt") and "|" not in out and "##" not in out
    # The terminal's table holds the Markdown's cells, row for row.
    table = [line.split() for line in out.splitlines() if "│" in line]
    assert len(table) == len(markdown_rows) and table[-1][:4] == ["weighted", "aggregate", "│", "300"]
    other = write_run(tmp_path, synthetic_results(run_id="other", per_capability=60, seed=3))
    assert main(["plan", "--detect", "0.02", "--from", str(source), "--against", str(other)]) == 0
    assert "Paired variance of" in capsys.readouterr().out
    assert main(["plan", "--detect", "0.02", "--from", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
