"""The pre-merge gate end to end: every exit path, from real runs of the demo model on vLLM and their replays.

A degraded model is simulated by replaying a real run whose stored answers were corrupted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from evalrun import copy_evals, run_evals
from replays import forced_medium
from synthetic_results import synthetic_results

from taskbench.data.capabilities import load_capability_config
from taskbench.exitcodes import EXIT_INFRASTRUCTURE, EXIT_QUALITY
from taskbench.gate.baseline import (
    Baseline,
    Identity,
    differences,
    incompatibilities,
    load_baseline,
    run_identity,
    save_baseline,
)
from taskbench.gate.checks import Outcome, Verdict, evaluate, render_markdown
from taskbench.options import GateSettings

USAGE = int(pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gate-cache")


@pytest.fixture
def model_args(demo_server: Any, cache_dir: Path) -> list[str]:
    return ["--model-url", demo_server.url, "--cache-dir", str(cache_dir)]


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


def gate_json(pytester: pytest.Pytester) -> dict[str, Any]:
    return json.loads((pytester.path / "reports" / "latest" / "gate.json").read_text(encoding="utf-8"))


def check(gate: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in gate["checks"] if c["name"] == name)


def reference_run(pytester: pytest.Pytester, model_args: list[str]) -> tuple[Path, dict[str, Any]]:
    """A real dev-tier run saved as baseline.json; returns a copy of its run folder (to replay) and its results."""
    result, results = run_evals(pytester, *model_args, "--save-baseline", "baseline.json")
    assert result.ret == 1, output(result)[-3000:]  # the demo model fails some cases
    run = pytester.path / "reference"
    shutil.copytree((pytester.path / "reports" / "latest").resolve(), run)
    return run, results


def degraded_copy(run: Path, destination: Path, case_ids: set[str]) -> Path:
    """A copy of a run folder whose stored answers to `case_ids` are replaced by text that is not JSON."""
    shutil.copytree(run, destination)
    answers = destination / "answers.jsonl"
    rows = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if row["id"] in case_ids:
            row["answer"]["text"] = "not json"
    answers.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return destination


@pytest.mark.vllm
def test_a_gate_over_the_thresholds_passes_even_when_items_fail(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    thresholds = ["--gate-min-aggregate", "0.5", "--gate-min-capability", "action_recognition=0.5"]
    result, results = run_evals(pytester, *model_args, *thresholds, "--gate-only")
    assert result.ret == 0, output(result)[-3000:]
    assert result.parseoutcomes()["failed"] > 0, "items still show as failed under --gate-only"
    gate = gate_json(pytester)
    assert gate["verdict"] == "passed" and gate["exit_code"] == 0
    aggregate = results["summary"]["aggregate"]["value"]
    action = results["summary"]["capabilities"]["action_recognition"]["mean"]
    assert check(gate, "min_aggregate")["numbers"]["value"] == pytest.approx(aggregate)
    assert check(gate, "min_capability:action_recognition")["numbers"]["value"] == pytest.approx(action)
    assert check(gate, "errors")["outcome"] == check(gate, "complete")["outcome"] == "passed"
    result.stdout.fnmatch_lines(
        [
            "*= taskbench =*",
            "*= taskbench gate =*",
            f"PASS*weighted aggregate {100 * aggregate:.1f}% >= minimum 50.0% (95% CI [[]*], n=100)",
            f"PASS*action_recognition {100 * action:.1f}% >= minimum 50.0%*n=20)",
            "gate PASSED (exit 0); --gate-only: failing items are informational",
        ]
    )
    assert (
        (pytester.path / "reports" / "latest" / "gate.md")
        .read_text(encoding="utf-8")
        .startswith("## taskbench gate: ✅ passed (exit 0)")
    )

    # Without --gate-only a passing gate leaves pytest's own status: failing items exit 1.
    result, _ = run_evals(pytester, *model_args, *thresholds)
    assert result.ret == 1


@pytest.mark.vllm
def test_a_score_below_a_threshold_fails_with_exit_6_and_the_numbers(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    result, results = run_evals(
        pytester, *model_args, "--gate-min-aggregate", "0.95", "--gate-min-capability", "format_compliance=0.5"
    )
    assert result.ret == EXIT_QUALITY, output(result)[-3000:]
    aggregate = results["summary"]["aggregate"]
    gate = gate_json(pytester)
    assert gate["verdict"] == "failed" and gate["exit_code"] == EXIT_QUALITY
    failed = check(gate, "min_aggregate")
    assert failed["outcome"] == "failed"
    assert failed["numbers"]["value"] == pytest.approx(aggregate["value"])
    assert failed["numbers"]["minimum"] == 0.95
    assert failed["numbers"]["ci"] == aggregate["ci"]
    assert check(gate, "min_capability:format_compliance")["outcome"] == "passed"
    low, high = aggregate["ci"]
    result.stdout.fnmatch_lines(
        [
            f"FAIL*weighted aggregate {100 * aggregate['value']:.1f}% < minimum 95.0% "
            f"(95% CI [[]{100 * low:.1f}%, {100 * high:.1f}%], n=100)",
            "gate FAILED (exit 6)",
        ]
    )


@pytest.mark.vllm
def test_a_significant_regression_against_the_baseline_fails_and_names_it(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    run, reference = reference_run(pytester, model_args)
    extraction = {i["id"]: i for i in reference["items"] if i["capability"] == "entity_extraction"}
    degraded = degraded_copy(run, pytester.path / "degraded", set(extraction))
    result, results = run_evals(
        pytester, "--replay", str(degraded), "--baseline", "baseline.json", "--gate-only",
        "--gate-max-regression", "0.02", "-n", "2",
    )  # fmt: skip
    assert result.ret == EXIT_QUALITY, output(result)[-3000:]
    assert all(i["score"] == 0 for i in results["items"] if i["capability"] == "entity_extraction")

    gate = gate_json(pytester)
    regression = check(gate, "regression:entity_extraction")
    numbers = regression["numbers"]
    before = sum(i["score"] for i in extraction.values()) / len(extraction)
    assert regression["outcome"] == "failed"
    assert numbers["n"] == 20
    assert numbers["baseline_mean"] == pytest.approx(before)
    assert numbers["mean"] == 0
    assert numbers["delta"] == pytest.approx(-before)
    low, high = numbers["ci"]
    assert low <= -before <= high < 0
    assert numbers["confidence"] == pytest.approx(0.9)
    assert numbers["p"] < 0.05
    flipped = sorted(case_id for case_id, item in extraction.items() if item["passed"])
    assert flipped and sorted(numbers["flipped_pass_to_fail"]) == flipped
    for name in ("action_recognition", "default_handling", "edge_cases", "format_compliance"):
        unchanged = check(gate, f"regression:{name}")
        assert unchanged["outcome"] == "passed" and unchanged["numbers"]["delta"] == 0

    text = output(result)
    line = next(line for line in text.splitlines() if line.startswith("FAIL") and "entity_extraction vs" in line)
    delta = f"{100 * numbers['delta']:+.1f} pt (90% CI [{100 * low:+.1f} pt, {100 * high:+.1f} pt])"
    assert f"{100 * before:.1f}% -> 0.0%, {delta}" in line
    assert "REGRESSION" in line and f"{len(flipped)} flipped pass->fail" in line
    assert all(case_id in line for case_id in flipped[:10])
    assert "gate FAILED (exit 6)" in text


@pytest.mark.vllm
def test_a_drop_within_noise_does_not_fail(pytester: pytest.Pytester, model_args: list[str]) -> None:
    run, reference = reference_run(pytester, model_args)
    victim = next(i for i in reference["items"] if i["capability"] == "entity_extraction" and i["passed"])
    degraded = degraded_copy(run, pytester.path / "degraded", {victim["id"]})
    result, _ = run_evals(
        pytester,
        "--replay",
        str(degraded),
        "--baseline",
        "baseline.json",
        "--gate-only",
        "--gate-max-regression",
        "0.02",
    )
    assert result.ret == 0, output(result)[-3000:]
    regression = check(gate_json(pytester), "regression:entity_extraction")
    assert regression["outcome"] == "passed"
    assert regression["numbers"]["delta"] == pytest.approx(-victim["score"] / 20)
    assert regression["numbers"]["flipped_pass_to_fail"] == [victim["id"]]
    assert regression["numbers"]["p"] >= 0.05
    assert f"{-5 * victim['score']:+.1f} pt" in regression["message"]
    assert "not significant at family-wise alpha 0.05" in regression["message"]


def test_a_dead_server_is_an_infrastructure_failure(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        *copy_evals(pytester), "--model-url", "http://127.0.0.1:9", "--gate-min-aggregate", "0.5", "--gate-only"
    )
    assert result.ret == EXIT_INFRASTRUCTURE
    assert "http://127.0.0.1:9" in output(result)


@pytest.mark.vllm
def test_errored_items_beyond_the_limit_are_an_infrastructure_failure(
    pytester: pytest.Pytester, demo_server: Any
) -> None:
    # A request timeout far below any real answer time makes every request fail after its retries.
    result, results = run_evals(
        pytester, "--model-url", demo_server.url, "--no-cache", "--request-timeout", "0.001", "--max-retries", "0",
        "-m", "action_recognition", "--gate-only", "--gate-min-capability", "action_recognition=0.1",
        "--save-baseline", "baseline.json",
    )  # fmt: skip
    assert result.ret == EXIT_INFRASTRUCTURE, output(result)[-3000:]
    assert results["summary"]["aggregate"]["errors"] == 20
    gate = gate_json(pytester)
    assert gate["verdict"] == "infrastructure"
    errors = check(gate, "errors")
    assert errors["numbers"] == {"errors": 20, "selected": 20, "share": 1.0, "max_errors": 0.0}
    assert check(gate, "save_baseline")["outcome"] == "infrastructure"
    assert not (pytester.path / "baseline.json").exists(), "a baseline is never saved from an incomplete run"
    result.stdout.fnmatch_lines(
        [
            "INFRA*baseline NOT saved to *baseline.json: incomplete run (20 items errored)",
            "INFRA*errors: 20 of 20 items errored (100.0%), allowed 0.0%; first: action_recognition-*",
            "gate INFRASTRUCTURE (exit 7)",
        ]
    )


@pytest.mark.vllm
def test_a_crashed_worker_makes_the_run_incomplete(pytester: pytest.Pytester, model_args: list[str]) -> None:
    run, _ = reference_run(pytester, model_args)
    # In the folder's own conftest.py: copying evals/ again would overwrite one inside it.
    pytester.makeconftest(
        "import os\n\n\n"
        "def pytest_runtest_call(item):\n"
        "    if item.name.endswith('[edge_cases-simple-0001]'):\n"
        "        os._exit(1)\n"
    )
    result, results = run_evals(pytester, "--replay", str(run), "--gate-only", "--gate-min-aggregate", "0.5", "-n", "2")
    assert result.ret == EXIT_INFRASTRUCTURE, output(result)[-3000:]
    assert results["complete"] is False
    complete = check(gate_json(pytester), "complete")
    assert complete["outcome"] == "infrastructure"
    assert any("crashed" in reason for reason in complete["numbers"]["reasons"])
    # The item the worker was running is an error of its own, not a silent gap.
    assert [(e["id"], e["when"]) for e in results["errors"]] == [("edge_cases-simple-0001", "crashed")]
    result.stdout.fnmatch_lines(["INFRA*incomplete run: worker gw* crashed*", "gate INFRASTRUCTURE (exit 7)"])


@pytest.mark.vllm
def test_an_incomparable_baseline_is_refused_before_the_run(pytester: pytest.Pytester, model_args: list[str]) -> None:
    run, _ = reference_run(pytester, model_args)
    (pytester.path / "reports").rename(pytester.path / "reference-reports")

    other_tier = pytester.runpytest_subprocess(
        *copy_evals(pytester), "--replay", str(run), "--baseline", "baseline.json", "--gate-only",
        "--tier", "gate", "-m", "entity_extraction and simple",
    )  # fmt: skip
    assert other_tier.ret == USAGE
    other_tier.stderr.fnmatch_lines(
        ["ERROR: taskbench gate: *baseline.json: baseline refused*tier 'dev' in the baseline, 'gate' in this run*"]
    )

    other_decoding = pytester.runpytest_subprocess(
        *copy_evals(pytester), *model_args, "--baseline", "baseline.json", "--gate-only", "--max-tokens", "128"
    )
    assert other_decoding.ret == USAGE
    other_decoding.stderr.fnmatch_lines(["*baseline refused*max_tokens 256 in the baseline, 128 in this run*"])
    assert "generating" not in output(other_decoding), "refused before any answer is generated"
    assert not (pytester.path / "reports").exists()


@pytest.mark.vllm
def test_pyproject_configures_the_gate_and_the_command_line_overrides_it(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    run, reference = reference_run(pytester, model_args)
    pytester.makepyprojecttoml(
        "[tool.taskbench.gate]\nmin_aggregate = 0.95\nmin_capability = { format_compliance = 0.5 }\nmin-cases = 20\n"
    )
    result, _ = run_evals(pytester, "--replay", str(run), "--gate-only")
    assert result.ret == EXIT_QUALITY, output(result)[-3000:]
    gate = gate_json(pytester)
    assert check(gate, "min_aggregate")["numbers"]["minimum"] == 0.95
    assert check(gate, "min_capability:format_compliance")["outcome"] == "passed"

    overridden = ["--gate-min-aggregate", "0.5", "--gate-min-capability", "format_compliance=0.99"]
    result, _ = run_evals(pytester, "--replay", str(run), "--gate-only", *overridden)
    assert result.ret == EXIT_QUALITY
    gate = gate_json(pytester)
    assert check(gate, "min_aggregate")["outcome"] == "passed"
    capability = check(gate, "min_capability:format_compliance")
    assert capability["outcome"] == "failed" and capability["numbers"]["minimum"] == 0.99
    mean = reference["summary"]["capabilities"]["format_compliance"]["mean"]
    assert capability["message"].startswith(f"format_compliance {100 * mean:.1f}% < minimum 99.0%")

    pytester.makepyprojecttoml("[tool.taskbench.gate]\nmin_agregate = 0.5\n")
    result = pytester.runpytest_subprocess(*copy_evals(pytester), "--replay", str(run))
    assert result.ret == USAGE
    result.stderr.fnmatch_lines(
        ["ERROR: taskbench gate: *pyproject.toml: [[]tool.taskbench.gate[]] has unknown keys: min_agregate"]
    )


@pytest.mark.vllm
def test_a_gate_over_too_few_cases_is_refused(pytester: pytest.Pytester, model_args: list[str]) -> None:
    run, _ = reference_run(pytester, model_args)
    result, _ = run_evals(
        pytester, "--replay", str(run), "--gate-only", "-m", "entity_extraction and simple",
        "--gate-min-capability", "entity_extraction=0.1", "--gate-min-aggregate", "0.1",
    )  # fmt: skip
    assert result.ret == USAGE, output(result)[-3000:]
    gate = gate_json(pytester)
    assert gate["verdict"] == "refused"
    result.stdout.fnmatch_lines(
        [
            "REFUSED*weighted aggregate >= 10.0%: refused: the run leaves out action_recognition, default_handling, "
            "edge_cases, format_compliance, so its aggregate covers weight 0.25 of 1.00*",
            "REFUSED*entity_extraction >= 10.0%: refused: too few scored cases for a gate "
            "(entity_extraction has 8; --gate-min-cases is 20)",
            "gate REFUSED (exit 4)",
        ]
    )
    # The same run passes when the user accepts a gate over 8 cases.
    result, _ = run_evals(
        pytester, "--replay", str(run), "--gate-only", "-m", "entity_extraction and simple",
        "--gate-min-capability", "entity_extraction=0.1", "--gate-min-cases", "8",
    )  # fmt: skip
    assert result.ret == 0, output(result)[-3000:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--gate-min-capability", "entity_extractoin=0.5"],
            "*unknown capabilities entity_extractoin*action_recognition*",
        ),
        (["--gate-min-capability", "entity_extraction"], "*--gate-min-capability*expected NAME=VALUE*"),
        (["--gate-min-aggregate", "70"], "*--gate-min-aggregate: invalid value '70'*between 0 and 1*"),
        (["--gate-alpha", "0.7"], "*--gate-alpha: invalid value '0.7'*"),
        (["--gate-min-episode-pass-rate", "70"], "*--gate-min-episode-pass-rate: invalid value '70'*between 0 and 1*"),
        (["--baseline", "missing.json"], "*missing.json: cannot read the baseline*"),
        (["--gate-mode", "non_inferiority"], "*non_inferiority needs --gate-max-regression above 0*"),
    ],
)
def test_bad_gate_options_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    result = pytester.runpytest_subprocess(*copy_evals(pytester), "--model-url", "http://127.0.0.1:9", *args)
    assert result.ret == USAGE
    result.stderr.fnmatch_lines([f"ERROR: taskbench gate: {message}"])


def episode_settings(floor: float | None, **overrides: Any) -> GateSettings:
    values: dict[str, Any] = {
        "min_aggregate": None,
        "min_capability": {},
        "min_episode_pass_rate": floor,
        "max_regression": 0.0,
        "mode": "superiority",
        "correction": "holm",
        "max_errors": 0.0,
        "min_cases": 20,
        "alpha": 0.05,
        "baseline": None,
        "save_baseline": None,
        "only": True,
    }
    return GateSettings(**(values | overrides))


def judged(results: dict[str, Any], settings: GateSettings) -> tuple[Verdict, dict[str, Any]]:
    verdict = evaluate(results, settings, None)
    floor = next(c for c in verdict.checks if c.name == "min_episode_pass_rate")
    return verdict, {"outcome": floor.outcome, "message": floor.message, **floor.numbers}


@pytest.fixture(scope="module")
def with_episodes() -> dict[str, Any]:
    return synthetic_results(episodes=40, seed=1)


def test_the_episode_floor_passes_and_fails_on_the_pass_rate(with_episodes: dict[str, Any]) -> None:
    section = with_episodes["episodes"]
    rate = section["pass_rate"]
    assert 0.3 < rate < 0.9 and section["episodes"] == 40
    verdict, floor = judged(with_episodes, episode_settings(rate))
    assert verdict.outcome is Outcome.PASSED and floor["outcome"] is Outcome.PASSED
    assert floor["value"] == rate and floor["ci"] == [section["ci_low"], section["ci_high"]] and floor["n"] == 40

    verdict, floor = judged(with_episodes, episode_settings(rate + 0.01))
    assert verdict.outcome is Outcome.FAILED and verdict.exit_code == EXIT_QUALITY
    assert floor["message"].startswith(f"episode pass rate {100 * rate:.1f}% < minimum {100 * rate + 1:.1f}% (95% CI [")
    assert episode_settings(0.5, only=False).active and not episode_settings(None, only=False).active


def test_an_episode_floor_without_episodes_fails_closed() -> None:
    verdict, floor = judged(synthetic_results(), episode_settings(0.1))
    assert verdict.outcome is Outcome.REFUSED and verdict.exit_code == USAGE
    assert "no episodes ran" in floor["message"]
    # Too few episodes to judge is refused like too few cases.
    verdict, floor = judged(synthetic_results(episodes=5), episode_settings(0.1))
    assert verdict.outcome is Outcome.REFUSED
    assert "episodes has 5; --gate-min-cases is 20" in floor["message"]
    verdict, _ = judged(synthetic_results(episodes=5), episode_settings(0.0, min_cases=5))
    assert verdict.outcome is Outcome.PASSED
    # Without a floor, a run without episodes is not judged on them.
    checks = evaluate(synthetic_results(), episode_settings(None), None).checks
    assert all(c.name != "min_episode_pass_rate" for c in checks)


def test_errored_episodes_count_against_max_errors_not_as_failures() -> None:
    results = synthetic_results(episodes=30, episode_errors=3)
    checks = evaluate(results, episode_settings(0.0), None).checks
    errors = next(c for c in checks if c.name == "errors")
    assert errors.outcome is Outcome.INFRASTRUCTURE
    assert errors.numbers["errors"] == 3 and errors.numbers["selected"] == 200 + 30
    assert "3 of 230 items and episodes errored" in errors.message and "server unreachable" in errors.message
    floor = next(c for c in checks if c.name == "min_episode_pass_rate")
    assert floor.numbers["n"] == 27, "errored episodes are not in the pass rate"
    checks = evaluate(results, episode_settings(0.0, max_errors=0.02), None).checks
    assert next(c for c in checks if c.name == "errors").outcome is Outcome.PASSED


# --- regression checks as one family ---------------------------------------------------------------------


def baseline_of(results: dict[str, Any], tmp_path: Path, **decoding: Any) -> Baseline:
    settings = {"temperature": 0.0, "max_tokens": 256, "seed": 0, "structured_outputs": "off"} | decoding
    identity = run_identity(results["dataset"]["tier"], results["dataset"]["content_hash"], settings, None, tmp_path)
    path = tmp_path / f"baseline-{results['run_id']}.json"
    save_baseline(path, results, identity)
    return load_baseline(path)


@pytest.fixture(scope="module")
def runs() -> tuple[dict[str, Any], dict[str, Any]]:
    # The candidate loses entity extraction (0.9 -> 0.4) and nothing else.
    baseline = synthetic_results(run_id="base", quality={"entity_extraction": 0.9}, per_capability=60)
    candidate = synthetic_results(run_id="cand", quality={"entity_extraction": 0.4}, per_capability=60)
    return baseline, candidate


def regressions(verdict: Verdict) -> dict[str, Any]:
    return {c.name.removeprefix("regression:"): c for c in verdict.checks if c.name.startswith("regression:")}


def test_the_regression_checks_are_one_holm_family_with_their_detectable_drops(
    runs: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    baseline, candidate = runs
    verdict = evaluate(candidate, episode_settings(None), baseline_of(baseline, tmp_path))
    checks = regressions(verdict)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.family == "regression checks: 6, superiority, Holm: family-wise alpha 0.05"
    entity = checks["entity_extraction"]
    assert entity.outcome is Outcome.FAILED and "REGRESSION" in entity.message
    # Holm: the smallest p is multiplied by 6, and an adjusted p is never below the raw one.
    ps = sorted((c.numbers["p"], c.numbers["p_adjusted"]) for c in checks.values())
    assert ps[0][1] == pytest.approx(min(1.0, 6 * ps[0][0]))
    assert all(adjusted >= p for p, adjusted in ps)
    for name in ("action_recognition", "default_handling", "edge_cases", "format_compliance"):
        unchanged = checks[name]
        assert unchanged.outcome is Outcome.PASSED
        assert unchanged.numbers["delta"] == 0 and unchanged.numbers["ci"] == [0, 0], "identical answers: exact"
        assert unchanged.numbers["p"] == 1
        # Identical answers still cannot reveal every drop: one must flip cases to show.
        assert 0 < unchanged.numbers["detectable_drop"] < 0.5
        assert "this run cannot detect every drop, it can detect" in unchanged.message
    assert checks["aggregate"].numbers["detectable_drop"] < entity.numbers["detectable_drop"]
    text = render_markdown(verdict)
    assert "| vs baseline | n | baseline | now | delta | p (adjusted) | detectable drop (80% power) |" in text
    assert "*regression checks\\: 6, superiority, Holm\\: family-wise alpha 0.05*" in text


def test_a_margin_above_the_detectable_drop_is_not_called_undetectable(
    runs: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    baseline, _ = runs
    base = baseline_of(baseline, tmp_path)
    tight = regressions(evaluate(baseline, episode_settings(None, max_regression=0.01), base))
    loose = regressions(evaluate(baseline, episode_settings(None, max_regression=0.5), base))
    assert "this run cannot detect a drop of 1.0 pt, it can detect" in tight["aggregate"].message
    assert "cannot detect" not in loose["aggregate"].message


def test_non_inferiority_passes_only_a_drop_shown_to_be_below_the_margin(
    runs: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    baseline, candidate = runs
    base = baseline_of(baseline, tmp_path)
    wide = episode_settings(None, mode="non_inferiority", max_regression=0.3)
    same = regressions(evaluate(baseline, wide, base))
    assert all(c.outcome is Outcome.PASSED for c in same.values()), [c.message for c in same.values()]
    assert all(c.numbers["drop_bound"] < 0.3 for c in same.values())
    # A run that differs only by noise, with a margin below what its size can show, fails closed and says why.
    noisy = synthetic_results(run_id="noisy", quality={"entity_extraction": 0.9}, per_capability=60, seed=5)
    tight = episode_settings(None, mode="non_inferiority", max_regression=0.001)
    thin = regressions(evaluate(noisy, tight, base))
    assert thin["aggregate"].outcome is Outcome.FAILED
    assert "evidence too thin" in thin["aggregate"].message
    # A real drop beyond the margin fails.
    dropped = regressions(evaluate(candidate, wide, base))
    assert dropped["entity_extraction"].outcome is Outcome.FAILED
    assert "NOT SHOWN to be below the allowed 30.0 pt" in dropped["entity_extraction"].message


def test_another_seed_is_accepted_only_when_both_runs_sample(tmp_path: Path) -> None:
    def identity(**decoding: Any) -> Identity:
        settings = {"temperature": 0.0, "max_tokens": 256, "seed": 0, "structured_outputs": "off"} | decoding
        return run_identity("gate", "f" * 64, settings, None, tmp_path)

    sampled, other_seed = identity(temperature=0.8, seed=0), identity(temperature=0.8, seed=7)
    assert incompatibilities(sampled, other_seed) == []
    assert differences(sampled, other_seed)[0].startswith(
        "seed 0 in the baseline, 7 in this run: accepted at temperature 0.8"
    )
    assert incompatibilities(identity(seed=0), identity(seed=7)) == ["seed 0 in the baseline, 7 in this run"]
    assert incompatibilities(sampled, identity(temperature=1.0, seed=7)) == [
        "temperature 0.8 in the baseline, 1.0 in this run",
        "seed 0 in the baseline, 7 in this run",
    ]


def test_other_field_weights_are_refused_and_another_answer_mode_is_named(tmp_path: Path) -> None:
    settings = {"temperature": 0.0, "max_tokens": 256, "seed": 0, "structured_outputs": "off"}
    weights = load_capability_config().field_weights

    def identity(weights: dict[str, float] | None = weights, **config: Any) -> Identity:
        return run_identity("gate", "f" * 64, settings | config, None, tmp_path, weights)

    heavier_title = {**weights, "title": weights["title"] + 1}
    (problem,) = incompatibilities(identity(), identity(heavier_title))
    assert problem.startswith("entity extraction's field weights title 3") and "title 4" in problem
    # A baseline saved before weights were recorded is not refused for them.
    assert incompatibilities(identity(None), identity()) == []

    content, tools = identity(), identity(answer_mode="tools", tool_choice="required")
    assert incompatibilities(content, tools) == []
    assert differences(content, tools) == ["answer mode content -> tools (required)"]
    assert differences(tools, identity(answer_mode="tools", tool_choice="required")) == []
    # The answer mode and the weights survive the baseline file.
    path = tmp_path / "baseline.json"
    item = {"id": "x-1", "capability": "edge_cases", "level": "simple", "template": "t", "score": 1.0, "passed": True}
    save_baseline(path, {"run_id": "r", "items": [item]}, tools)
    assert load_baseline(path).identity == tools


# --- the known-answer replay of issue 22 ------------------------------------------------------------------


@pytest.mark.vllm
def test_a_known_regression_is_caught_or_declared_undetectable(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    result, _ = run_evals(pytester, *model_args, "--tier", "gate", "--save-baseline", "baseline.json")
    assert (pytester.path / "baseline.json").is_file(), output(result)[-3000:]
    run = pytester.path / "reference"
    shutil.copytree((pytester.path / "reports" / "latest").resolve(), run)
    forced, changed = forced_medium(run, pytester.path / "forced")
    assert changed > 0
    result, _ = run_evals(
        pytester, "--tier", "gate", "--replay", str(forced), "--baseline", "baseline.json", "--gate-only",
        "--gate-max-regression", "0",
    )  # fmt: skip
    gate = gate_json(pytester)
    dropped = [c for c in gate["checks"] if c["name"].startswith("regression:") and c["numbers"]["delta"] < 0]
    assert dropped, "forcing explicit priorities to medium must lower some score"
    if result.ret == EXIT_QUALITY:
        assert any(c["outcome"] == "failed" for c in dropped)
    else:
        assert result.ret == 0, output(result)[-3000:]
        # Passed: every drop it let through is one it says it could not detect, with the drop it could.
        for c in dropped:
            assert -c["numbers"]["delta"] < c["numbers"]["detectable_drop"]
            assert f"it can detect {100 * c['numbers']['detectable_drop']:.1f} pt" in c["message"]
    assert gate["family"] == "regression checks: 6, superiority, Holm: family-wise alpha 0.05"
    assert "family-wise alpha 0.05" in output(result)
    print({c["name"]: (round(100 * c["numbers"]["delta"], 2), round(100 * c["numbers"]["detectable_drop"], 2))
           for c in gate["checks"] if c["name"].startswith("regression:")})  # fmt: skip
