"""pytest-xdist: the controller's hooks and the workers' hand-off, split by process role as pytest-xdist
splits its own (dsession.py on the controller, remote.py on a worker).

Only the controller opens the model and generates; workers read the run's answers (answers.jsonl) and the
served model (served.json) from the run folder. Workers send plain data only: each item's record rides on
its test report, and at session end a worker names the items it sent records for, so the controller can
tell records lost with a crashed worker from items that never ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from taskbench.artifacts import LIVE_MODEL_WANTED

if TYPE_CHECKING:
    from taskbench.collector import Collector
    from taskbench.data.cases import Case
    from taskbench.data.episodes import Episode
    from taskbench.run import RunInputs

# Keys of pytest-xdist's workerinput (controller -> worker) and workeroutput (worker -> controller).
RUN_ID_KEY = "taskbench_run_id"
RUN_DIR_KEY = "taskbench_run_dir"
RECORDED_KEY = "taskbench_recorded"


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def controller_run(config: pytest.Config) -> tuple[str, Path] | None:
    """On a worker, the run id and (absolute) run folder the controller gave it; None elsewhere."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    return workerinput[RUN_ID_KEY], Path(workerinput[RUN_DIR_KEY])


def param_id(node_id: str) -> str | None:
    """The parameter id of an item's node id ("...::test_x[case-id]" -> "case-id")."""
    return node_id[node_id.rfind("[") + 1 : -1] if node_id.endswith("]") else None


class XdistController:
    """Hooks that exist only on the pytest-xdist controller: generation once every worker has collected,
    and worker crashes turned into reasons the run is incomplete."""

    def __init__(
        self,
        config: pytest.Config,
        inputs: RunInputs,
        collector: Collector,
        generate: Callable[[Sequence[Case], Sequence[Episode]], None],
    ) -> None:
        self.config = config
        self.inputs = inputs
        self.collector = collector
        self.generate = generate
        self.generated = False

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_ID_KEY] = self.inputs.run_id
        node.workerinput[RUN_DIR_KEY] = str(self.inputs.run_dir)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Scheduling waits for this hook, so answers exist before any worker runs an item.
        if self.generated or self.config.option.collectonly:
            return
        self.generated = True
        case_by_id, episode_by_id = self.inputs.case_by_id(), self.inputs.episode_by_id()
        param_ids = [param_id(node_id) or "" for node_id in ids]
        cases = [case_by_id[param] for param in param_ids if param in case_by_id]
        episodes = [episode_by_id[param] for param in param_ids if param in episode_by_id]
        if cases or episodes or (self.inputs.run_dir / LIVE_MODEL_WANTED).is_file():
            self.generate(cases, episodes)

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error:
            self.collector.incomplete.append(f"worker {node.gateway.id} crashed: {error}")
        sent = (getattr(node, "workeroutput", None) or {}).get(RECORDED_KEY, [])
        lost = sorted(set(sent) - self.collector.received())
        if lost:
            self.collector.incomplete.append(f"worker {node.gateway.id}: {len(lost)} records never arrived: {lost[:5]}")


class WorkerHandoff:
    """Hooks that exist only on a pytest-xdist worker: the ids of the items whose records it sent."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.recorded: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "taskbench_record", None)
        if record is not None:
            self.recorded.append(record["id"])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.config.workeroutput[RECORDED_KEY] = self.recorded  # type: ignore[attr-defined]
