"""Episodes and pass^k through real vLLM serving the demo model: realistic and teacher-forced turn accuracy
differ, failures are visible in report.html at their turn, pytest-xdist agrees with a serial run, and
--samples K gives pass^k <= pass@1 with a second identical run answered entirely from the cache."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from evalrun import run_evals

from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import load_tier

pytestmark = pytest.mark.vllm


def episodes_of(results: dict[str, Any]) -> dict[str, Any]:
    section = results["episodes"]
    assert section is not None
    return section


def test_teacher_forcing_measures_turns_differently_and_failures_show_their_turn(
    pytester: pytest.Pytester, demo_server: Any, tmp_path: Path
) -> None:
    base = ["--model-url", demo_server.url, "--cache-dir", str(tmp_path)]
    result, realistic = run_evals(pytester, *base, "-m", "episodes or complex")
    _, forced = run_evals(pytester, *base, "-m", "episodes or complex", "--teacher-forcing")
    assert result.ret == 1
    live, teacher = episodes_of(realistic), episodes_of(forced)
    assert (live["mode"], teacher["mode"]) == ("realistic", "teacher_forcing")
    assert live["episodes"] == teacher["episodes"] == 80
    assert live["turns"] == teacher["turns"]
    assert live["turn_accuracy"] != teacher["turn_accuracy"]
    assert live["ci_low"] <= live["pass_rate"] <= live["ci_high"]

    page = (pytester.path / "reports" / realistic["run_id"] / "report.html").read_text(encoding="utf-8")
    failed = next(e for e in live["items"] if not e["passed"] and e["first_wrong_turn"] is not None)
    turn = failed["turns"][failed["first_wrong_turn"] - 1]
    assert failed["id"] in page
    assert html.escape(turn["user"], quote=False) in page or html.escape(turn["user"]) in page
    assert not turn["state_ok"] and failed["how"]
    # A context case (the task list in the prompt) that the demo model gets wrong, shown with the failures.
    with_context = {case.id for case in load_tier("dev", load_capability_config()).cases if case.context}
    wrong_context = [i for i in realistic["items"] if i["id"] in with_context and not i["passed"]]
    assert wrong_context, "the demo model got every context case right"
    assert wrong_context[0]["id"] in page
    output = result.stdout.str()
    assert f"FAILED evals/test_episodes.py::test_episodes[{failed['id']}]" in output


def test_xdist_and_serial_judge_episodes_alike(pytester: pytest.Pytester, demo_server: Any, tmp_path: Path) -> None:
    base = ["--model-url", demo_server.url, "--cache-dir", str(tmp_path), "-m", "episodes"]
    _, serial = run_evals(pytester, *base)
    _, parallel = run_evals(pytester, *base, "-n", "2")
    assert parallel["generation"]["sent"] == 0  # the serial run filled the cache
    strip = ("items", "errors")
    assert {k: v for k, v in episodes_of(serial).items() if k not in strip} == {
        k: v for k, v in episodes_of(parallel).items() if k not in strip
    }
    assert episodes_of(serial)["items"] == episodes_of(parallel)["items"]
    assert parallel["complete"] is True, parallel["incomplete_reasons"]


def test_samples_give_pass_hat_k_below_pass_at_1_and_a_second_run_is_all_cached(
    pytester: pytest.Pytester, demo_server: Any, tmp_path: Path
) -> None:
    args = ["--model-url", demo_server.url, "--cache-dir", str(tmp_path), "--samples", "4", "--temperature", "0.8"]
    _, first = run_evals(pytester, *args)
    _, second = run_evals(pytester, *args)
    samples = first["samples"]
    assert samples["k"] == 4
    for group, at_1 in samples["pass_at_1"]["by_capability"].items():
        assert samples["pass_hat_k"]["by_capability"][group] <= at_1, group
    assert samples["pass_hat_k"]["overall"] <= samples["pass_at_1"]["overall"]
    # Sampling at 0.8 changes some outcomes between seeds; they are listed.
    assert samples["changing"]
    assert all(len(item["samples"]) == 4 for item in first["items"])

    assert second["generation"]["sent"] == 0
    assert second["generation"]["from_cache"] == second["generation"]["requested"] == 4 * (100 + 221)
    assert second["samples"] == samples
    assert second["summary"]["aggregate"] == first["summary"]["aggregate"]
    assert second["episodes"]["items"] == first["episodes"]["items"]
