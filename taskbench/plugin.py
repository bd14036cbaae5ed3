"""The pytest plugin (registered through the `pytest11` entry point): options, one item per case and per
episode, answers generated ahead of the items (episodes in rounds, one turn each), the `judge` fixture that
scores an item's answers, scores collected by capability x level, reports at session end; the `task_model`
fixture for items that make up their requests as they run (fuzzing).

Controller and worker split (pytest-xdist): only the controller (or a serial run) opens the model, generates
and writes reports; workers read the run's answers (answers.jsonl) and the served model (served.json) from
the run folder and send their records back on the test reports.
"""

from __future__ import annotations

import atexit
import functools
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest

from taskbench.artifacts import LIVE_MODEL_WANTED, write_results
from taskbench.data.capabilities import LEVELS
from taskbench.data.cases import Case
from taskbench.data.episodes import Episode
from taskbench.errors import DataError, ModelError, TaskbenchError
from taskbench.exitcodes import EXIT_INFRASTRUCTURE
from taskbench.model.live import LiveModel
from taskbench.model.reading import reader_for, record_fields, score_reading
from taskbench.options import add_options
from taskbench.reports.process import ReportWriter
from taskbench.reports.terminal import write_summary
from taskbench.results.analysis import analyse
from taskbench.results.build import build_results
from taskbench.run import RUN_STATE, RunState
from taskbench.scoring.episodes import judge_episode
from taskbench.scoring.records import case_brief, episode_brief, item_record

LIVE_MODEL_FIXTURE = "task_model"


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
    config.addinivalue_line("markers", "episodes: taskbench multi-turn episodes, judged by the task list they leave")
    if not state.is_worker:
        state.report_writer = ReportWriter(functools.partial(_say, config))
        config.pluginmanager.register(RunReporter(state, state.report_writer), "taskbench-reporter")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistController(state), "taskbench-xdist-controller")
    config.add_cleanup(state.close)
    # Thousands of items each leave records and reports alive; the default thresholds would run the
    # collector over them ~1,400 times in a 10k-item run.
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    config.add_cleanup(lambda: gc.set_threshold(*thresholds))
    # At interpreter exit the collector would scan the whole run's objects once more (~1.2 s CPU after 10,000
    # items) to free memory the ending process returns anyway; frozen objects are not scanned. At exit, not at
    # cleanup: a process that runs pytest in-process several times (pytester) must keep collecting.
    atexit.unregister(_freeze_at_exit)
    atexit.register(_freeze_at_exit, state)


def _freeze_at_exit(state: RunState) -> None:
    # Only where items ran: frozen objects are never freed, and in a process that ran none (`pytest tests/`,
    # which loads torch) that would only make triton's nanobind bindings print ~30 lines of "leaked" at exit.
    if state.recorded or state.records or state.episode_records:
        gc.freeze()


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
    if "episode" in metafunc.fixturenames:
        _parametrize_episodes(metafunc)
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
    # The test carries its capability's mark already; each case adds its level's.
    level_marks = {level: getattr(pytest.mark, level) for level in LEVELS}
    metafunc.parametrize("case", [pytest.param(c, id=c.id, marks=level_marks[c.level]) for c in cases])


def _parametrize_episodes(metafunc: pytest.Metafunc) -> None:
    try:
        episodes = metafunc.config.stash[RUN_STATE].episode_set.episodes
    except DataError as exc:
        raise pytest.UsageError(f"taskbench: {exc}") from None
    metafunc.parametrize(
        "episode",
        [pytest.param(e, id=e.id, marks=[pytest.mark.episodes, getattr(pytest.mark, e.level)]) for e in episodes],
    )


def _item_param(item: pytest.Item, name: str) -> Any:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get(name) if callspec is not None else None


def _item_case(item: pytest.Item) -> Case | None:
    case = _item_param(item, "case")
    return case if isinstance(case, Case) else None


def _item_episode(item: pytest.Item) -> Episode | None:
    episode = _item_param(item, "episode")
    return episode if isinstance(episode, Episode) else None


@contextmanager
def _terminal(config: pytest.Config) -> Iterator[Callable[[str], None]]:
    """Print on the real terminal while pytest's output capture is active."""
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else nullcontext():
        yield lambda line: print(line, file=sys.stderr, flush=True)


def _say(config: pytest.Config, line: str) -> None:
    with _terminal(config) as say:
        say(line)


def _generate(state: RunState, cases: list[Case], episodes: list[Episode]) -> None:
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

                state.generate_answers(cases, episodes, say, on_progress)
        except ModelError as exc:
            state.close()
            pytest.exit(f"taskbench: {exc}", returncode=EXIT_INFRASTRUCTURE)
        report = state.generation
        if report is not None:
            say(
                f"taskbench: {report.requested} answers: {report.from_cache} from cache, {report.sent} sent, "
                f"{report.failed} failed, {report.seconds:.1f} s"
            )
    # After generation, not before: its imports would take a core from the model server (here, on CPU).
    if state.report_writer is not None:
        state.report_writer.start()


def _uses_live_model(items: list[pytest.Item]) -> bool:
    return any(LIVE_MODEL_FIXTURE in getattr(item, "fixturenames", ()) for item in items)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash[RUN_STATE]
    if session.config.option.collectonly:
        return
    if state.is_worker:
        # Tryfirst: the file exists before pytest-xdist tells the controller this worker has collected.
        if _uses_live_model(session.items):
            state.run_dir.mkdir(parents=True, exist_ok=True)
            (state.run_dir / LIVE_MODEL_WANTED).touch()
        return
    cases = [case for item in session.items if (case := _item_case(item)) is not None]
    episodes = [episode for item in session.items if (episode := _item_episode(item)) is not None]
    if cases or episodes or _uses_live_model(session.items):
        _generate(state, cases, episodes)


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
        case_by_id, episode_by_id = self.state.case_by_id(), self.state.episode_by_id()
        param_ids = [_param_id(node_id) or "" for node_id in ids]
        cases = [case_by_id[param] for param in param_ids if param in case_by_id]
        episodes = [episode_by_id[param] for param in param_ids if param in episode_by_id]
        if cases or episodes or (self.state.run_dir / LIVE_MODEL_WANTED).is_file():
            _generate(self.state, cases, episodes)

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error:
            self.state.incomplete.append(f"worker {node.gateway.id} crashed: {error}")
        sent = (getattr(node, "workeroutput", None) or {}).get("taskbench_recorded", [])
        lost = sorted(set(sent) - set(self.state.records) - set(self.state.episode_records))
        if lost:
            self.state.incomplete.append(f"worker {node.gateway.id}: {len(lost)} records never arrived: {lost[:5]}")


def _param_id(node_id: str) -> str | None:
    return node_id[node_id.rfind("[") + 1 : -1] if node_id.endswith("]") else None


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


@pytest.fixture(scope="session")
def judge(pytestconfig: pytest.Config) -> Callable[[Case | Episode], dict[str, Any]]:
    """`judge(case)` or `judge(episode)`: the item's record, from the run's stored answers (every sample,
    every turn) scored by the capability scorers, handed to taskbench (results, reports, JUnit XML). With
    --samples an item passes only when every sample does. Session-scoped: pytest sets up a function-scoped
    fixture for each item (~0.1 ms, a sixth of a 10,000-case replay); this one costs an item nothing."""
    state = pytestconfig.stash[RUN_STATE]

    def judged(item: Case | Episode) -> dict[str, Any]:
        if not isinstance(item, Case | Episode):
            pytest.fail(f"judge() takes the item's case or episode, not {type(item).__name__}", pytrace=False)
        try:
            record = _case_record(state, item) if isinstance(item, Case) else _episode_record(state, item)
        except TaskbenchError as exc:
            pytest.fail(str(exc), pytrace=False)
        state.scored[item.id] = record
        state.recorded.append(item.id)
        return record

    return judged


def _case_record(state: RunState, case: Case) -> dict[str, Any]:
    answers = state.answers_for_case(case)
    weights = state.capabilities.field_weights
    reader = reader_for(state.settings)
    readings = [reader.read(answer) for answer in answers]
    scores = [score_reading(case.to_record(), reading, weights) for reading in readings]
    samples = list(zip(state.sample_seeds(), answers, scores, strict=True)) if len(answers) > 1 else []
    return {**item_record(case, answers[0], scores[0], samples), **record_fields(answers[0], readings[0])}


def _episode_record(state: RunState, episode: Episode) -> dict[str, Any]:
    outputs = state.outputs_for_episode(episode)
    return judge_episode(episode, state.episode_mode, outputs, state.capabilities.field_weights)


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # An item whose answers are missing (the model failed on it) is an error in setup, as a broken fixture
    # would be, not a failure of the model's answer.
    case, episode = _item_case(item), _item_episode(item)
    if case is None and episode is None:
        return
    state = item.config.stash[RUN_STATE]
    try:
        state.answers_for_case(case) if case is not None else state.outputs_for_episode(episode)
    except TaskbenchError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call" and FUZZ_KEY in item.stash:
        report.taskbench_fuzz = item.stash[FUZZ_KEY]
    case, episode = _item_case(item), _item_episode(item)
    # Plain data on the report survives pytest-xdist's serialisation to the controller.
    if case is not None:
        report.taskbench_case = case_brief(case)
    elif episode is not None:
        report.taskbench_episode = episode_brief(episode)
    item_id = case.id if case is not None else episode.id if episode is not None else None
    record = item.config.stash[RUN_STATE].scored.pop(item_id, None) if item_id and call.when == "call" else None
    if record is not None:
        report.taskbench_record = record
        if case is not None:
            # On the item: the JUnit XML reads an item's properties from its teardown report.
            item.user_properties += [(f"taskbench_{name}", record[name]) for name in ("score", "failure", "level")]
    return report


class RunReporter:
    """Controller-side (or serial) collection and reporting: the only place results are written."""

    def __init__(self, state: RunState, writer: ReportWriter) -> None:
        self.state = state
        self.writer = writer
        # Registered by pytest's own pytest_configure, which runs before taskbench's (trylast).
        self.terminal = state.config.pluginmanager.get_plugin("terminalreporter")

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.fuzz.extend(getattr(report, "taskbench_fuzz", ()))
        brief = getattr(report, "taskbench_case", None)
        records, errors = self.state.records, self.state.errors
        if brief is None and (brief := getattr(report, "taskbench_episode", None)) is not None:
            records, errors = self.state.episode_records, self.state.episode_errors
        if brief is not None and report.passed and report.when != "call" and not report.sections:
            self._forget_quiet_report(report)
        if brief is None and report.when == "???":
            brief, records, errors = self._crashed_item(report.nodeid)
        if brief is None:
            return
        record = getattr(report, "taskbench_record", None)
        if record is not None:
            records[record["id"]] = record
            errors.pop(record["id"], None)
        elif report.failed and report.when != "teardown":
            message = report.longreprtext[-2000:]
            # pytest-xdist names the phase a worker crashed in "???".
            when = "crashed" if report.when == "???" else report.when
            errors[brief["id"]] = {**brief, "when": when, "message": message}

    def _crashed_item(self, node_id: str) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
        # pytest-xdist's report for the item a crashed worker was running carries only its node id.
        param = _param_id(node_id) or ""
        case = self.state.case_by_id().get(param)
        if case is not None:
            return case_brief(case), self.state.records, self.state.errors
        episode = self.state.episode_by_id().get(param)
        brief = None if episode is None else episode_brief(episode)
        return brief, self.state.episode_records, self.state.episode_errors

    def _forget_quiet_report(self, report: pytest.TestReport) -> None:
        # The terminal reporter keeps every passed setup/teardown report and, for each failure, scans them
        # all for its teardown output: O(failures x items), most of a 10k-item replay. An item's setup or
        # teardown with no output has nothing to show there, so its report is not kept (it was just added).
        kept = self.terminal.stats.get("") if self.terminal is not None else None
        if kept and kept[-1] is report:
            kept.pop()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.state.records or self.state.errors or self.state.generation is not None:
            results = build_results(self.state)
            results["analysis"] = analyse(results)
            self.state.results = results
            self.writer.submit(self.state.run_dir, results)
            self.state.results_path = write_results(self.state.run_dir, results)
            self.writer.wait()
            session.config.hook.pytest_taskbench_results(session=session, results=results, run_dir=self.state.run_dir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.state.results_path is not None:
            write_summary(terminalreporter, self.state)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["taskbench_recorded"] = session.config.stash[RUN_STATE].recorded
