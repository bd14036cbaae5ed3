"""The pytest plugin (registered through the `pytest11` entry point): its hooks and fixtures only. Options,
one item per case and per episode, answers generated ahead of the items (episodes in rounds, one turn
each), the `judge` fixture that scores an item's answers, each record put on its item's report; the
`task_model` fixture for items that make up their requests as they run (fuzzing).

The state lives on `config.stash`, one key per concern: what the run is configured with and what the model
side produced (taskbench.run), the collector that turns the reports into results.json and the reports
(taskbench.collector, on the controller or in a serial run), and the judge-to-report hand-off (here).
pytest-xdist's controller and workers have their own hooks (taskbench.xdist).
"""

from __future__ import annotations

import atexit
import functools
import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import pytest

from taskbench import stops
from taskbench.artifacts import LIVE_MODEL_WANTED
from taskbench.collector import COLLECTOR, Collector
from taskbench.data.capabilities import LEVELS
from taskbench.data.cases import Case
from taskbench.data.episodes import Episode
from taskbench.errors import DataError, ModelError, TaskbenchError
from taskbench.model.generation import GenerationInterrupted
from taskbench.model.live import LiveModel
from taskbench.model.reading import reader_for, record_fields, score_reading
from taskbench.model.session import ModelSession
from taskbench.model.sweep import ModelPlan, plan_models
from taskbench.options import add_options
from taskbench.preflight import checked_inputs
from taskbench.reports.process import ReportWriter
from taskbench.run import ANSWERS, RUN_INPUTS, AnswerStore, RunInputs
from taskbench.scoring.episodes import judge_episode
from taskbench.scoring.records import case_brief, episode_brief, item_record
from taskbench.stops import stop_after_interrupt, stop_for_infrastructure
from taskbench.sweep import SWEEP, Member, Sweep, SweepCollector, swept
from taskbench.xdist import WorkerHandoff, XdistController, is_worker

LIVE_MODEL_FIXTURE = "task_model"


@dataclass
class JudgedRecords:
    """Item records on their way from the `judge` fixture to their item's call report: `judge` is
    session-scoped (see there), so it cannot put them on the item itself."""

    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    judged: int = 0


JUDGED = pytest.StashKey[JudgedRecords]()
FUZZ_KEY = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from taskbench import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    inputs = checked_inputs(config)
    config.stash[RUN_INPUTS] = inputs
    config.stash[ANSWERS] = answers = AnswerStore(inputs)
    config.stash[JUDGED] = judged = JudgedRecords()
    for capability in inputs.capabilities.capabilities:
        config.addinivalue_line("markers", f"{capability.name}: taskbench capability - {capability.description}")
    for level in LEVELS:
        config.addinivalue_line("markers", f"{level}: taskbench difficulty level")
    config.addinivalue_line("markers", "episodes: taskbench multi-turn episodes, judged by the task list they leave")
    collector = None
    plan = _model_plan(config, inputs)
    if is_worker(config):
        config.pluginmanager.register(WorkerHandoff(config), "taskbench-xdist-worker")
    elif plan.is_sweep:
        config.stash[SWEEP] = sweep = Sweep(config, inputs, plan, functools.partial(_say, config))
        config.pluginmanager.register(SweepCollector(sweep), "taskbench-sweep-collector")
        config.pluginmanager.register(stops, "taskbench-stops")
        config.add_cleanup(sweep.close)
    else:
        collector = Collector(config, inputs, answers, ReportWriter(functools.partial(_say, config)))
        config.stash[COLLECTOR] = collector
        config.pluginmanager.register(collector, "taskbench-collector")
        config.pluginmanager.register(stops, "taskbench-stops")
        config.add_cleanup(collector.close)
        if config.pluginmanager.hasplugin("xdist"):
            generate = functools.partial(_generate, config)
            controller = XdistController(config, inputs, collector, generate)
            config.pluginmanager.register(controller, "taskbench-xdist-controller")
    config.add_cleanup(answers.close)
    # Thousands of items each leave records and reports alive; the default thresholds would run the
    # collector over them ~1,400 times in a 10k-item run.
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    config.add_cleanup(lambda: gc.set_threshold(*thresholds))
    # At interpreter exit the collector would scan the whole run's objects once more (~1.2 s CPU after 10,000
    # items) to free memory the ending process returns anyway; frozen objects are not scanned. At exit, not at
    # cleanup: a process that runs pytest in-process several times (pytester) must keep collecting.
    atexit.unregister(_freeze_at_exit)
    atexit.register(_freeze_at_exit, judged, collector)


def _model_plan(config: pytest.Config, inputs: RunInputs) -> ModelPlan:
    """The session's models (taskbench.model.sweep); a sweep refuses what works on one model only."""
    try:
        plan = plan_models(inputs.settings)
    except TaskbenchError as exc:
        raise pytest.UsageError(f"taskbench: {exc}") from None
    if plan.is_sweep and (is_worker(config) or getattr(config.option, "numprocesses", None)):
        raise pytest.UsageError("taskbench: a sweep over several models runs in one process: give it without -n")
    if plan.is_sweep:
        from taskbench.options import resolve_gate_settings

        try:
            gate = resolve_gate_settings(config, inputs.capabilities.names)
        except TaskbenchError:
            return plan  # the gate's own pytest_configure says what is wrong with its settings
        if gate.active or gate.save_baseline is not None:
            raise pytest.UsageError(
                "taskbench: the gate judges one model, and this session sweeps "
                f"{len(plan.models)} ({', '.join(m.label for m in plan.models)}): gate each model in a run of its own"
            )
    return plan


def _freeze_at_exit(judged: JudgedRecords, collector: Collector | None) -> None:
    # Only where items ran or answers were generated (a run stopped by Ctrl-C before its items): frozen objects are
    # never freed, and in a process that did neither (`pytest tests/`, which loads torch) that would only make
    # triton's nanobind bindings print ~30 lines of "leaked" at exit.
    if judged.judged or (collector is not None and (collector.received() or collector.answers.generation)):
        gc.freeze()


def _capability_of(metafunc: pytest.Metafunc, inputs: RunInputs) -> str | None:
    """The capability whose cases parametrize this test: its one capability marker, if it has one."""
    names = [m.name for m in metafunc.definition.iter_markers() if m.name in inputs.capabilities.names]
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
    inputs = metafunc.config.stash[RUN_INPUTS]
    capability = _capability_of(metafunc, inputs)
    if capability is None:
        return
    try:
        cases = inputs.cases_for(capability)
    except DataError as exc:
        raise pytest.UsageError(f"taskbench: {exc}") from None
    # The test carries its capability's mark already; each case adds its level's.
    level_marks = {level: getattr(pytest.mark, level) for level in LEVELS}
    sweep = metafunc.config.stash.get(SWEEP, None)
    if sweep is None:
        metafunc.parametrize("case", [pytest.param(c, id=c.id, marks=level_marks[c.level]) for c in cases])
        return
    params = [
        pytest.param(swept(c, label), id=f"{c.id}-{label}", marks=level_marks[c.level])
        for label in sweep.labels
        for c in cases
    ]
    metafunc.parametrize("case", params)


def _parametrize_episodes(metafunc: pytest.Metafunc) -> None:
    try:
        episodes = metafunc.config.stash[RUN_INPUTS].episode_set.episodes
    except DataError as exc:
        raise pytest.UsageError(f"taskbench: {exc}") from None
    sweep = metafunc.config.stash.get(SWEEP, None)
    versions = (
        [(e, e.id) for e in episodes]
        if sweep is None
        else [(swept(e, label), f"{e.id}-{label}") for label in sweep.labels for e in episodes]
    )
    metafunc.parametrize(
        "episode",
        [pytest.param(e, id=i, marks=[pytest.mark.episodes, getattr(pytest.mark, e.level)]) for e, i in versions],
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


def _generate(config: pytest.Config, cases: Sequence[Case], episodes: Sequence[Episode]) -> None:
    sweep = config.stash.get(SWEEP, None)
    with _terminal(config) as say:
        try:
            if sweep is None:
                _generate_answers(config.stash[ANSWERS], list(cases), list(episodes), say)
            else:

                def generate(member: Member, cases: list[Case], episodes: list[Episode], session: ModelSession) -> None:
                    _generate_answers(member.answers, cases, episodes, say, member.model.label, session)

                sweep.generate(cases, episodes, generate)
        except ModelError as exc:
            config.stash[ANSWERS].close()
            stop_for_infrastructure(config, str(exc))
        except GenerationInterrupted:
            stop_after_interrupt(config, say)
    # After generation, not before: its imports would take a core from the model server (here, on CPU).
    if sweep is not None:
        sweep.start_writers()
    collector = config.stash.get(COLLECTOR, None)
    if collector is not None and sweep is None:
        collector.writer.start()


def _generate_answers(
    answers: AnswerStore,
    cases: list[Case],
    episodes: list[Episode],
    say: Callable[[str], None],
    model: str = "",
    session: ModelSession | None = None,
) -> None:
    """One model's answers with a progress bar, then the line that says how they came."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn(f"generating {model}".rstrip()),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.0f}/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("generate", total=len(cases), rate=0.0)

        def on_progress(done: int, total: int) -> None:
            elapsed = progress.tasks[0].elapsed or 0.0
            progress.update(task, completed=done, total=total, rate=done / elapsed if elapsed else 0.0)

        answers.generate_answers(cases, episodes, say, on_progress, session)
    report = answers.generation
    if report is not None:
        say(
            f"taskbench: {f'{model}: ' if model else ''}{report.requested} answers: {report.from_cache} from cache, "
            f"{report.sent} sent, {report.failed} failed, {report.seconds:.1f} s"
        )


def _uses_live_model(items: list[pytest.Item]) -> bool:
    return any(LIVE_MODEL_FIXTURE in getattr(item, "fixturenames", ()) for item in items)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if is_worker(session.config):
        # Tryfirst: the file exists before pytest-xdist tells the controller this worker has collected.
        if _uses_live_model(session.items):
            run_dir = session.config.stash[RUN_INPUTS].run_dir
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / LIVE_MODEL_WANTED).touch()
        return
    cases = [case for item in session.items if (case := _item_case(item)) is not None]
    episodes = [episode for item in session.items if (episode := _item_episode(item)) is not None]
    if cases or episodes or _uses_live_model(session.items):
        _generate(session.config, cases, episodes)


@pytest.fixture
def task_model(request: pytest.FixtureRequest) -> LiveModel:
    """The run's model for requests an item makes up as it runs (fuzzing); cached like all answers."""
    if SWEEP in request.config.stash:
        pytest.skip(
            "taskbench sweep: items that make up their requests as they run need a server during the items; "
            "run them against one model"
        )
    try:
        return request.config.stash[ANSWERS].live_model()
    except TaskbenchError as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None


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
    inputs, answers, handoff = pytestconfig.stash[RUN_INPUTS], pytestconfig.stash[ANSWERS], pytestconfig.stash[JUDGED]
    sweep = pytestconfig.stash.get(SWEEP, None)

    def judged(item: Case | Episode) -> dict[str, Any]:
        if not isinstance(item, Case | Episode):
            pytest.fail(f"judge() takes the item's case or episode, not {type(item).__name__}", pytrace=False)
        store = answers if sweep is None else sweep.member_of(item).answers
        try:
            if isinstance(item, Case):
                record = _case_record(inputs, store, item)
            else:
                record = _episode_record(inputs, store, item)
        except TaskbenchError as exc:
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        handoff.pending[item.id] = record
        handoff.judged += 1
        return record

    return judged


def _case_record(inputs: RunInputs, store: AnswerStore, case: Case) -> dict[str, Any]:
    answers = store.answers_for_case(case)
    weights = inputs.capabilities.field_weights
    reader = reader_for(inputs.settings)
    readings = [reader.read(answer) for answer in answers]
    scores = [score_reading(case.to_record(), reading, weights) for reading in readings]
    samples = list(zip(inputs.sample_seeds(), answers, scores, strict=True)) if len(answers) > 1 else []
    return {**item_record(case, answers[0], scores[0], samples), **record_fields(answers[0], readings[0])}


def _episode_record(inputs: RunInputs, store: AnswerStore, episode: Episode) -> dict[str, Any]:
    outputs = store.outputs_for_episode(episode)
    return judge_episode(episode, inputs.episode_mode, outputs, inputs.capabilities.field_weights)


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # An item whose answers are missing (the model failed on it) is an error in setup, as a broken fixture
    # would be, not a failure of the model's answer.
    case, episode = _item_case(item), _item_episode(item)
    if case is None and episode is None:
        return
    sweep = item.config.stash.get(SWEEP, None)
    answers = item.config.stash[ANSWERS] if sweep is None else sweep.member_of(case or episode).answers
    try:
        answers.answers_for_case(case) if case is not None else answers.outputs_for_episode(episode)
    except TaskbenchError as exc:
        # From None, here and in the fixtures: pytest.fail() inside `except` prints the message twice, the
        # second time after "During handling of the above exception, another exception occurred".
        raise pytest.fail.Exception(str(exc), pytrace=False) from None


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
    model = getattr(case or episode, "model", None)
    if model is not None:
        report.taskbench_model = model
    record = item.config.stash[JUDGED].pending.pop(item_id, None) if item_id and call.when == "call" else None
    if record is not None:
        report.taskbench_record = record
        if case is not None:
            # On the item: the JUnit XML reads an item's properties from its teardown report.
            item.user_properties += [(f"taskbench_{name}", record[name]) for name in ("score", "failure", "level")]
    return report
