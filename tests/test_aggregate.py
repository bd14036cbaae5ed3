"""taskbench.results.aggregate.summarize: its numbers against an independent route (pandas groupby, scipy formulas)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from synthetic_results import synthetic_results
from taskbench.scorers import FAILURE_THRESHOLD

from taskbench.data.capabilities import LEVELS, load_capability_config
from taskbench.results import stats
from taskbench.results.aggregate import add_statistics, summarize

CONFIG = load_capability_config()
Z95 = scipy.stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def results() -> dict:
    return synthetic_results(per_capability=80, seed=3)


@pytest.fixture(scope="module")
def frame(results: dict) -> pd.DataFrame:
    frame = pd.DataFrame(results["items"])
    frame["cluster"] = frame["capability"] + "/" + frame["template"]
    return frame


def cluster_robust_stderr(group: pd.DataFrame) -> float:
    """Linearisation stderr of a ratio mean with templates as clusters (G/(G-1) small-sample factor)."""
    totals = group.groupby("cluster").agg(total=("score", "sum"), count=("score", "size"))
    mean = totals["total"].sum() / totals["count"].sum()
    residuals = totals["total"] - mean * totals["count"]
    units = len(totals)
    return math.sqrt(units / (units - 1) * (residuals**2).sum() / totals["count"].sum() ** 2)


def clustered_wilson(group: pd.DataFrame) -> tuple[float, float]:
    """Wilson on n / design effect, with Korn & Graubard's t correction; n itself at 0 % or 100 %."""
    passed = group["passed"].astype(float)
    n, rate = len(group), passed.mean()
    totals = group.assign(passed=passed).groupby("cluster").agg(total=("passed", "sum"), count=("passed", "size"))
    units = len(totals)
    if rate in (0.0, 1.0):
        effective = n
    else:
        residuals = totals["total"] - rate * totals["count"]
        clustered = units / (units - 1) * (residuals**2).sum() / n**2
        design_effect = max(1.0, clustered / (rate * (1 - rate) / n))
        effective = n / design_effect * (Z95 / scipy.stats.t.ppf(0.975, units - 1)) ** 2
    centre = (rate + Z95**2 / (2 * effective)) / (1 + Z95**2 / effective)
    half = Z95 / (1 + Z95**2 / effective) * math.sqrt(rate * (1 - rate) / effective + Z95**2 / (4 * effective**2))
    return max(0.0, centre - half), min(1.0, centre + half)


def test_means_pass_rates_and_failures_match_a_groupby(results: dict, frame: pd.DataFrame) -> None:
    summary = results["summary"]
    for (capability, level), group in frame.groupby(["capability", "level"]):
        cell = summary["capabilities"][capability]["levels"][level]
        assert cell["n"] == len(group)
        assert cell["mean"] == pytest.approx(group["score"].mean())
        assert cell["pass_rate"] == pytest.approx(group["passed"].mean())
        assert cell["failures"] == sorted(group.loc[group["score"] < FAILURE_THRESHOLD, "id"])
    for capability, group in frame.groupby("capability"):
        cell = summary["capabilities"][capability]
        assert (cell["n"], cell["mean"]) == (len(group), pytest.approx(group["score"].mean()))
    means = frame.groupby("capability")["score"].mean()
    assert summary["aggregate"]["value"] == pytest.approx(sum(CONFIG.weights[c] * m for c, m in means.items()))


def test_standard_errors_are_cluster_robust_by_template(results: dict, frame: pd.DataFrame) -> None:
    summary = results["summary"]
    variances = {}
    for capability, group in frame.groupby("capability"):
        assert group["score"].nunique() > 1, "the check below needs every capability to vary"
        expected = cluster_robust_stderr(group)
        variances[capability] = expected**2
        assert summary["capabilities"][capability]["stderr"] == pytest.approx(expected, rel=1e-9)
        assert summary["capabilities"][capability]["templates"] == group["cluster"].nunique()
    aggregate = math.sqrt(sum(CONFIG.weights[c] ** 2 * v for c, v in variances.items()))
    assert summary["aggregate"]["stderr"] == pytest.approx(aggregate, rel=1e-9)


def test_pass_rate_intervals_are_wilson_on_the_design_effect_sample_size(results: dict, frame: pd.DataFrame) -> None:
    summary = results["summary"]
    checked_exact = False
    for (capability, level), group in frame.groupby(["capability", "level"]):
        cell = summary["capabilities"][capability]["levels"][level]
        assert cell["pass_rate_ci"] == pytest.approx(clustered_wilson(group), abs=1e-12)
        if group["passed"].all():
            # At 100 % nothing is clustered: exactly scipy's Wilson interval.
            exact = scipy.stats.binomtest(len(group), len(group)).proportion_ci(method="wilson")
            assert cell["pass_rate_ci"] == pytest.approx([exact.low, exact.high])
            checked_exact = True
    assert checked_exact


def test_mean_intervals_are_seeded_cluster_bootstraps_that_bracket_the_mean(results: dict, frame: pd.DataFrame) -> None:
    summary = results["summary"]
    for capability, group in frame.groupby("capability"):
        cell = summary["capabilities"][capability]
        direct = stats.mean_ci(group["score"].tolist(), group["cluster"].tolist(), resamples=2000, seed=0)
        assert cell["mean_ci"] == [direct.low, direct.high]
        low, high = cell["mean_ci"]
        assert low < cell["mean"] < high
        # A bootstrap interval is about as wide as the normal one from the independent stderr.
        normal_width = 2 * Z95 * cluster_robust_stderr(group)
        assert 0.6 < (high - low) / normal_width < 1.8
    low, high = summary["aggregate"]["ci"]
    assert low < summary["aggregate"]["value"] < high
    again = summarize(results["items"], results["errors"], CONFIG, [i["id"] for i in results["items"]])
    assert again == results["summary"]


def test_a_percentile_cluster_bootstrap_written_here_agrees(frame: pd.DataFrame, results: dict) -> None:
    group = frame[frame["capability"] == "entity_extraction"]
    totals = group.groupby("cluster").agg(total=("score", "sum"), count=("score", "size"))
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(totals), size=(4000, len(totals)))
    means = totals["total"].to_numpy()[picks].sum(axis=1) / totals["count"].to_numpy()[picks].sum(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    cell = results["summary"]["capabilities"]["entity_extraction"]
    # Expanded BCa is a little wider than the plain percentile interval, never a different interval.
    assert cell["mean_ci"][0] == pytest.approx(low, abs=0.04)
    assert cell["mean_ci"][1] == pytest.approx(high, abs=0.04)
    assert cell["mean_ci"][1] - cell["mean_ci"][0] >= 0.95 * (high - low)


def test_partial_runs_keep_the_real_weights() -> None:
    covered = ("entity_extraction", "edge_cases")
    partial = synthetic_results(capabilities=covered, seed=5)
    aggregate = partial["summary"]["aggregate"]
    frame = pd.DataFrame(partial["items"])
    means = frame.groupby("capability")["score"].mean()
    assert aggregate["covered"] == list(covered)
    assert aggregate["partial"] is True
    assert aggregate["covered_weight"] == pytest.approx(
        CONFIG.weights["entity_extraction"] + CONFIG.weights["edge_cases"]
    )
    assert aggregate["value"] == pytest.approx(sum(CONFIG.weights[c] * means[c] for c in covered))
    direct = stats.weighted_aggregate_ci(
        frame["score"].tolist(),
        frame["capability"].tolist(),
        {c: CONFIG.weights[c] for c in covered},
        (frame["capability"] + "/" + frame["template"]).tolist(),
    )
    assert aggregate["ci"] == [direct.low, direct.high]
    # Not renormalised: the interval lives within the covered weight, not within [0, 1].
    assert aggregate["ci"][1] <= aggregate["covered_weight"] + 1e-12
    missing = partial["summary"]["capabilities"]["action_recognition"]
    assert (missing["mean_ci"], missing["pass_rate_ci"], missing["stderr"], missing["templates"]) == (
        None,
        None,
        None,
        0,
    )


def test_no_scored_items_gives_no_intervals() -> None:
    summary = summarize([], [], CONFIG, ["a", "b"])
    assert summary["aggregate"]["value"] is None
    assert summary["aggregate"]["ci"] is None
    assert all(cell["mean_ci"] is None for cell in summary["capabilities"].values())


def test_statistics_are_added_to_a_summary_without_changing_it(results: dict) -> None:
    old = {
        "summary": {
            "capabilities": {
                name: {
                    **{k: v for k, v in cell.items() if k not in ("stderr", "mean_ci", "pass_rate_ci", "templates")},
                    "levels": {
                        level: {
                            k: v
                            for k, v in cell["levels"][level].items()
                            if k in ("n", "errors", "mean", "pass_rate", "failures")
                        }
                        for level in LEVELS
                    },
                }
                for name, cell in results["summary"]["capabilities"].items()
            },
            "aggregate": {
                k: v for k, v in results["summary"]["aggregate"].items() if k not in ("stderr", "ci", "templates")
            },
        },
        "items": results["items"],
    }
    assert add_statistics(old["summary"], results["items"]) == results["summary"]
    assert "statistics" not in old["summary"], "add_statistics must not change its argument"
    assert add_statistics(old["summary"], results["items"], resamples=500, seed=1)["statistics"]["resamples"] == 500


def test_a_thousand_items_summarise_well_under_two_seconds() -> None:
    big = synthetic_results(per_capability=200, seed=11)
    ids = [item["id"] for item in big["items"]]
    assert len(ids) == 1000
    start = time.perf_counter()
    summarize(big["items"], [], CONFIG, ids)
    assert time.perf_counter() - start < 1.0
