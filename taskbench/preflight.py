"""Everything a run takes from its user, checked once before anything is spent (a server started, a request
sent): the options, the files they name, the system prompt's template, every line of a case file, and the
folders the run writes to. Every problem is one line naming the option, file:line or case id; all of them
are listed together, and the run stops with pytest's usage error (exit 4), with no traceback.

A pytest-xdist worker takes the inputs its controller has checked.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from taskbench.data.cases import load_cases
from taskbench.data.episodes import load_episodes
from taskbench.errors import TaskbenchError
from taskbench.model.cache import cache_file
from taskbench.options import Settings, settings_and_problems
from taskbench.run import RunInputs
from taskbench.xdist import is_worker

# A date to render the system prompt with: any will do, the check is whether the template renders at all.
_SOME_DATE = dt.date(2025, 1, 6).isoformat()


def checked_inputs(config: pytest.Config) -> RunInputs:
    """The run's inputs, once they pass every check; otherwise pytest.UsageError listing each problem."""
    settings, problems = settings_and_problems(config)
    inputs = None
    if not problems:
        try:
            inputs = RunInputs.from_config(config)
        except TaskbenchError as exc:
            problems += str(exc).splitlines()
    if not is_worker(config):
        problems += file_problems(settings, config.invocation_params.dir, inputs)
    if problems:
        heading = "taskbench: " if len(problems) == 1 else f"taskbench: {len(problems)} problems, nothing was run:\n  "
        raise pytest.UsageError(heading + "\n  ".join(problems))
    assert inputs is not None
    return inputs


def file_problems(settings: Settings, invocation_dir: Path, inputs: RunInputs | None) -> list[str]:
    """What is wrong with the files and folders the settings name, one line each. `inputs` (None when the
    options themselves are wrong) keeps the case file it loads, so the run does not load it again."""
    problems = []
    if settings.cases is not None:
        problems += _data_problems(lambda: inputs.dataset if inputs else load_cases(invocation_dir / settings.cases))
    if settings.episodes is not None:
        problems += _data_problems(
            lambda: inputs.episode_set if inputs else load_episodes(invocation_dir / settings.episodes)
        )
    if settings.system_prompt is not None:
        problems += template_problems(settings.system_prompt)
    if settings.replay is not None and not (invocation_dir / settings.replay).exists():
        problems.append(f"--replay {settings.replay}: no such file or folder")
    if not settings.no_cache:
        cache = cache_file(settings.cache_dir)
        problems += [f"response cache: {problem}" for problem in unwritable(cache.parent, cache)]
    reports = invocation_dir / settings.reports_dir
    problems += [f"--reports-dir {problem}" for problem in unwritable(reports)]
    return problems


def _data_problems(load: Callable[[], object]) -> list[str]:
    try:
        load()
    except TaskbenchError as exc:
        return str(exc).splitlines()
    return []


def template_problems(path: Path) -> list[str]:
    """Whether the system prompt template reads and renders (its syntax, and the variables it uses)."""
    import jinja2

    from taskbench.model.prompts import render_system_prompt

    try:
        render_system_prompt(_SOME_DATE, (), path)
    except FileNotFoundError:
        return [f"--system-prompt {path}: no such file"]
    except UnicodeDecodeError as exc:
        return [f"--system-prompt {path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]
    except OSError as exc:
        return [f"--system-prompt {path}: cannot read: {exc.strerror or exc}"]
    except jinja2.TemplateSyntaxError as exc:
        return [f"--system-prompt {path}:{exc.lineno}: template syntax error: {exc.message}"]
    except jinja2.TemplateError as exc:
        return [
            f"--system-prompt {path}: the template does not render ({exc.message}); "
            "its variables are date, weekday and tasks"
        ]
    return []


def unwritable(folder: Path, file: Path | None = None) -> list[str]:
    """Why `folder` (and `file` in it, if it exists) cannot be written; [] when it can. A folder that does not
    exist yet is judged by the nearest one above it that does, which is where it would be made."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [f"{folder}: {existing} is a file, not a folder"]
    try:
        # A file really written: permission bits say nothing to root, and nothing of read-only mounts.
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as exc:
        return [f"{folder}: cannot write in {existing}: {exc.strerror or exc}"]
    if file is not None and file.exists():
        try:
            file.open("r+b").close()
        except OSError as exc:
            return [f"{file}: cannot write it: {exc.strerror or exc}"]
    return []
