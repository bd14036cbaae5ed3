"""`taskbench history` over real runs of the demo model on vLLM and their replays: runs on another dataset version
or with other settings are marked not comparable and kept off the trend lines."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from evalrun import run_evals
from synthetic_results import synthetic_results
from taskbench.scorers import score_case

from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import load_tier
from taskbench.errors import TaskbenchError
from taskbench.history import HISTORY_HTML, Selection, collect_history


def taskbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskbench", *args], capture_output=True, text=True, timeout=300, check=False
    )


def on_other_data(results_path: Path, run_id: str) -> None:
    """Rewrite a copied run's results.json as a run one second later on another dataset version."""
    results = json.loads(results_path.read_text(encoding="utf-8"))
    results["created"] = (dt.datetime.fromisoformat(results["created"]) + dt.timedelta(seconds=1)).isoformat()
    results["run_id"] = run_id
    results["dataset"]["content_hash"] = "0" * 64
    results_path.write_text(json.dumps(results), encoding="utf-8")


@pytest.mark.vllm
def test_history_of_real_runs_marks_another_dataset_version_and_other_settings(
    pytester: pytest.Pytester, demo_server: Any, tmp_path: Path
) -> None:
    reports = pytester.path / "reports"
    common = ["-m", "not episodes", "--cache-dir", str(tmp_path / "cache")]
    # 1. a real run of the demo model through vLLM
    result, real = run_evals(pytester, *common, "--model-url", demo_server.url, "--run-id", "a-real")
    assert result.ret == 1, result.stdout.str()[-2000:]  # the demo model fails some cases
    # Every entity-extraction score is the configured weighted mean (the run passed its field weights), and some
    # of the demo model's partly right answers would score otherwise with every field counting the same.
    weights = load_capability_config().field_weights
    assert real["summary"]["capabilities"]["entity_extraction"]["field_weights"] == weights
    cases = {case.id: case.to_record() for case in load_tier("dev").cases}
    entity = [item for item in real["items"] if item["capability"] == "entity_extraction"]
    for item in entity:
        assert item["score"] == score_case(cases[item["id"]], item["output"], weights).score, item["id"]
    assert any(item["score"] != score_case(cases[item["id"]], item["output"]).score for item in entity)
    # 2. the same answers replayed with another max_tokens: other settings, not comparable
    result, _ = run_evals(
        pytester, *common, "--replay", str(reports / "a-real"), "--run-id", "b-tokens", "--max-tokens", "128"
    )
    assert result.ret == 1
    # 3. the same answers replayed as they were made: comparable, and the newest full run (the reference)
    result, replayed = run_evals(pytester, *common, "--replay", str(reports / "a-real"), "--run-id", "c-replay")
    assert result.ret == 1
    # 4. the real run as if it had run on another dataset version (a copy with another content hash)
    shutil.copytree(reports / "a-real", reports / "d-other-data")
    on_other_data(reports / "d-other-data" / "results.json", "d-other-data")

    history = collect_history(reports)
    by_id = {run.run_id: run for run in history.runs}
    assert [run.run_id for run in history.runs] == ["a-real", "d-other-data", "b-tokens", "c-replay"]
    assert history.reference is by_id["c-replay"]
    assert by_id["a-real"].comparable and by_id["c-replay"].comparable
    assert by_id["a-real"].aggregate.value == pytest.approx(replayed["summary"]["aggregate"]["value"])
    assert by_id["d-other-data"].not_comparable == (
        f"dataset version 000000000000, not {real['dataset']['content_hash'][:12]}"
    )
    assert "max_tokens 128 vs 256" in by_id["b-tokens"].not_comparable
    assert by_id["b-tokens"].settings_digest != by_id["c-replay"].settings_digest

    shown = taskbench("history", str(reports), "--html", str(tmp_path / "history.html"))
    assert shown.returncode == 0, shown.stderr
    rows = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if line.startswith("│ ")}
    assert "NO: dataset" in rows["d-other-data"] and "NO: settings" in rows["b-tokens"]
    assert "reference" in rows["c-replay"] and "yes" in rows["a-real"]
    assert f"{100 * real['summary']['aggregate']['value']:.1f}%" in rows["a-real"]
    page = (tmp_path / "history.html").read_text(encoding="utf-8")
    assert page.count("<strong>not comparable</strong>") == 2
    assert page.count('<img class="plot"') == 1 + len(real["summary"]["capabilities"])


def write_runs(root: Path, *specs: tuple[str, str, str]) -> None:
    """Synthetic run folders (run id, model, created) of the dev tier."""
    for run_id, model, created in specs:
        results = synthetic_results(run_id=run_id, per_capability=10)
        results["model"] = {**results["model"], "name": model} if results.get("model") else {"name": model}
        results["created"] = created
        (root / run_id).mkdir(parents=True)
        (root / run_id / "results.json").write_text(json.dumps(results), encoding="utf-8")


def test_selection_by_model_glob_tier_and_dates(tmp_path: Path) -> None:
    write_runs(
        tmp_path,
        ("r1", "ckpt-25", "2026-11-01T10:00:00+00:00"),
        ("r2", "ckpt-50", "2026-11-02T10:00:00+00:00"),
        ("r3", "other", "2026-11-03T23:59:00+00:00"),
    )
    (tmp_path / "stopped-early").mkdir()  # no results.json: reported as skipped, never silently dropped

    def ids(**selection: Any) -> list[str]:
        return [run.run_id for run in collect_history(tmp_path, Selection(**selection)).runs]

    assert ids() == ["r1", "r2", "r3"]
    assert ids(model="ckpt-*") == ["r1", "r2"]
    assert ids(since=dt.date(2026, 11, 2)) == ["r2", "r3"]
    assert ids(until=dt.date(2026, 11, 3)) == ["r1", "r2", "r3"]  # inclusive: the whole last day
    assert ids(since=dt.date(2026, 11, 2), until=dt.date(2026, 11, 2)) == ["r2"]
    assert ids(tier="full") == []
    assert collect_history(tmp_path).skipped == [
        f"{tmp_path / 'stopped-early'}: no results.json (a run that stopped before its end?)"
    ]


def test_the_command_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    write_runs(tmp_path, ("r1", "m", "2026-11-01T10:00:00+00:00"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{", encoding="utf-8")
    for args, message in [
        ([str(tmp_path / "nowhere")], "no such reports folder"),
        ([str(tmp_path), "--model", "nothing-*"], "no run matches the selection"),
        ([str(tmp_path), "--since", "yesterday"], "'yesterday' is not a date (YYYY-MM-DD)"),
    ]:
        shown = taskbench("history", *args)
        assert shown.returncode == 2 and message in shown.stderr and "Traceback" not in shown.stderr, shown.stderr
    shown = taskbench("history", str(tmp_path))
    assert shown.returncode == 0
    assert f"skipped {tmp_path / 'broken' / 'results.json'}: not a results.json" in shown.stderr
    assert (tmp_path / HISTORY_HTML).is_file()


def test_model_text_is_escaped_in_the_page_and_shown_as_written_in_the_table(tmp_path: Path) -> None:
    write_runs(tmp_path, ("r1", "<script>alert(1)</script> [bold]x", "2026-11-01T10:00:00+00:00"))
    shown = taskbench("history", str(tmp_path))
    assert "[bold]x" in shown.stdout
    page = (tmp_path / HISTORY_HTML).read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; [bold]x" in page


def test_an_empty_folder_has_no_history(tmp_path: Path) -> None:
    assert collect_history(tmp_path).runs == []
    with pytest.raises(TaskbenchError, match="no such reports folder"):
        collect_history(tmp_path / "missing")
