"""`--log-to mlflow`: a real run of the demo model on vLLM logged to a local MLflow store and read back with the
MLflow client; the params and metrics every tracker gets; one clear line when mlflow is missing."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest
from evalrun import copy_evals, run_evals
from synthetic_results import synthetic_results

from taskbench.results.comparability import dataset_version, settings_digest
from taskbench.trackers import LOGGED_FILES, run_metrics, run_params

USAGE = int(pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def mlflow_installed() -> None:
    # Missing mlflow fails loudly: scripts/setup.sh installs the extra, and a skipped test is a silent pass.
    if importlib.util.find_spec("mlflow") is None:
        pytest.fail("mlflow is not installed: run scripts/setup.sh (the mlflow extra)", pytrace=False)


@pytest.mark.vllm
@pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow")  # the MLflow client's own, as it reads back
def test_a_real_run_is_logged_to_a_local_store_and_reads_back(
    pytester: pytest.Pytester, demo_server: Any, mlflow_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "taskbench-test")
    result, results = run_evals(
        pytester, "-m", "not episodes", "--model-url", demo_server.url, "--no-cache", "--log-to", "mlflow"
    )
    assert result.ret == 1, result.stdout.str()[-2000:]  # the demo model fails some cases
    [line] = [line for line in result.stdout.lines if line.startswith("taskbench: logged to MLflow run")]
    assert line.endswith(f"at {store}")
    assert "warnings summary" not in result.stdout.str(), "MLflow's own deprecations must not reach the user's run"

    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("taskbench-test")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == results["run_id"] and line.split()[5] == run.info.run_id
    metrics, params = run.data.metrics, run.data.params
    summary = results["summary"]
    assert metrics["aggregate"] == pytest.approx(summary["aggregate"]["value"])
    assert [metrics["aggregate.ci_low"], metrics["aggregate.ci_high"]] == pytest.approx(summary["aggregate"]["ci"])
    for name, cell in summary["capabilities"].items():
        assert metrics[f"{name}.mean"] == pytest.approx(cell["mean"])
        assert metrics[f"{name}.pass_rate"] == pytest.approx(cell["pass_rate"])
        assert [metrics[f"{name}.mean.ci_low"], metrics[f"{name}.mean.ci_high"]] == pytest.approx(cell["mean_ci"])
        for level, level_cell in cell["levels"].items():
            assert metrics.get(f"{name}.{level}.mean") == pytest.approx(level_cell["mean"])
    assert params["model"] == results["model"]["name"] == demo_server.served_name
    assert params["tier"] == "dev" and params["dataset.version"] == dataset_version(results)
    assert params["settings_digest"] == settings_digest(results)
    assert params["config.max_tokens"] == "256" and params["config.model_url"] == f'["{demo_server.url}"]'
    assert params["model.vllm_version"] == results["model"]["vllm_version"]
    logged = {artifact.path for artifact in client.list_artifacts(run.info.run_id)}
    assert logged == set(LOGGED_FILES)
    assert Path(run.data.tags["taskbench.run_dir"]).name == results["run_id"]
    assert run.data.tags["taskbench.complete"] == str(results["complete"])


def test_metrics_cover_levels_intervals_pass_k_and_leave_out_what_the_run_lacks() -> None:
    results = synthetic_results(per_capability=20, samples=3, capabilities=["entity_extraction", "edge_cases"])
    metrics = run_metrics(results)
    assert all(isinstance(value, float) and math.isfinite(value) for value in metrics.values())
    samples = results["samples"]
    assert metrics["pass_hat_k.overall"] == pytest.approx(samples["pass_hat_k"]["overall"])
    assert metrics["pass_at_1.entity_extraction"] == pytest.approx(
        samples["pass_at_1"]["by_capability"]["entity_extraction"]
    )
    assert metrics["pass_hat_k.simple"] == pytest.approx(samples["pass_hat_k"]["by_level"]["simple"])
    # A capability the run did not cover has no mean: nothing is logged for it, never a 0.
    assert "action_recognition.mean" not in metrics and "entity_extraction.mean" in metrics
    assert not any(key.startswith("episodes.") for key in metrics)
    with_episodes = run_metrics(synthetic_results(per_capability=10, episodes=6))
    assert 0.0 <= with_episodes["episodes.pass_rate"] <= 1.0 and "episodes.turn_accuracy" in with_episodes


def test_params_are_flat_strings_with_every_setting_and_field_weight() -> None:
    results = synthetic_results(per_capability=10)
    params = run_params(results)
    assert all(isinstance(value, str) for value in params.values())
    assert {f"config.{key}" for key in results["config"]} <= params.keys()
    assert params["field_weight.title"] == "3.0" and params["field_weight.due_time"] == "1.0"


def test_missing_mlflow_is_one_line_before_the_run(pytester: pytest.Pytester) -> None:
    # Hides mlflow from the run's process, as on a machine without the extra.
    pytester.makeconftest(
        """
        import importlib.util
        _find_spec = importlib.util.find_spec
        importlib.util.find_spec = lambda name, package=None: None if name == "mlflow" else _find_spec(name, package)
        """
    )
    result = pytester.runpytest_subprocess(
        *copy_evals(pytester), "--log-to", "mlflow", "--model-url", "http://127.0.0.1:9"
    )
    assert result.ret == USAGE
    errors = result.stderr.str()
    assert "taskbench: --log-to mlflow needs the mlflow package: pip install 'taskbench[mlflow]'" in errors
    assert "Traceback" not in errors


def test_an_unknown_tracker_is_refused(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKBENCH_LOG_TO", "wandb")
    result = pytester.runpytest_subprocess(*copy_evals(pytester), "--model-url", "http://127.0.0.1:9")
    assert result.ret == USAGE
    assert "taskbench: --log-to 'wandb' is not a tracker (known: mlflow)" in result.stderr.str()


class Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_a_tracker_that_fails_says_why_in_one_line_and_leaves_the_run_alone(
    mlflow_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from taskbench.trackers import MlflowTracker

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://nowhere")
    terminal = Terminal()
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: terminal))
    session = SimpleNamespace(exitstatus=1)
    MlflowTracker(config).pytest_taskbench_results(session, synthetic_results(per_capability=5), tmp_path)
    [line] = terminal.lines
    assert line.startswith("taskbench: could not log to MLflow (") and "\n" not in line
    assert session.exitstatus == 1
