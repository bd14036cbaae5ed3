"""A run that stops before its items: the model's infrastructure failed (exit 7), or Ctrl-C came during
generation (pytest's interrupted exit, 2). Registered as a plugin by taskbench's pytest_configure.

Infrastructure: the message is pytest's stop reason, `!!! taskbench: ... !!!` above the summary line, and the
exit code 7. Not pytest.exit(): the terminal reporter shows its reason as the exception's type and text,
`_pytest.outcomes.Exit: taskbench: ...`; `session.shouldfail` is shown as it is.

Ctrl-C in generation: the answers that arrived are kept (the cache, and answers.jsonl and an incomplete
results.json in the run folder), a line says how many and which command goes on from there, and the session
ends as pytest ends on Ctrl-C. From then on, a second Ctrl-C ends the process at once (the servers the run
started are killed first).
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Callable
from typing import NoReturn

import pytest

from taskbench.artifacts import ANSWERS_FILE
from taskbench.collector import COLLECTOR
from taskbench.exitcodes import EXIT_INFRASTRUCTURE
from taskbench.model.client import Answer
from taskbench.run import ANSWERS, RUN_INPUTS

INFRASTRUCTURE_FAILURE = pytest.StashKey[str]()


def stop_for_infrastructure(config: pytest.Config, problem: str) -> NoReturn:
    """End the session before its items, with exit 7 and `problem` as the one line the user reads."""
    config.stash[INFRASTRUCTURE_FAILURE] = f"taskbench: {problem}"
    # pytest ends a session that raises Session.Failed as failed, quietly: the line and the code are set at
    # its end (pytest_sessionfinish below).
    raise pytest.Session.Failed(problem)


def stop_after_interrupt(config: pytest.Config, say: Callable[[str], None]) -> NoReturn:
    """Ctrl-C came during generation (whose answers are saved by now): say what is kept and how to go on, and
    end the session as pytest does on Ctrl-C."""
    store = config.stash[ANSWERS]
    inputs = config.stash[RUN_INPUTS]
    arrived = sum(isinstance(answer, Answer) for answer in (store.answers or {}).values())
    wanted = store.generation.requested if store.generation is not None else arrived
    command = shlex.join(["pytest", *config.invocation_params.args])
    collector = config.stash.get(COLLECTOR, None)
    if collector is not None:
        collector.incomplete.append(f"interrupted (Ctrl-C) in generation: {arrived} of {wanted} answers had arrived")
    answers_file = inputs.run_dir / ANSWERS_FILE
    if inputs.settings.no_cache:
        say(
            f"taskbench: interrupted: {arrived} of {wanted} answers had arrived, kept in {answers_file} only "
            f"(--no-cache): running `{command}` again asks for all of them"
        )
    else:
        say(
            f"taskbench: interrupted: {arrived} of {wanted} answers had arrived and are kept (the response cache "
            f"and {answers_file}); `{command}` goes on from there, sending only the other {wanted - arrived}"
        )
    # run_interruptibly made a second Ctrl-C end the process at once; a later session in this process (pytester's
    # in-process runs) gets Python's default back.
    config.add_cleanup(lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    raise KeyboardInterrupt


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    failure = session.config.stash.get(INFRASTRUCTURE_FAILURE, None)
    if failure is not None:
        session.exitstatus = EXIT_INFRASTRUCTURE
        # Its first line is pytest's stop reason; the rest (a server's log) comes before it, in the summary.
        session.shouldfail = failure.splitlines()[0]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    failure = config.stash.get(INFRASTRUCTURE_FAILURE, None)
    if failure is not None and "\n" in failure:
        terminalreporter.section("taskbench: the model server", sep="-", red=True)
        for line in failure.splitlines()[1:]:
            terminalreporter.write_line(line)
