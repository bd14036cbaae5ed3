"""A sweep: one session evaluates several models on the same cases (taskbench.model.sweep plans which).

Each model is a member with what a one-model run has: its RunInputs (its own run folder,
`<reports>/<run id>/<label>/`), AnswerStore and Collector, so each gets its results.json and reports exactly as a
run of that model alone would. Items are collected once per model, the case or episode carrying the model's
label (ids `<case id>-<label>`); the judge and the collector route each item to its member. Servers are started
one after another, each stopped before the next: every model of a server has its answers generated, all in
flight, while it runs. At the end the sweep report (taskbench.results.sweep, taskbench.reports.sweep) is written
to the sweep folder, `<reports>/<run id>/`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taskbench.collector import COLLECTOR, Collector
from taskbench.data.cases import Case
from taskbench.data.episodes import Episode
from taskbench.model.server import VllmServer
from taskbench.model.session import ModelSession, new_server
from taskbench.model.sweep import ModelPlan, PlannedModel, ServerSpec
from taskbench.reports.process import ReportWriter
from taskbench.run import ANSWERS, AnswerStore, RunInputs

SWEEP = pytest.StashKey["Sweep"]()


@dataclass(frozen=True)
class SweptCase(Case):
    """A case as one model of a sweep answers it."""

    model: str = ""


@dataclass(frozen=True)
class SweptEpisode(Episode):
    model: str = ""


def swept(item: Case | Episode, label: str) -> SweptCase | SweptEpisode:
    kind = SweptCase if isinstance(item, Case) else SweptEpisode
    return kind(**{f.name: getattr(item, f.name) for f in dataclasses.fields(item)}, model=label)  # type: ignore[arg-type]


@dataclass
class Member:
    model: PlannedModel
    inputs: RunInputs
    answers: AnswerStore
    collector: Collector


# Generates one member's answers through a session (the plugin's progress bar and summary line).
Generate = Callable[[Member, list[Case], list[Episode], ModelSession], None]


class Sweep:
    """The members of a sweep, its servers, and the routing of items and reports to members."""

    def __init__(self, config: pytest.Config, inputs: RunInputs, plan: ModelPlan, say: Callable[[str], None]) -> None:
        self.config = config
        self.inputs = inputs
        self.plan = plan
        self.say = say
        self.members: dict[str, Member] = {}
        for model in plan.models:
            spec = plan.servers[model.server] if model.server is not None else None
            settings = dataclasses.replace(
                inputs.settings,
                model=(model.name,),
                vllm_serve=(spec.serve,) if spec is not None and spec.serve is not None else (),
            )
            member_inputs = dataclasses.replace(
                inputs, settings=settings, run_id=f"{inputs.run_id}-{model.label}", run_dir=inputs.run_dir / model.label
            )
            answers = AnswerStore(member_inputs)
            collector = Collector(config, member_inputs, answers, ReportWriter(say))
            self.members[model.label] = Member(model, member_inputs, answers, collector)

    @property
    def labels(self) -> list[str]:
        return list(self.members)

    def member_of(self, item: Case | Episode) -> Member:
        return self.members[item.model]  # type: ignore[union-attr]

    def generate(self, cases: Sequence[Case], episodes: Sequence[Episode], generate: Generate) -> None:
        """Every member's answers, server by server (each stopped before the next starts)."""
        groups: list[tuple[ServerSpec | None, int | None]] = [(spec, i) for i, spec in enumerate(self.plan.servers)]
        if not self.plan.servers:
            groups = [(None, None)]
        for spec, index in groups:
            members = [m for m in self.members.values() if m.model.server == index]
            selected = {
                m.model.label: (
                    [c for c in cases if c.model == m.model.label],  # type: ignore[attr-defined]
                    [e for e in episodes if e.model == m.model.label],  # type: ignore[attr-defined]
                )
                for m in members
            }
            members = [m for m in members if any(selected[m.model.label])]
            if not members:
                continue
            server = None if spec is None else self._server(spec)
            try:
                for member in members:
                    # Where an interrupt or an infrastructure stop looks for the run it stopped.
                    self.config.stash[ANSWERS] = member.answers
                    self.config.stash[COLLECTOR] = member.collector
                    session = ModelSession(member.inputs.settings, member.inputs.run_dir, self.say, server=server)
                    generate(member, *selected[member.model.label], session)
            finally:
                if server is not None:
                    server.stop()

    def _server(self, spec: ServerSpec) -> VllmServer:
        log = self.inputs.run_dir / f"vllm-{self._server_label(spec)}.log"
        self.inputs.run_dir.mkdir(parents=True, exist_ok=True)
        if spec.demo_checkpoint is not None:
            return _demo_checkpoint_server(self.inputs, spec, log, self.say)
        return new_server(self.inputs.settings, spec.serve, spec.served_name, log, self.say)

    def _server_label(self, spec: ServerSpec) -> str:
        index = self.plan.servers.index(spec)
        return next(m.model.label for m in self.members.values() if m.model.server == index)

    def start_writers(self) -> None:
        for member in self.members.values():
            if member.answers.generation is not None:
                member.collector.writer.start()

    def close(self) -> None:
        for member in self.members.values():
            member.collector.close()
            member.answers.close()


def _demo_checkpoint_server(inputs: RunInputs, spec: ServerSpec, log: Path, say: Callable[[str], None]) -> VllmServer:
    """A server for one checkpoint of the demo model, the first serving the demo LoRA adapter beside it."""
    from taskbench.demo_model import MAX_MODEL_LEN, SERVER_ARGS
    from taskbench.demo_model.adapter import LORA_HYPERPARAMETERS, demo_checkpoints, ensure_demo_adapter

    checkpoint = demo_checkpoints(say)[spec.demo_checkpoint or 0]
    flags: tuple[str, ...] = ()
    if spec.lora_names:
        adapter = ensure_demo_adapter(say)
        flags = ("--enable-lora", "--max-lora-rank", str(LORA_HYPERPARAMETERS.rank), "--lora-modules")
        flags += (f"{spec.lora_names[0]}={adapter}",)
    return VllmServer(
        str(checkpoint),
        spec.served_name or checkpoint.name,
        log,
        max_model_len=MAX_MODEL_LEN,
        startup_timeout_s=inputs.settings.server_timeout,
        extra_args=(*SERVER_ARGS, *flags, *inputs.settings.vllm_arg),
        on_progress=say,
    )


class SweepCollector:
    """Registered instead of the one-run collector in a sweep: each report goes to its model's collector; at the
    end every member's run is finished (results.json, reports, the results hook) and the sweep report written."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.report: dict[str, Any] | None = None
        self.paths: list[Path] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        label = getattr(report, "taskbench_model", None)
        if label is not None:
            self.sweep.members[label].collector.pytest_runtest_logreport(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from taskbench.reports.sweep import write_sweep_reports
        from taskbench.results.sweep import sweep_results

        finished = []
        for member in self.sweep.members.values():
            member.collector.pytest_sessionfinish(session)
            if member.collector.results is not None:
                finished.append((member.model.label, member.model.name, member.collector.results))
        if finished:
            self.report = sweep_results(self.sweep.inputs.run_id, finished, self.sweep.inputs.capabilities)
            self.paths = write_sweep_reports(self.sweep.inputs.run_dir, self.report)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.report is None:
            return
        from taskbench.reports.sweep import terminal_lines

        for line in terminal_lines(self.report, self.paths):
            terminalreporter.write_line(line)
