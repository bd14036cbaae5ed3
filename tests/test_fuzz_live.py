"""Fuzzing the demo model on real vLLM: the ci profile finds failures, shrinks them to one request,
and the same command run twice finds exactly the same; the findings promote to loadable cases."""

from __future__ import annotations

import shutil

import pytest
from evalrun import PROJECT_ROOT, run_evals

from taskbench.data.cases import load_cases
from taskbench.fuzz.promote import promote

pytestmark = pytest.mark.vllm

# Three families of three kinds (metamorphic, directed, safety) keep the test to a few minutes.
FAMILIES = "surface_noise or directed or encodings"


def fuzz_ci(pytester: pytest.Pytester, url: str, run_id: str):
    # The Hypothesis profiles live in the project's root conftest.
    shutil.copy(PROJECT_ROOT / "conftest.py", pytester.path / "conftest.py")
    args = ["-m", "fuzz", "-k", FAMILIES, "--hypothesis-profile", "ci", "--model-url", url]
    return run_evals(pytester, *args, "--cache-dir", str(pytester.path / "cache"), "--run-id", run_id, fuzz=True)


def findings(results: dict) -> list[tuple]:
    return [
        (f["family"], f["property"], f["examples"], f["passed"], [(m["input"], m["output"]) for m in f["minimal"]])
        for f in results["fuzz"]
    ]


def test_ci_profile_finds_shrinks_and_repeats_its_findings(pytester, demo_server, tmp_path):
    first, results = fuzz_ci(pytester, demo_server.url, "first")
    assert first.ret == 1, first.stdout.str()[-3000:]
    assert {f["family"] for f in results["fuzz"]} == {"surface_noise", "directed", "encodings"}
    failing = [f for f in results["fuzz"] if f["minimal"]]
    assert failing, "the demo model is imperfect: the ci profile should find a failure"
    for record in failing:
        # Shrunk: one trial is left, so at most its two requests (base and variant) are shown.
        assert len({m["input"] for m in record["minimal"]}) <= 2
        assert record["passed"] < record["examples"]
    first.stdout.fnmatch_lines(["*fuzz family *: * failed check(s)*"])

    second, again = fuzz_ci(pytester, demo_server.url, "second")
    assert second.ret == 1
    assert findings(again) == findings(results)

    out = tmp_path / "fuzz.jsonl"
    promotion = promote(pytester.path / "reports" / "first", out)
    assert promotion.added
    assert {c.template for c in load_cases(out).cases} <= {"surface_noise", "directed", "encodings"}
    assert promote(pytester.path / "reports" / "second", out).added == []
