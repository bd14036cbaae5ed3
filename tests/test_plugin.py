"""The plugin end to end: pytester runs of the real evals/ modules against real vLLM serving the demo model."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd
import pytest
from evalrun import run_evals

from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import load_tier
from taskbench.datagen import DATASET_VERSION

pytestmark = pytest.mark.vllm


@pytest.fixture
def model_args(demo_server: Any, tmp_path: Path) -> list[str]:
    return ["--model-url", demo_server.url, "--cache-dir", str(tmp_path / "cache")]


def recompute_aggregate(results: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """The weighted aggregate from the per-item records, by a different route (pandas)."""
    items = pd.DataFrame(results["items"])
    means = items.groupby("capability")["score"].mean()
    weights = load_capability_config().weights
    return sum(weights[c] * m for c, m in means.items()), means.to_dict()


def test_scores_flow_from_items_to_results_json(pytester: pytest.Pytester, model_args: list[str]) -> None:
    result, results = run_evals(pytester, *model_args)
    tier = load_tier("dev")
    assert {item["id"] for item in results["items"]} == {case.id for case in tier.cases}
    assert results["dataset"]["content_hash"] == tier.content_hash
    assert results["dataset"]["version"] == DATASET_VERSION
    episodes = results["episodes"]["items"]
    passed = sum(item["passed"] for item in results["items"]) + sum(e["passed"] for e in episodes)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == passed
    assert outcomes.get("failed", 0) == len(tier.cases) + len(episodes) - passed
    value, means = recompute_aggregate(results)
    assert results["summary"]["aggregate"]["value"] == pytest.approx(value, abs=1e-12)
    for capability, mean in means.items():
        assert results["summary"]["capabilities"][capability]["mean"] == pytest.approx(mean, abs=1e-12)
    assert results["summary"]["aggregate"]["partial"] is False
    assert results["model"]["name"] == "taskbench-demo"
    result.stdout.fnmatch_lines(["*taskbench: mean score (pass rate) by capability x level*", "*weighted aggregate:*"])


def test_a_subset_is_labelled_partial_and_not_renormalised(pytester: pytest.Pytester, model_args: list[str]) -> None:
    _, results = run_evals(pytester, *model_args, "-m", "entity_extraction and simple")
    aggregate = results["summary"]["aggregate"]
    assert aggregate["partial"] is True
    assert aggregate["covered"] == ["entity_extraction"]
    assert aggregate["covered_weight"] == pytest.approx(0.25)
    assert {(i["capability"], i["level"]) for i in results["items"]} == {("entity_extraction", "simple")}
    mean = results["summary"]["capabilities"]["entity_extraction"]["mean"]
    assert aggregate["value"] == pytest.approx(0.25 * mean)


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """taskbench's properties of every case item in a JUnit XML file, by case id."""
    properties = {}
    for testcase in ElementTree.parse(path).iter("testcase"):
        found = {p.get("name"): p.get("value") for p in testcase.iter("property")}
        if found:
            properties[testcase.get("name").partition("[")[2].rstrip("]")] = found
    return properties


def test_xdist_and_serial_give_identical_aggregates(pytester: pytest.Pytester, model_args: list[str]) -> None:
    _, serial = run_evals(pytester, *model_args, "--junitxml", "serial.xml")
    _, parallel = run_evals(pytester, *model_args, "-n", "2", "--junitxml", "parallel.xml")
    assert parallel["generation"]["sent"] == 0, "the second run must answer from the cache"
    assert parallel["summary"] == serial["summary"]
    strip = ("latency_s",)
    assert [{k: v for k, v in i.items() if k not in strip} for i in parallel["items"]] == [
        {k: v for k, v in i.items() if k not in strip} for i in serial["items"]
    ]
    expected = {
        item["id"]: {f"taskbench_{name}": str(item[name]) for name in ("score", "failure", "level")}
        for item in serial["items"]
    }
    assert junit_properties(pytester.path / "serial.xml") == expected
    assert junit_properties(pytester.path / "parallel.xml") == expected
    for results in (serial, parallel):  # written by the report process, under xdist too
        run_dir = pytester.path / "reports" / results["run_id"]
        assert pd.read_csv(run_dir / "items.csv")["id"].tolist() == [item["id"] for item in results["items"]]
        assert "weighted aggregate" in (run_dir / "summary.md").read_text(encoding="utf-8").lower()
        assert (run_dir / "report.html").read_text(encoding="utf-8").count("data:image/svg+xml;base64,") == 3


def test_an_errored_item_is_an_error_not_a_zero(pytester: pytest.Pytester, demo_server: Any) -> None:
    # A request timeout far below any real answer time makes every request fail after its retries.
    result, results = run_evals(
        pytester,
        "--model-url",
        demo_server.url,
        "--no-cache",
        "--request-timeout",
        "0.001",
        "--max-retries",
        "0",
        "-m",
        "action_recognition",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error", 0)) == 20
    assert results["summary"]["aggregate"]["errors"] == 20
    assert results["summary"]["aggregate"]["value"] is None
    assert results["summary"]["capabilities"]["action_recognition"]["n"] == 0
    assert results["summary"]["capabilities"]["action_recognition"]["errors"] == 20
    assert results["complete"] is False
    assert results["items"] == []
