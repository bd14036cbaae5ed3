"""The pytest plugin (registered through the `pytest11` entry point): options, one item per case,
answers generated ahead of the items, scores collected by capability x level, reports at session end.

Controller and worker split (pytest-xdist): only the controller (or a serial run) talks to the model
and writes reports; workers read the run's answers and send their records back on the test reports.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest

from scorers import Score
from taskbench.cases import Case
from taskbench.client import Answer
from taskbench.config import LEVELS
from taskbench.errors import DataError, ModelError, TaskbenchError
from taskbench.live import LiveModel
from taskbench.options import add_options
from taskbench.records import case_brief, item_record
from taskbench.results import build_results, write_results
from taskbench.run import RUN_STATE, RunState
from taskbench.terminal import write_summary

EXIT_INFRASTRUCTURE = 7


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from taskbench import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        state = RunState.from_config(config)
    except TaskbenchError as exc:
        raise pytest.UsageError(f"taskbench: {exc}") from None
    config.stash[RUN_STATE] = state
    for capability in state.capabilities.capabilities:
        config.addinivalue_line("markers", f"{capability.name}: taskbench capability - {capability.description}")
    for level in LEVELS:
        config.addinivalue_line("markers", f"{level}: taskbench difficulty level")
    if not state.is_worker:
        config.pluginmanager.register(RunReporter(state), "taskbench-reporter")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistController(state), "taskbench-xdist-controller")
    config.add_cleanup(state.close)
    # Thousands of items each leave records and reports alive; the default thresholds would run the
    # collector over them ~1,400 times in a 10k-item run.
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    config.add_cleanup(lambda: gc.set_threshold(*thresholds))


def _capability_of(metafunc: pytest.Metafunc, state: RunState) -> str | None:
    """The capability whose cases parametrize this test: its one capability marker, if it has one."""
    names = [m.name for m in metafunc.definition.iter_markers() if m.name in state.capabilities.names]
    if len(names) > 1:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: a taskbench test takes the cases of one capability, "
            f"but it is marked with {', '.join(names)}"
        )
    return names[0] if names else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[RUN_STATE]
    capability = _capability_of(metafunc, state)
    if capability is None:
        return
    try:
        cases = state.cases_for(capability)
    except DataError as exc:
        raise pytest.UsageError(f"taskbench: {exc}") from None
    metafunc.parametrize(
        "case",
        [
            pytest.param(c, id=c.id, marks=[getattr(pytest.mark, c.capability), getattr(pytest.mark, c.level)])
            for c in cases
        ],
    )


def _item_case(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec is not None else None
    return case if isinstance(case, Case) else None


@contextmanager
def _terminal(config: pytest.Config) -> Iterator[Callable[[str], None]]:
    """Print on the real terminal while pytest's output capture is active."""
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else nullcontext():
        yield lambda line: print(line, file=sys.stderr, flush=True)


def _generate(state: RunState, cases: list[Case]) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with _terminal(state.config) as say:
        columns = (
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f}/s"),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns, transient=False) as progress:
                task = progress.add_task("generate", total=len(cases), rate=0.0)

                def on_progress(done: int, total: int) -> None:
                    elapsed = progress.tasks[0].elapsed or 0.0
                    progress.update(task, completed=done, total=total, rate=done / elapsed if elapsed else 0.0)

                state.generate_answers(cases, say, on_progress)
        except ModelError as exc:
            state.close()
            pytest.exit(f"taskbench: {exc}", returncode=EXIT_INFRASTRUCTURE)
        report = state.generation
        if report is not None:
            say(
                f"taskbench: {report.requested} answers: {report.from_cache} from cache, {report.sent} sent, "
                f"{report.failed} failed, {report.seconds:.1f} s"
            )


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash[RUN_STATE]
    if state.is_worker or session.config.option.collectonly:
        return
    cases = [case for item in session.items if (case := _item_case(item)) is not None]
    if session.items:
        _generate(state, cases)


class XdistController:
    """Hooks that exist only on the pytest-xdist controller."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.generated = False

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["taskbench_run_id"] = self.state.run_id
        node.workerinput["taskbench_run_dir"] = str(self.state.run_dir)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Scheduling waits for this hook, so answers exist before any worker runs an item.
        if self.generated or self.state.config.option.collectonly:
            return
        self.generated = True
        by_id = self.state.case_by_id()
        cases = [by_id[case_id] for node_id in ids if (case_id := _param_id(node_id)) in by_id]
        if ids:
            _generate(self.state, cases)

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error:
            self.state.incomplete.append(f"worker {node.gateway.id} crashed: {error}")
        sent = (getattr(node, "workeroutput", None) or {}).get("taskbench_recorded", [])
        lost = sorted(set(sent) - set(self.state.records))
        if lost:
            self.state.incomplete.append(f"worker {node.gateway.id}: {len(lost)} records never arrived: {lost[:5]}")


def _param_id(node_id: str) -> str | None:
    return node_id[node_id.rfind("[") + 1 : -1] if node_id.endswith("]") else None


@pytest.fixture
def answer(request: pytest.FixtureRequest, case: Case) -> Answer:
    """The model's answer to this item's case, generated before the items ran."""
    state = request.config.stash[RUN_STATE]
    try:
        return state.answer_for(case)
    except TaskbenchError as exc:
        pytest.fail(str(exc), pytrace=False)


RECORD_KEY = pytest.StashKey[dict[str, Any]]()
FUZZ_KEY = pytest.StashKey[list[dict[str, Any]]]()


@pytest.fixture
def task_model(request: pytest.FixtureRequest) -> LiveModel:
    """The run's model for requests an item makes up as it runs (fuzzing); cached like all answers."""
    try:
        return request.config.stash[RUN_STATE].live_model()
    except TaskbenchError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def record_fuzz(request: pytest.FixtureRequest) -> Callable[[dict[str, Any]], None]:
    """Hand one fuzz outcome (plain data: family, property, counts, minimal failures) to taskbench."""

    def record(outcome: dict[str, Any]) -> None:
        request.node.stash.setdefault(FUZZ_KEY, []).append({**outcome, "test": request.node.nodeid})

    return record


@pytest.fixture
def record_score(request: pytest.FixtureRequest, case: Case, answer: Answer) -> Callable[[Score], None]:
    """Hand an item's Score to taskbench (results, reports) and to the JUnit XML as properties."""

    def record(score: Score) -> None:
        request.node.stash[RECORD_KEY] = item_record(case, answer, score)
        request.config.stash[RUN_STATE].recorded.append(case.id)
        for name, value in (("score", score.score), ("failure", score.failure.value), ("level", case.level)):
            request.node.user_properties.append((f"taskbench_{name}", value))

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call" and FUZZ_KEY in item.stash:
        report.taskbench_fuzz = item.stash[FUZZ_KEY]
    case = _item_case(item)
    if case is not None:
        # Plain data on the report survives pytest-xdist's serialisation to the controller.
        report.taskbench_case = case_brief(case)
        if call.when == "call" and RECORD_KEY in item.stash:
            report.taskbench_record = item.stash[RECORD_KEY]
    return report


class RunReporter:
    """Controller-side (or serial) collection and reporting: the only place results are written."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.fuzz.extend(getattr(report, "taskbench_fuzz", ()))
        brief = getattr(report, "taskbench_case", None)
        if brief is None and report.when == "???":
            # pytest-xdist's report for the item a crashed worker was running carries only its node id.
            case = self.state.case_by_id().get(_param_id(report.nodeid) or "")
            brief = None if case is None else case_brief(case)
        if brief is None:
            return
        record = getattr(report, "taskbench_record", None)
        if record is not None:
            self.state.records[record["id"]] = record
            self.state.errors.pop(record["id"], None)
        elif report.failed and report.when != "teardown":
            message = report.longreprtext[-2000:]
            self.state.errors[brief["id"]] = {**brief, "when": report.when, "message": message}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.state.records or self.state.errors or self.state.generation is not None:
            # Imported here: analysis and reports pull in pandas and matplotlib, which no worker needs.
            from taskbench.analysis import analyse
            from taskbench.reports import write_reports

            results = build_results(self.state)
            results["analysis"] = analyse(results)
            self.state.results = results
            self.state.results_path = write_results(self.state.run_dir, results)
            write_reports(self.state.run_dir, results)
            session.config.hook.pytest_taskbench_results(session=session, results=results, run_dir=self.state.run_dir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.state.results_path is not None:
            write_summary(terminalreporter, self.state)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["taskbench_recorded"] = session.config.stash[RUN_STATE].recorded
