"""taskbench's options: one table that makes the command-line flags, the environment variables and the
`[tool.taskbench]` keys, resolved into one typed Settings value.

Precedence: command line > environment (TASKBENCH_<NAME>) > `[tool.taskbench]` in pyproject.toml > default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest

from taskbench.errors import TaskbenchError
from taskbench.paths import TIERS


@dataclass(frozen=True)
class OptionSpec:
    name: str
    help: str
    default: Any
    kind: type = str
    choices: tuple[str, ...] | None = None
    repeatable: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "TASKBENCH_" + self.name.upper()


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("tier", "dataset tier to run", "dev", choices=TIERS),
    OptionSpec("cases", "run the cases of this JSONL file instead of a tier", None, kind=Path),
    OptionSpec("episodes", "episode file (JSONL); default: fixtures/episodes/episodes.jsonl", None, kind=Path),
    OptionSpec(
        "teacher_forcing",
        "episodes: show the model the expected earlier answers instead of its own (each turn in isolation)",
        False,
        kind=bool,
    ),
    OptionSpec(
        "samples",
        "answers per case and episode, seeds seed..seed+K-1, for pass@1 and pass^k (K > 1 needs --temperature > 0)",
        1,
        kind=int,
    ),
    OptionSpec(
        "model_url",
        "base URL of a running OpenAI-compatible server (vLLM); repeat for several replicas. "
        "Environment: comma-separated",
        (),
        repeatable=True,
    ),
    OptionSpec("model", "served model name; default: the one model the server lists", None),
    OptionSpec("vllm_serve", "spawn a vLLM server for this model path or name for the run", None),
    OptionSpec("api_key", "API key sent as a Bearer token (never written to reports)", None),
    OptionSpec(
        "structured_outputs",
        "ask the server to constrain answers to the contract schema",
        "off",
        choices=("off", "on"),
    ),
    OptionSpec("max_tokens", "maximum new tokens per answer", 256, kind=int),
    OptionSpec("temperature", "sampling temperature", 0.0, kind=float),
    OptionSpec("seed", "sampling seed sent with every request", 0, kind=int),
    OptionSpec("system_prompt", "jinja2 template file for the system prompt", None, kind=Path),
    OptionSpec("max_model_len", "context length for a spawned vLLM server", 1024, kind=int),
    OptionSpec("server_timeout", "seconds to wait for a spawned server to load its model", 600.0, kind=float),
    OptionSpec("concurrency", "requests in flight at once", 256, kind=int),
    OptionSpec("request_timeout", "seconds before one request is abandoned and retried", 120.0, kind=float),
    OptionSpec("max_retries", "retries per request on 429, 5xx and connection errors", 4, kind=int),
    OptionSpec("cache_dir", "folder of the response cache; default: <TASKBENCH_HOME>/responses", None, kind=Path),
    OptionSpec("no_cache", "neither read nor write the response cache", False, kind=bool),
    OptionSpec("refresh_cache", "ignore stored answers, ask the model again and overwrite them", False, kind=bool),
    OptionSpec(
        "replay",
        "answer every item from a previous run (its folder, results.json or answers.jsonl); no server is used",
        None,
        kind=Path,
    ),
    OptionSpec("reports_dir", "folder that receives reports/<run-id>/", Path("reports"), kind=Path),
    OptionSpec("run_id", "name of this run's report folder; default: a UTC timestamp", None),
)

OPTIONS_BY_NAME = {spec.name: spec for spec in OPTIONS}


@dataclass(frozen=True)
class Settings:
    tier: str
    cases: Path | None
    episodes: Path | None
    teacher_forcing: bool
    samples: int
    model_url: tuple[str, ...]
    model: str | None
    vllm_serve: str | None
    api_key: str | None = field(repr=False)
    structured_outputs: str
    max_tokens: int
    temperature: float
    seed: int
    system_prompt: Path | None
    max_model_len: int
    server_timeout: float
    concurrency: int
    request_timeout: float
    max_retries: int
    cache_dir: Path | None
    no_cache: bool
    refresh_cache: bool
    replay: Path | None
    reports_dir: Path
    run_id: str | None

    def public(self) -> dict[str, Any]:
        """The settings as plain data for results.json, with secrets left out."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "api_key"}
        data["api_key"] = "***" if self.api_key else None
        return {k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("taskbench", "taskbench: evaluate a Task API model")
    for spec in OPTIONS:
        help_text = f"{spec.help} (default: {_show_default(spec)}; env {spec.env})"
        if spec.kind is bool:
            group.addoption(spec.flag, action="store_true", default=None, dest=f"taskbench_{spec.name}", help=help_text)
        else:
            group.addoption(
                spec.flag,
                action="append" if spec.repeatable else "store",
                default=None,
                choices=spec.choices,
                dest=f"taskbench_{spec.name}",
                metavar=spec.name.upper(),
                help=help_text,
            )


def _show_default(spec: OptionSpec) -> str:
    if spec.default in (None, ()):
        return "none"
    return str(spec.default)


def resolve_settings(config: pytest.Config) -> Settings:
    """Merge command line, environment and pyproject.toml; a bad value is a TaskbenchError naming its source."""
    table = _pyproject_table(config.rootpath / "pyproject.toml")
    # [tool.taskbench.gate] is read by the gate plugin (taskbench/gate.py).
    unknown = set(table) - set(OPTIONS_BY_NAME) - {"gate"}
    if unknown:
        raise TaskbenchError(
            f"{config.rootpath / 'pyproject.toml'}: [tool.taskbench] has unknown keys: {', '.join(sorted(unknown))}"
        )
    values = {}
    for spec in OPTIONS:
        given = config.getoption(f"taskbench_{spec.name}")
        if given is not None:
            values[spec.name] = _convert(spec, given, f"option {spec.flag}")
        elif spec.env in os.environ:
            raw = os.environ[spec.env]
            value: Any = [part.strip() for part in raw.split(",") if part.strip()] if spec.repeatable else raw
            values[spec.name] = _convert(spec, value, f"environment variable {spec.env}")
        elif spec.name in table:
            values[spec.name] = _convert(spec, table[spec.name], f"pyproject.toml [tool.taskbench] {spec.name}")
        else:
            values[spec.name] = spec.default
    settings = Settings(**values)
    if settings.samples < 1:
        raise TaskbenchError(f"--samples must be at least 1, got {settings.samples}")
    if settings.samples > 1 and settings.temperature == 0:
        raise TaskbenchError(
            f"--samples {settings.samples} at --temperature 0 is refused: greedy decoding gives the same answer "
            "every time, so pass^k would equal pass@1 by construction; set --temperature above 0 (e.g. 0.8)"
        )
    return settings


def _pyproject_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TaskbenchError(f"{path}: cannot read [tool.taskbench]: {exc}") from None
    return {k.replace("-", "_"): v for k, v in data.get("tool", {}).get("taskbench", {}).items()}


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(spec: OptionSpec, value: Any, source: str) -> Any:
    if spec.repeatable:
        items = [value] if isinstance(value, str) else list(value)
        return tuple(str(item) for item in items)
    try:
        if spec.kind is bool:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(f"expected true or false, got {value!r}")
            return lowered in _TRUE
        converted = spec.kind(value)
    except (TypeError, ValueError) as exc:
        raise TaskbenchError(f"{source}: invalid value {value!r} ({exc})") from None
    if spec.choices and converted not in spec.choices:
        raise TaskbenchError(f"{source}: {converted!r} is not one of {', '.join(spec.choices)}")
    return converted
