"""taskbench's options: one table of rows that make the command-line flags, the environment variables and the
pyproject.toml keys, resolved into typed values: Settings for the run (`[tool.taskbench]`, OPTIONS) and
GateSettings for the gate (`[tool.taskbench.gate]`, GATE_OPTIONS: flags --gate-*, variables TASKBENCH_GATE_*).

Precedence: command line > environment (TASKBENCH_<NAME>) > pyproject.toml > default. An option holding one
value per name (--gate-min-capability NAME=VALUE) merges its layers name by name.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest

from taskbench.errors import TaskbenchError
from taskbench.model.prompts import SHIPPED_PROMPTS, system_prompt_path
from taskbench.paths import TIERS

GATE = "gate"
_PYPROJECT = pytest.StashKey[dict[str, Any]]()


@dataclass(frozen=True)
class OptionSpec:
    """One option. `kind` converts a value from any source (a type, or a function raising ValueError);
    `section` is the pyproject table under [tool.taskbench] ("" for that table itself)."""

    name: str
    help: str
    default: Any
    kind: Callable[[Any], Any] = str
    choices: tuple[str, ...] | None = None
    repeatable: bool = False
    section: str = ""
    flag_name: str | None = None  # when the flag is not --<section>-<name>

    @property
    def qualified(self) -> str:
        return f"{self.section}_{self.name}" if self.section else self.name

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.qualified.replace("_", "-")

    @property
    def env(self) -> str:
        return "TASKBENCH_" + self.qualified.upper()

    @property
    def dest(self) -> str:
        return "taskbench_" + self.qualified

    @property
    def key(self) -> str:
        table = f"tool.taskbench.{self.section}" if self.section else "tool.taskbench"
        return f"[{table}] {self.name}"


def _number(value: Any, kind: type) -> Any:
    # TOML and the command line give str, int or float; a bool is never a number here.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        value = int(value)
    return kind(value)


def fraction(value: Any) -> float:
    number = _number(value, float)
    if not 0 <= number <= 1:
        raise ValueError(f"expected a fraction between 0 and 1 (0.7 means 70 %), got {value!r}")
    return number


def significance_level(value: Any) -> float:
    number = _number(value, float)
    if not 0 < number < 0.5:
        raise ValueError(f"expected a significance level above 0 and below 0.5, got {value!r}")
    return number


def argument_type(convert: Callable[[Any], Any]) -> Callable[[str], Any]:
    """One of these converters as an argparse `type`, for the `taskbench` commands: its message is the error."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _at_least(kind: type, least: float, *, exclusive: bool = False) -> Callable[[Any], Any]:
    """A converter to `kind` refusing numbers below `least` (or, `exclusive`, also `least` itself)."""

    def convert(value: Any) -> Any:
        number = _number(value, kind)
        if number < least or (exclusive and number == least):
            raise ValueError(f"expected {'more than' if exclusive else 'at least'} {least:g}, got {value!r}")
        return number

    return convert


_at_least_one = _at_least(int, 1)


def _per_name(value: Any) -> dict[str, float]:
    """A TOML table {name = fraction} or NAME=VALUE strings."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = []
        for entry in value:
            name, sep, number = str(entry).partition("=")
            if not sep or not name.strip():
                raise ValueError(f"expected NAME=VALUE, got {entry!r}")
            pairs.append((name.strip(), number.strip()))
    return {str(name): fraction(number) for name, number in pairs}


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
        kind=_at_least_one,
    ),
    OptionSpec(
        "model_url",
        "base URL of a running OpenAI-compatible server (vLLM); repeat for several replicas. "
        "Environment: comma-separated",
        (),
        repeatable=True,
    ),
    OptionSpec(
        "model",
        "served model name; default: the one model the server lists. Repeat to evaluate several (a sweep: each "
        "its own run folder, and a sweep report). Environment: comma-separated",
        (),
        repeatable=True,
    ),
    OptionSpec(
        "vllm_serve",
        "spawn a vLLM server for this model path or name for the run; its own vLLM flags may follow, quoted: "
        "'PATH --enable-lora --lora-modules a=ADAPTER'. Repeat for a sweep: one server after another",
        (),
        repeatable=True,
    ),
    OptionSpec(
        "vllm_arg",
        "a flag for the vLLM server taskbench starts (--vllm-serve or the demo model), e.g. "
        "--vllm-arg=--tool-call-parser=hermes; repeat for several. Environment: comma-separated",
        (),
        repeatable=True,
    ),
    OptionSpec(
        "demo_sweep",
        "sweep the demo model's checkpoints (25, 50, 100 %% of training) and a LoRA adapter on the 25 %% one: a "
        "learning curve (built on first use)",
        False,
        kind=bool,
    ),
    OptionSpec(
        "answer_mode",
        "how the model answers: JSON in the message text (content) or one call of the contract's functions (tools)",
        "content",
        choices=("content", "tools"),
    ),
    OptionSpec("tool_choice", "tool_choice sent in tools mode", "auto", choices=("auto", "required")),
    OptionSpec(
        "reasoning",
        "take a leading <think> block (strip: also one opened by the chat template) out of the answer before "
        "scoring; off scores the raw text",
        "auto",
        choices=("auto", "strip", "off"),
    ),
    OptionSpec("api_key", "API key sent as a Bearer token (never written to reports)", None),
    OptionSpec(
        "structured_outputs",
        "ask the server to constrain answers to the contract schema",
        "off",
        choices=("off", "on"),
    ),
    OptionSpec("max_tokens", "maximum new tokens per answer", 256, kind=_at_least_one),
    OptionSpec("temperature", "sampling temperature", 0.0, kind=_at_least(float, 0)),
    OptionSpec("seed", "sampling seed sent with every request", 0, kind=int),
    OptionSpec(
        "system_prompt",
        f"system prompt: a jinja2 template file, or a shipped one by name ({', '.join(SHIPPED_PROMPTS)})",
        None,
        kind=system_prompt_path,
    ),
    OptionSpec("max_model_len", "context length for a spawned vLLM server", 1024, kind=_at_least_one),
    OptionSpec(
        "server_timeout",
        "seconds to wait for a spawned server to load its model",
        600.0,
        kind=_at_least(float, 0, exclusive=True),
    ),
    OptionSpec("concurrency", "requests in flight at once", 256, kind=_at_least_one),
    OptionSpec(
        "request_timeout",
        "seconds before one request is abandoned and retried",
        120.0,
        kind=_at_least(float, 0, exclusive=True),
    ),
    OptionSpec("max_retries", "retries per request on 429, 5xx and connection errors", 4, kind=_at_least(int, 0)),
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
    OptionSpec(
        "log_to",
        "experiment tracker that receives the run's params, metrics and report files (mlflow); repeat for "
        "several. Environment: comma-separated",
        (),
        choices=("mlflow",),
        repeatable=True,
    ),
)

GATE_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("min_aggregate", "gate: minimum weighted aggregate score, 0-1", None, kind=fraction, section=GATE),
    OptionSpec(
        "min_capability",
        "gate: minimum mean score of one capability, NAME=VALUE (0-1); repeat for several. Environment: "
        "comma-separated",
        {},
        kind=_per_name,
        repeatable=True,
        section=GATE,
    ),
    OptionSpec(
        "min_episode_pass_rate",
        "gate: minimum share of episodes whose final task list is right, 0-1; fails closed when no episodes ran",
        None,
        kind=fraction,
        section=GATE,
    ),
    OptionSpec(
        "max_regression",
        "gate: the drop against --baseline that matters, in score points 0-1 (0.02 = 2 pt)",
        0.0,
        kind=fraction,
        section=GATE,
    ),
    OptionSpec(
        "mode",
        "gate: superiority fails on a significant drop beyond max_regression; non_inferiority passes only when "
        "the drop is shown to be below it (thin evidence fails)",
        "superiority",
        choices=("superiority", "non_inferiority"),
        section=GATE,
    ),
    OptionSpec(
        "correction",
        "gate: how the regression checks of one run share alpha in superiority mode (one family)",
        "holm",
        choices=("holm", "bonferroni", "none"),
        section=GATE,
    ),
    OptionSpec("max_errors", "gate: largest allowed fraction of errored items, 0-1", 0.0, kind=fraction, section=GATE),
    OptionSpec(
        "min_cases", "gate: fewest scored cases per capability a check accepts", 20, kind=_at_least_one, section=GATE
    ),
    OptionSpec(
        "alpha",
        "gate: one-sided significance level of the regression checks, family-wise",
        0.05,
        kind=significance_level,
        section=GATE,
    ),
    OptionSpec(
        "baseline",
        "gate: compare with this baseline (written by --save-baseline)",
        None,
        kind=Path,
        section=GATE,
        flag_name="--baseline",
    ),
    OptionSpec(
        "save_baseline",
        "write this run's per-case scores and settings as a baseline for --baseline",
        None,
        kind=Path,
        section=GATE,
        flag_name="--save-baseline",
    ),
    OptionSpec(
        "only",
        "gate: the exit status is the gate's verdict; failing items are informational",
        False,
        kind=bool,
        section=GATE,
    ),
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
    model: tuple[str, ...]
    vllm_serve: tuple[str, ...]
    vllm_arg: tuple[str, ...]
    demo_sweep: bool
    answer_mode: str
    tool_choice: str
    reasoning: str
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
    log_to: tuple[str, ...]

    def public(self) -> dict[str, Any]:
        """The settings as plain data for results.json, with secrets left out."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "api_key"}
        data["api_key"] = "***" if self.api_key else None
        return {k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v for k, v in data.items()}


@dataclass(frozen=True)
class GateSettings:
    min_aggregate: float | None
    min_capability: dict[str, float]
    min_episode_pass_rate: float | None
    max_regression: float
    mode: str
    correction: str
    max_errors: float
    min_cases: int
    alpha: float
    baseline: Path | None
    save_baseline: Path | None
    only: bool

    @property
    def active(self) -> bool:
        return (
            self.only
            or self.min_aggregate is not None
            or bool(self.min_capability)
            or self.min_episode_pass_rate is not None
            or self.baseline is not None
        )

    def public(self) -> dict[str, Any]:
        return {key: str(value) if isinstance(value, Path) else value for key, value in asdict(self).items()}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("taskbench", "taskbench: evaluate a Task API model")
    for spec in OPTIONS + GATE_OPTIONS:
        help_text = f"{spec.help} (default: {_show_default(spec)}; env {spec.env}; pyproject {spec.key})"
        if spec.kind is bool:
            group.addoption(spec.flag, action="store_true", default=None, dest=spec.dest, help=help_text)
        else:
            group.addoption(
                spec.flag,
                action="append" if spec.repeatable else "store",
                default=None,
                choices=spec.choices,
                dest=spec.dest,
                metavar="NAME=VALUE" if spec.kind is _per_name else spec.name.upper(),
                help=help_text,
            )


def _show_default(spec: OptionSpec) -> str:
    if spec.default in (None, (), {}):
        return "none"
    return str(spec.default)


def resolve_settings(config: pytest.Config) -> Settings:
    """Merge command line, environment and pyproject.toml; bad values are one TaskbenchError naming each, one
    line each, with its source."""
    settings, problems = settings_and_problems(config)
    if problems:
        raise TaskbenchError("\n".join(problems))
    return settings


def settings_and_problems(config: pytest.Config) -> tuple[Settings, list[str]]:
    """The run's settings, a bad value replaced by its option's default, and every problem found, one line each
    naming its source: so a user learns of every mistake at once, not one per attempt."""
    problems: list[str] = []
    settings = Settings(**_resolve(config, OPTIONS, problems))
    if settings.samples > 1 and settings.temperature == 0:
        problems.append(
            f"--samples {settings.samples} at --temperature 0 is refused: greedy decoding gives the same answer "
            "every time, so pass^k would equal pass@1 by construction; set --temperature above 0 (e.g. 0.8)"
        )
    if settings.answer_mode == "tools" and settings.structured_outputs == "on":
        problems.append(
            "--structured-outputs on constrains the message text, which --answer-mode tools does not score: "
            "to constrain tool calls, use --tool-choice required"
        )
    if settings.vllm_arg and settings.model_url:
        problems.append(
            "--vllm-arg is for a server taskbench starts, and --model-url names one it does not: "
            "give those flags to your own `vllm serve`"
        )
    return settings, problems


def resolve_gate_settings(config: pytest.Config, capabilities: Sequence[str]) -> GateSettings:
    """The gate's settings; paths are relative to where pytest was invoked, as taskbench's other paths are."""
    problems: list[str] = []
    values = _resolve(config, GATE_OPTIONS, problems)
    if problems:
        raise TaskbenchError("\n".join(problems))
    unknown_names = set(values["min_capability"]) - set(capabilities)
    if unknown_names:
        raise TaskbenchError(
            f"gate minimum for unknown capabilities {', '.join(sorted(unknown_names))} "
            f"(the capabilities are: {', '.join(capabilities)})"
        )
    if values["mode"] == "non_inferiority" and values["max_regression"] == 0:
        raise TaskbenchError(
            "--gate-mode non_inferiority needs --gate-max-regression above 0: it passes only a drop shown to be "
            "smaller than that, and no drop is shown to be smaller than 0"
        )
    invocation_dir = config.invocation_params.dir
    for name in ("baseline", "save_baseline"):
        values[name] = values[name] and invocation_dir / values[name]
    return GateSettings(**values)


def _resolve(config: pytest.Config, specs: Sequence[OptionSpec], problems: list[str]) -> dict[str, Any]:
    """Each option's value from its highest layer (or, for one value per name, the layers merged by name). A bad
    value is added to `problems`, naming its source, and left out; an unknown pyproject key is a TaskbenchError."""
    section = specs[0].section
    table = _pyproject_table(config)
    if section:
        table = table.get(section, {})
        if not isinstance(table, dict):
            raise TaskbenchError(f"{config.rootpath / 'pyproject.toml'}: [tool.taskbench] {section} must be a table")
        table = {key.replace("-", "_"): value for key, value in table.items()}
    sections = {spec.section for spec in GATE_OPTIONS} if not section else set()
    unknown = set(table) - {spec.name for spec in specs} - sections
    if unknown:
        where = specs[0].key.split("]")[0] + "]"
        raise TaskbenchError(
            f"{config.rootpath / 'pyproject.toml'}: {where} has unknown keys: {', '.join(sorted(unknown))}"
        )
    values = {}
    for spec in specs:
        given: list[tuple[Any, str]] = []
        if spec.name in table:
            given.append((table[spec.name], f"pyproject.toml {spec.key}"))
        if spec.env in os.environ:
            raw = os.environ[spec.env]
            value: Any = [part.strip() for part in raw.split(",") if part.strip()] if spec.repeatable else raw
            given.append((value, f"environment variable {spec.env}"))
        if config.getoption(spec.dest) is not None:
            given.append((config.getoption(spec.dest), f"option {spec.flag}"))
        layers = []
        for value, source in given:
            try:
                layers.append(_convert(spec, value, source))
            except TaskbenchError as exc:
                problems.append(str(exc))
        if isinstance(spec.default, dict):
            values[spec.name] = {name: v for layer in layers for name, v in layer.items()}
        else:
            values[spec.name] = layers[-1] if layers else spec.default
    return values


def _pyproject_table(config: pytest.Config) -> dict[str, Any]:
    """[tool.taskbench] of the rootdir's pyproject.toml, read once per run."""
    if _PYPROJECT in config.stash:
        return config.stash[_PYPROJECT]
    path = config.rootpath / "pyproject.toml"
    table = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TaskbenchError(f"{path}: cannot read [tool.taskbench]: {exc}") from None
        table = {k.replace("-", "_"): v for k, v in data.get("tool", {}).get("taskbench", {}).items()}
    config.stash[_PYPROJECT] = table
    return table


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(spec: OptionSpec, value: Any, source: str) -> Any:
    try:
        if spec.repeatable:
            items = [value] if isinstance(value, str) else value
            return tuple(str(item) for item in items) if spec.kind is str else spec.kind(items)
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
