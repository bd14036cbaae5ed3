"""lm-evaluation-harness interop: the exported task loads in lm_eval and sends taskbench's exact messages; on real
vLLM, lm_eval and `pytest evals/` agree; importing lm_eval's samples gives the report a native run gives."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from evalrun import RESULTS_SCHEMA, run_evals
from jsonschema import Draft202012Validator

from taskbench.artifacts import ANSWERS_FILE, SERVED_FILE
from taskbench.data.cases import Case, load_tier
from taskbench.errors import DataError
from taskbench.lmeval.export import export_doc, export_task, lm_eval_command
from taskbench.lmeval.importer import import_samples
from taskbench.lmeval.metrics import doc_metrics, process_results, weighted_score
from taskbench.model.prompts import answer_json
from taskbench.model.session import build_request
from taskbench.options import OPTIONS, Settings

DEFAULTS = Settings(**{spec.name: spec.default for spec in OPTIONS})
# Loopback only: the exported task reads a local JSON file, nothing from the Hugging Face hub.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@pytest.fixture(scope="session")
def lm_eval_installed() -> None:
    # A missing harness fails loudly, as vLLM does: scripts/setup.sh installs the `lmeval` extra.
    if importlib.util.find_spec("lm_eval") is None:
        pytest.fail("lm-evaluation-harness is not installed: run scripts/setup.sh", pytrace=False)


def taskbench_messages(case: Case) -> list[dict[str, str]]:
    return [{"role": role, "content": content} for role, content in build_request(case, DEFAULTS).messages]


def test_the_export_loads_in_lm_eval_and_renders_taskbench_messages_for_every_case(
    lm_eval_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval.tasks import TaskManager

    for name, value in {**OFFLINE, "HF_DATASETS_CACHE": str(tmp_path / "hf")}.items():
        monkeypatch.setenv(name, value)
    dataset = load_tier("gate")  # the smallest tier with earlier turns in context
    exported = export_task(tmp_path / "task", "gate", dataset=dataset)
    written = sorted(p.name for p in exported.folder.iterdir())
    assert written == ["taskbench_gate.jsonl", "taskbench_gate.yaml", "utils.py"]

    manager = TaskManager(include_path=str(exported.folder), include_defaults=False)
    task = manager.load([exported.name])["tasks"][exported.name]
    docs = list(task.test_docs())
    assert [doc["id"] for doc in docs] == [case.id for case in dataset.cases]
    assert task.config.output_type == "generate_until"
    assert task.config.generation_kwargs == {
        "until": [],
        "max_gen_toks": DEFAULTS.max_tokens,
        "do_sample": False,
        "temperature": DEFAULTS.temperature,
        "seed": DEFAULTS.seed,
    }
    # What lm_eval hands local-chat-completions under --apply_chat_template (few-shot turns kept as turns).
    by_id = {case.id: case for case in dataset.cases}
    with_history = 0
    for doc in docs:
        messages = task.fewshot_context(
            doc=doc,
            num_fewshot=task.config.num_fewshot,
            apply_chat_template=True,
            fewshot_as_multiturn=True,
            chat_template=lambda history, add_generation_prompt: history,
        )
        assert messages == taskbench_messages(by_id[doc["id"]]), doc["id"]
        with_history += bool(doc["history"])
    assert with_history >= 10


def test_the_task_metrics_are_taskbench_scores() -> None:
    case = next(c for c in load_tier("dev").cases if c.capability == "entity_extraction")
    doc = export_doc(case, "dev")
    right = process_results(doc, [answer_json(case.expected)])
    assert right["score"] == right["entity_extraction"] == right["json_valid"] == right["action_accuracy"] == 1.0
    assert right["action_recognition"] is None
    prose = process_results(doc, ["Sure! " + answer_json(case.expected)])
    assert (prose["score"], prose["json_valid"], prose["action_accuracy"]) == (0.0, 0.0, 0.0)
    assert doc_metrics(json.loads(doc["case"]), '{"action": "clarify", "question": "Which?"}').json_valid
    # Weighted as taskbench's aggregate: capability means times weights, over the capabilities present only.
    pairs = [["action_recognition", 1.0], ["entity_extraction", 0.5], ["entity_extraction", 0.0]]
    assert math.isclose(weighted_score(pairs), 0.30 * 1.0 + 0.25 * 0.25)


def test_import_refuses_what_is_not_a_sample_of_this_benchmark(tmp_path: Path) -> None:
    case = load_tier("dev").cases[0]
    doc = export_doc(case, "dev")
    doc["case"] = json.dumps({**case.to_record(), "expected": {"action": "list", "filter": "all"}})
    sample = {"doc": doc, "filtered_resps": ["{}"], "arguments": {"gen_args_0": {"arg_0": ["[]"], "arg_1": {}}}}
    stale = tmp_path / "samples_taskbench_dev_2026-01-01T00-00-00.jsonl"
    stale.write_text(json.dumps(sample) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="another version of the benchmark"):
        import_samples(stale, tmp_path / "run")
    other = tmp_path / "other.jsonl"
    other.write_text('{"doc": {"question": "2+2"}, "filtered_resps": ["4"]}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"other\.jsonl:1: not a sample of a task written by `taskbench export"):
        import_samples(other, tmp_path / "run")


@dataclass(frozen=True)
class LmEvalRun:
    task: str
    samples_path: Path
    samples: list[dict[str, Any]]
    metrics: dict[str, Any]  # lm_eval's aggregated results for the task, e.g. "weighted_score,none"
    imported_dir: Path  # the samples through `taskbench import lm-eval`
    imported: dict[str, Any]


@pytest.fixture(scope="module")
def lm_eval_run(lm_eval_installed: None, demo_server: Any, tmp_path_factory: pytest.TempPathFactory) -> LmEvalRun:
    """The dev tier exported, run by the lm_eval package itself against the session's vLLM server, and imported.

    Module-scoped, so it is set up before a test's pytester, whose sys.modules snapshot would otherwise unload
    what importing first loads (pandas' parquet types, which pyarrow refuses to register twice)."""
    root = tmp_path_factory.mktemp("lm_eval")
    exported = export_task(root / "task", "dev")
    command = lm_eval_command(demo_server.url, demo_server.served_name, exported.folder, exported.name, 8, root / "out")
    env = {**os.environ, **OFFLINE, "HF_DATASETS_CACHE": str(root / "hf")}
    done = subprocess.run(
        [sys.executable, "-m", *command], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (samples_path,) = (root / "out").rglob(f"samples_{exported.name}_*.jsonl")
    (results_path,) = (root / "out").rglob("results_*.json")
    samples = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines()]
    metrics = json.loads(results_path.read_text(encoding="utf-8"))["results"][exported.name]
    imported_dir = root / "imported"
    imported = import_samples(samples_path, imported_dir)
    return LmEvalRun(exported.name, samples_path, samples, metrics, imported_dir, imported)


@pytest.mark.vllm
def test_lm_eval_and_pytest_evals_agree_on_real_vllm(
    pytester: pytest.Pytester, demo_server: Any, lm_eval_run: LmEvalRun
) -> None:
    _, native = run_evals(pytester, "--model-url", demo_server.url, "--no-cache")
    cases = {case.id: case for case in load_tier("dev").cases}
    outputs = {item["id"]: item["output"] for item in native["items"]}
    assert len(lm_eval_run.samples) == len(outputs) == 100

    for sample in lm_eval_run.samples:
        case = cases[sample["doc"]["id"]]
        (request,) = sample["arguments"].values()
        assert json.loads(request["arg_0"][0]) == taskbench_messages(case), case.id
        # Same messages, max_tokens, temperature and seed on the same server: greedy decoding gives the same text.
        assert sample["filtered_resps"][0] == outputs[case.id], case.id

    native_docs = [doc_metrics(case.to_record(), outputs[case_id]) for case_id, case in cases.items()]
    summary = native["summary"]
    expected = {
        "json_valid": sum(m.json_valid for m in native_docs) / len(native_docs),
        "action_accuracy": sum(m.action_correct for m in native_docs) / len(native_docs),
        "score": sum(m.score for m in native_docs) / len(native_docs),
        "weighted_score": summary["aggregate"]["value"],
        **{name: cell["mean"] for name, cell in summary["capabilities"].items()},
    }
    for name, value in expected.items():
        assert math.isclose(lm_eval_run.metrics[f"{name},none"], value, abs_tol=1e-12), name

    assert lm_eval_run.imported["summary"] == summary


@pytest.mark.vllm
def test_an_imported_lm_eval_run_gives_the_summary_its_replay_gives(
    pytester: pytest.Pytester, lm_eval_run: LmEvalRun
) -> None:
    run_dir, imported = lm_eval_run.imported_dir, lm_eval_run.imported
    Draft202012Validator(RESULTS_SCHEMA).validate(imported)
    assert imported["model"]["name"] == "taskbench-demo"
    assert imported["replayed_from"] == str(lm_eval_run.samples_path)
    assert {"results.json", ANSWERS_FILE, SERVED_FILE, "summary.md", "report.html", "items.csv"} <= {
        p.name for p in run_dir.iterdir()
    }
    assert math.isclose(imported["summary"]["aggregate"]["value"], lm_eval_run.metrics["weighted_score,none"])

    _, replayed = run_evals(pytester, "--replay", str(run_dir))
    assert replayed["summary"] == imported["summary"]
    assert replayed["model"] == imported["model"]
    assert [(i["id"], i["output"], i["score"]) for i in replayed["items"]] == [
        (i["id"], i["output"], i["score"]) for i in imported["items"]
    ]
