"""The pre-merge gate, a pytest plugin (entry point `taskbench-gate`): one verdict and one exit code per run.

Configured in `[tool.taskbench.gate]` of pyproject.toml, each key overridable on the command line. Checks, by
the severity of their failure:

* infrastructure (exit 7): the run is incomplete (a worker crashed, items never reported a result) or more
  items and episodes errored than `max_errors` allows (default 0: fail closed);
* refused (exit 4, pytest's usage error): a check over fewer than `min_cases` scored cases of a capability (or
  episodes), an aggregate threshold over a run that leaves capabilities out, an episode floor over a run without
  episodes, a baseline sharing no case with the run. A baseline from another tier, dataset or decoding setting is
  refused before the run starts;
* quality (exit 6): a mean score or the episode pass rate below its threshold, or a drop against the baseline
  that is larger than `max_regression` AND significant (one-sided paired cluster bootstrap at `alpha`,
  taskbench.results.stats).

A passing gate leaves pytest's exit status alone (1 when items failed) unless `--gate-only` is given: then item
failures are informational and the exit status is the gate's.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from taskbench.data.capabilities import load_capability_config
from taskbench.errors import TaskbenchError
from taskbench.gate.baseline import (
    Baseline,
    BaselineItem,
    Identity,
    differences,
    generating_config,
    incompatibilities,
    load_baseline,
    run_identity,
    save_baseline,
)
from taskbench.plugin import EXIT_INFRASTRUCTURE
from taskbench.reports.markdown import markdown_text
from taskbench.reports.step_summary import append_to_step_summary
from taskbench.results import stats
from taskbench.results.aggregate import DEFAULT_SEED, cluster_key
from taskbench.results.episodes import CONFIDENCE as EPISODE_CONFIDENCE
from taskbench.run import RUN_STATE

EXIT_QUALITY = 6
GATE_JSON = "gate.json"
GATE_MD = "gate.md"
GATE_VERSION = 1
# p-values and intervals must come from the same resamples to agree (see stats.one_sided_p_drop).
RESAMPLES = 10_000
FLIPS_SHOWN = 10


# --- settings ------------------------------------------------------------------------------------------------


def _number(value: Any, kind: type) -> Any:
    # TOML and the command line give str, int or float; a bool is never a number here.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        value = int(value)
    return kind(value)


def _fraction(value: Any) -> float:
    number = _number(value, float)
    if not 0 <= number <= 1:
        raise ValueError(f"expected a fraction between 0 and 1 (0.7 means 70 %), got {value!r}")
    return number


def _alpha(value: Any) -> float:
    number = _number(value, float)
    if not 0 < number < 0.5:
        raise ValueError(f"expected a significance level above 0 and below 0.5, got {value!r}")
    return number


def _min_cases(value: Any) -> int:
    number = _number(value, int)
    if number < 1:
        raise ValueError(f"expected at least 1, got {value!r}")
    return number


def _per_capability(value: Any) -> dict[str, float]:
    """A TOML table {name = fraction} or command-line NAME=VALUE strings."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = []
        for entry in value:
            name, sep, number = str(entry).partition("=")
            if not sep or not name.strip():
                raise ValueError(f"expected NAME=VALUE, got {entry!r}")
            pairs.append((name.strip(), number.strip()))
    return {str(name): _fraction(number) for name, number in pairs}


@dataclass(frozen=True)
class GateOption:
    """One `[tool.taskbench.gate]` key and its command-line flag (which wins)."""

    key: str
    flag: str
    help: str
    parse: Callable[[Any], Any]
    default: Any = None
    metavar: str = "VALUE"

    @property
    def dest(self) -> str:
        return "taskbench_gate_" + self.key


GATE_OPTIONS: tuple[GateOption, ...] = (
    GateOption("min_aggregate", "--gate-min-aggregate", "minimum weighted aggregate score, 0-1", _fraction),
    GateOption(
        "min_capability",
        "--gate-min-capability",
        "minimum mean score of one capability, 0-1; repeat for several",
        _per_capability,
        default={},
        metavar="NAME=VALUE",
    ),
    GateOption(
        "min_episode_pass_rate",
        "--gate-min-episode-pass-rate",
        "minimum share of episodes whose final task list is right, 0-1; fails closed when no episodes ran",
        _fraction,
    ),
    GateOption(
        "max_regression",
        "--gate-max-regression",
        "largest allowed significant drop against --baseline, in score points 0-1 (0.02 = 2 pt)",
        _fraction,
        default=0.0,
    ),
    GateOption(
        "max_errors", "--gate-max-errors", "largest allowed fraction of errored items, 0-1", _fraction, default=0.0
    ),
    GateOption(
        "min_cases", "--gate-min-cases", "fewest scored cases per capability a check accepts", _min_cases, default=20
    ),
    GateOption("alpha", "--gate-alpha", "significance level of the one-sided regression test", _alpha, default=0.05),
    GateOption(
        "baseline", "--baseline", "compare with this baseline (written by --save-baseline)", Path, metavar="PATH"
    ),
)


@dataclass(frozen=True)
class GateSettings:
    min_aggregate: float | None
    min_capability: dict[str, float]
    min_episode_pass_rate: float | None
    max_regression: float
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


@pytest.hookimpl(trylast=True)  # after taskbench's own options, which create and describe the group
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("taskbench")
    for option in GATE_OPTIONS:
        default = "none" if option.default in (None, {}) else option.default
        group.addoption(
            option.flag,
            action="append" if option.key == "min_capability" else "store",
            default=None,
            dest=option.dest,
            metavar=option.metavar,
            help=f"gate: {option.help} (default: {default}; pyproject [tool.taskbench.gate] {option.key})",
        )
    group.addoption(
        "--gate-only",
        action="store_true",
        default=False,
        dest="taskbench_gate_only",
        help="gate: the exit status is the gate's verdict; failing items are informational",
    )
    group.addoption(
        "--save-baseline",
        default=None,
        dest="taskbench_save_baseline",
        metavar="PATH",
        help="write this run's per-case scores and settings as a baseline for --baseline",
    )


def resolve_gate_settings(config: pytest.Config, capabilities: Sequence[str]) -> GateSettings:
    """Command line > `[tool.taskbench.gate]` > default; a bad value is a TaskbenchError naming its source.
    Paths are relative to where pytest was invoked, as taskbench's other paths are."""
    pyproject = config.rootpath / "pyproject.toml"
    table = _gate_table(pyproject)
    unknown = set(table) - {option.key for option in GATE_OPTIONS}
    if unknown:
        raise TaskbenchError(f"{pyproject}: [tool.taskbench.gate] has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for option in GATE_OPTIONS:
        layers = [
            (table.get(option.key), f"{pyproject} [tool.taskbench.gate] {option.key}"),
            (config.getoption(option.dest), f"option {option.flag}"),
        ]
        parsed = [_parse(option, value, source) for value, source in layers if value is not None]
        if option.key == "min_capability":
            # Per name: the command line overrides that capability's pyproject value and keeps the others.
            values[option.key] = {name: v for layer in parsed for name, v in layer.items()}
        else:
            values[option.key] = parsed[-1] if parsed else option.default
    unknown_names = set(values["min_capability"]) - set(capabilities)
    if unknown_names:
        raise TaskbenchError(
            f"gate minimum for unknown capabilities {', '.join(sorted(unknown_names))} "
            f"(the capabilities are: {', '.join(capabilities)})"
        )
    invocation_dir = config.invocation_params.dir
    save = config.getoption("taskbench_save_baseline")
    return GateSettings(
        **{**values, "baseline": values["baseline"] and invocation_dir / values["baseline"]},
        save_baseline=save and invocation_dir / save,
        only=config.getoption("taskbench_gate_only"),
    )


def _gate_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TaskbenchError(f"{path}: cannot read [tool.taskbench.gate]: {exc}") from None
    table = data.get("tool", {}).get("taskbench", {}).get("gate", {})
    if not isinstance(table, dict):
        raise TaskbenchError(f"{path}: [tool.taskbench] gate must be a table, got {table!r}")
    return {key.replace("-", "_"): value for key, value in table.items()}


def _parse(option: GateOption, value: Any, source: str) -> Any:
    try:
        return option.parse(value)
    except (TypeError, ValueError) as exc:
        raise TaskbenchError(f"{source}: invalid value {value!r} ({exc})") from None


# --- checks --------------------------------------------------------------------------------------------------


class Outcome(StrEnum):
    """Declared from least to most severe: the verdict is the most severe outcome of its checks."""

    PASSED = "passed"
    FAILED = "failed"
    REFUSED = "refused"
    INFRASTRUCTURE = "infrastructure"


EXIT_CODES = {
    Outcome.PASSED: int(pytest.ExitCode.OK),
    Outcome.FAILED: EXIT_QUALITY,
    Outcome.REFUSED: int(pytest.ExitCode.USAGE_ERROR),
    Outcome.INFRASTRUCTURE: EXIT_INFRASTRUCTURE,
}
MARKS = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.REFUSED: "REFUSED", Outcome.INFRASTRUCTURE: "INFRA"}


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    notes: tuple[str, ...]

    @property
    def outcome(self) -> Outcome:
        severity = list(Outcome)
        return max((check.outcome for check in self.checks), key=severity.index, default=Outcome.PASSED)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _pt(value: float) -> str:
    return f"{100 * value:+.1f} pt"


def _ci(ci: Sequence[float] | None, confidence: float) -> str:
    return "no CI" if ci is None else f"{100 * confidence:.0f}% CI [{_pct(ci[0])}, {_pct(ci[1])}]"


def completeness_check(results: Mapping[str, Any]) -> Check:
    # The plugin lists items that were selected but never reported among the reasons.
    reasons = list(results["incomplete_reasons"])
    if reasons:
        return Check("complete", Outcome.INFRASTRUCTURE, "incomplete run: " + "; ".join(reasons), {"reasons": reasons})
    return Check("complete", Outcome.PASSED, "complete run: every selected case reported")


def errors_check(results: Mapping[str, Any], settings: GateSettings) -> Check:
    aggregate = results["summary"]["aggregate"]
    errors, selected = aggregate["errors"], aggregate["selected"]
    # An errored episode is no failure, but neither is it a pass: it counts against max_errors like an item.
    episodes = results.get("episodes")
    if episodes:
        errors += episodes["errored"]
        selected += episodes["episodes"] + episodes["errored"]
    share = errors / selected if selected else 0.0
    numbers = {"errors": errors, "selected": selected, "share": share, "max_errors": settings.max_errors}
    what = "items and episodes" if episodes else "items"
    message = f"errors: {errors} of {selected} {what} errored ({_pct(share)}), allowed {_pct(settings.max_errors)}"
    listed = [*results["errors"], *(episodes["errors"] if episodes else [])]
    if listed:
        first = listed[0]
        last_line = (first["message"].strip().splitlines() or [""])[-1][:200]
        message += f"; first: {first['id']}: {last_line}"
    return Check("errors", Outcome.INFRASTRUCTURE if share > settings.max_errors else Outcome.PASSED, message, numbers)


def _too_few(counts: Mapping[str, int], settings: GateSettings) -> str | None:
    few = {name: n for name, n in counts.items() if n < settings.min_cases}
    if not few:
        return None
    listed = ", ".join(f"{name} has {n}" for name, n in few.items())
    return f"too few scored cases for a gate ({listed}; --gate-min-cases is {settings.min_cases})"


def threshold_checks(results: Mapping[str, Any], settings: GateSettings) -> list[Check]:
    summary = results["summary"]
    capabilities, aggregate = summary["capabilities"], summary["aggregate"]
    confidence = summary["statistics"]["confidence"]
    checks = []
    if settings.min_aggregate is not None:
        covered = {name: capabilities[name]["n"] for name in aggregate["covered"]}
        checks.append(
            _threshold(
                "min_aggregate",
                "weighted aggregate",
                aggregate["value"],
                aggregate["ci"],
                confidence,
                aggregate["scored"],
                settings.min_aggregate,
                _aggregate_refusal(aggregate) or _too_few(covered, settings),
            )
        )
    for name, minimum in settings.min_capability.items():
        cell = capabilities[name]
        refusal = _too_few({name: cell["n"]}, settings)
        checks.append(
            _threshold(
                f"min_capability:{name}", name, cell["mean"], cell["mean_ci"], confidence, cell["n"], minimum, refusal
            )
        )
    return checks


def episode_check(results: Mapping[str, Any], settings: GateSettings) -> Check | None:
    """The floor on the episode pass rate; a run with no episode to judge fails closed (refused)."""
    minimum = settings.min_episode_pass_rate
    if minimum is None:
        return None
    section = results.get("episodes")
    if section is None:
        refusal = "no episodes ran (select them, or drop the episode floor)"
        return _threshold("min_episode_pass_rate", "episode pass rate", None, None, 0, 0, minimum, refusal)
    ci = None if section["ci_low"] is None else [section["ci_low"], section["ci_high"]]
    return _threshold(
        "min_episode_pass_rate",
        "episode pass rate",
        section["pass_rate"],
        ci,
        EPISODE_CONFIDENCE,
        section["episodes"],
        minimum,
        _too_few({"episodes": section["episodes"]}, settings),
    )


def _aggregate_refusal(aggregate: Mapping[str, Any]) -> str | None:
    if not aggregate["missing"]:
        return None
    return (
        f"the run leaves out {', '.join(aggregate['missing'])}, so its aggregate covers weight "
        f"{aggregate['covered_weight']:.2f} of 1.00; an aggregate threshold needs every capability"
    )


def _threshold(
    name: str,
    label: str,
    value: float | None,
    ci: Sequence[float] | None,
    confidence: float,
    n: int,
    minimum: float,
    refusal: str | None,
) -> Check:
    numbers = {"value": value, "minimum": minimum, "ci": ci, "confidence": confidence, "n": n}
    if refusal is not None:
        return Check(name, Outcome.REFUSED, f"{label} >= {_pct(minimum)}: refused: {refusal}", numbers)
    assert value is not None  # n >= min_cases >= 1
    passed = value >= minimum
    message = f"{label} {_pct(value)} {'>=' if passed else '<'} minimum {_pct(minimum)} ({_ci(ci, confidence)}, n={n})"
    return Check(name, Outcome.PASSED if passed else Outcome.FAILED, message, numbers)


Pair = tuple[BaselineItem, Mapping[str, Any]]


def regression_checks(
    results: Mapping[str, Any], baseline: Baseline, settings: GateSettings
) -> tuple[list[Check], list[str]]:
    """Per capability and for the weighted aggregate, paired by case id; plus notes on what was paired."""
    now = {item["id"]: item for item in results["items"]}
    pairs = [(old, now[old.id]) for old in baseline.items if old.id in now]
    notes = [
        f"baseline {baseline.path} (run {baseline.run_id}, {baseline.created}): {len(pairs)} paired cases, "
        f"{len(baseline.items) - len(pairs)} only in the baseline, {len(now) - len(pairs)} only in this run"
    ]
    if not pairs:
        return [Check("regression", Outcome.REFUSED, "regression: refused: the baseline shares no scored case")], notes
    weights = {name: cell["weight"] for name, cell in results["summary"]["capabilities"].items()}
    groups = {name: [p for p in pairs if p[1]["capability"] == name] for name in weights}
    groups = {name: group for name, group in groups.items() if group}
    checks = [_regression(name, group, None, settings) for name, group in groups.items()]
    covered = {name: weights[name] for name in groups}
    total = sum(covered.values())
    label = "weighted aggregate" if total > 1 - 1e-9 else f"weighted aggregate (weight {total:.2f} of 1.00)"
    checks.append(_regression(label, pairs, covered, settings))
    return checks, notes


def _regression(
    label: str, pairs: Sequence[Pair], weights: Mapping[str, float] | None, settings: GateSettings
) -> Check:
    name = "regression:" + (label if weights is None else "aggregate")
    counts: dict[str, int] = {}
    for _, new in pairs:
        counts[new["capability"]] = counts.get(new["capability"], 0) + 1
    flips = [new["id"] for old, new in pairs if old.passed and not new["passed"]]
    fixes = sum(1 for old, new in pairs if not old.passed and new["passed"])
    refusal = _too_few(counts, settings)
    if refusal is not None:
        return Check(name, Outcome.REFUSED, f"{label} vs baseline: refused: {refusal}", {"n": len(pairs)})

    before_scores = [old.score for old, _ in pairs]
    after_scores = [new["score"] for _, new in pairs]
    clusters = [cluster_key(new) for _, new in pairs]
    confidence = 1 - 2 * settings.alpha  # its upper end < 0 exactly when the one-sided p < alpha
    options = {"resamples": RESAMPLES, "seed": DEFAULT_SEED}
    if weights is None:
        estimate = stats.paired_delta_ci(before_scores, after_scores, clusters, confidence=confidence, **options)
        p = stats.one_sided_p_drop(before_scores, after_scores, clusters, **options)
    else:
        capabilities = [new["capability"] for _, new in pairs]
        estimate = stats.weighted_paired_delta_ci(
            before_scores, after_scores, capabilities, weights, clusters, confidence=confidence, **options
        )
        p = stats.weighted_one_sided_p_drop(before_scores, after_scores, capabilities, weights, clusters, **options)
    before = _mean_of(pairs, weights, lambda pair: pair[0].score)
    after = _mean_of(pairs, weights, lambda pair: pair[1]["score"])

    drop = -estimate.value
    beyond, significant = drop > settings.max_regression, p < settings.alpha
    if beyond and significant:
        judgement = f"REGRESSION: a drop beyond the allowed {100 * settings.max_regression:.1f} pt, significant"
    elif beyond:
        judgement = f"not significant at alpha {settings.alpha:g} (within noise)"
    else:
        judgement = f"within the allowed drop of {100 * settings.max_regression:.1f} pt"
    message = (
        f"{label} vs baseline: {_pct(before)} -> {_pct(after)}, {_pt(estimate.value)} "
        f"({100 * confidence:.0f}% CI [{_pt(estimate.low)}, {_pt(estimate.high)}]), "
        f"one-sided p={p:.4f}, alpha {settings.alpha:g}: {judgement}; {len(flips)} flipped pass->fail"
    )
    if flips:
        shown = ", ".join(flips[:FLIPS_SHOWN])
        message += f": {shown}" + (f" (+{len(flips) - FLIPS_SHOWN} more)" if len(flips) > FLIPS_SHOWN else "")
    numbers = {
        "n": len(pairs),
        "baseline_mean": before,
        "mean": after,
        "delta": estimate.value,
        "ci": [estimate.low, estimate.high],
        "confidence": confidence,
        "p": p,
        "alpha": settings.alpha,
        "max_regression": settings.max_regression,
        "flipped_pass_to_fail": flips,
        "fixed_fail_to_pass": fixes,
    }
    return Check(name, Outcome.FAILED if beyond and significant else Outcome.PASSED, message, numbers)


def _mean_of(pairs: Sequence[Pair], weights: Mapping[str, float] | None, score: Callable[[Pair], float]) -> float:
    """The plain mean, or the weighted sum of capability means (never renormalised)."""
    if weights is None:
        return sum(map(score, pairs)) / len(pairs)
    return sum(
        weight * _mean_of([p for p in pairs if p[1]["capability"] == name], None, score)
        for name, weight in weights.items()
    )


def evaluate(
    results: Mapping[str, Any], settings: GateSettings, baseline: Baseline | None
) -> tuple[list[Check], list[str]]:
    checks = [completeness_check(results), errors_check(results, settings), *threshold_checks(results, settings)]
    episodes = episode_check(results, settings)
    if episodes is not None:
        checks.append(episodes)
    notes: list[str] = []
    if baseline is not None:
        regressions, notes = regression_checks(results, baseline, settings)
        checks += regressions
    return checks, notes


# --- the plugin ----------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("taskbench"):
        return  # only the controller (or a serial run) sees results; `-p no:taskbench` has none
    try:
        settings = resolve_gate_settings(config, load_capability_config().names)
        baseline = load_baseline(settings.baseline) if settings.baseline is not None else None
    except TaskbenchError as exc:
        raise pytest.UsageError(f"taskbench gate: {exc}") from None
    if settings.active or settings.save_baseline is not None:
        config.pluginmanager.register(Gate(config, settings, baseline), "taskbench-gate-verdict")


class Gate:
    """Refuses an incomparable baseline before the run; judges the results after it."""

    def __init__(self, config: pytest.Config, settings: GateSettings, baseline: Baseline | None) -> None:
        self.config = config
        self.settings = settings
        self.baseline = baseline
        self.generated_with: Mapping[str, Any] | None = None
        self.verdict: Verdict | None = None
        self.verdict_path: Path | None = None
        self.pytest_status: int | None = None  # set when pytest's own status was not OK/failed and was kept

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        state = self.config.stash[RUN_STATE]
        invocation_dir = self.config.invocation_params.dir
        try:
            # Read now: a `--replay reports/latest` points at this run itself once its results are written.
            self.generated_with = generating_config(state.settings.public(), invocation_dir)
            if self.baseline is None:
                return
            tier = "custom" if state.settings.cases is not None else state.settings.tier
            identity = run_identity(tier, state.dataset.content_hash, self.generated_with, None, invocation_dir)
        except TaskbenchError as exc:
            raise pytest.UsageError(f"taskbench gate: {exc}") from None
        problems = incompatibilities(self.baseline.identity, identity)
        if problems:
            raise pytest.UsageError(
                f"taskbench gate: {self.baseline.path}: baseline refused, its scores cannot be compared with this "
                f"run: {'; '.join(problems)}. Compare runs of the same tier, dataset and decoding settings."
            )

    def pytest_taskbench_results(self, session: pytest.Session, results: dict[str, Any], run_dir: Path) -> None:
        identity = run_identity(
            results["dataset"]["tier"],
            results["dataset"]["content_hash"],
            self.generated_with,
            results["model"],
            self.config.invocation_params.dir,
        )
        checks: list[Check] = []
        notes: list[str] = []
        if self.settings.save_baseline is not None:
            checks.append(self._save(results, identity))
        if self.settings.active:
            evaluated, notes = evaluate(results, self.settings, self.baseline)
            checks += evaluated
            if self.baseline is not None:
                notes += [
                    f"changed since the baseline: {change}" for change in differences(self.baseline.identity, identity)
                ]
        self.verdict = Verdict(tuple(checks), tuple(notes))
        if self.settings.active:
            self.verdict_path = self._write(run_dir, results["run_id"])
        status = int(session.exitstatus)
        if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.pytest_status = status  # interrupted, internal error...: pytest's own status stands
        elif self.verdict.outcome is not Outcome.PASSED:
            session.exitstatus = self.verdict.exit_code
        elif self.settings.only:
            session.exitstatus = pytest.ExitCode.OK

    def _save(self, results: Mapping[str, Any], identity: Identity) -> Check:
        path = self.settings.save_baseline
        if not results["complete"]:
            why = "; ".join(results["incomplete_reasons"]) or f"{len(results['errors'])} items errored"
            return Check(
                "save_baseline", Outcome.INFRASTRUCTURE, f"baseline NOT saved to {path}: incomplete run ({why})"
            )
        try:
            count = save_baseline(path, results, identity)
        except TaskbenchError as exc:
            return Check("save_baseline", Outcome.INFRASTRUCTURE, f"baseline NOT saved: {exc}")
        return Check("save_baseline", Outcome.PASSED, f"baseline saved to {path} ({count} cases)", {"cases": count})

    def _write(self, run_dir: Path, run_id: str) -> Path:
        verdict = self.verdict
        assert verdict is not None
        data = {
            "gate_version": GATE_VERSION,
            "run_id": run_id,
            "verdict": verdict.outcome.value,
            "exit_code": verdict.exit_code,
            "settings": self.settings.public(),
            "baseline": None if self.baseline is None else str(self.baseline.path),
            "checks": [asdict(check) for check in verdict.checks],
            "notes": list(verdict.notes),
        }
        path = run_dir / GATE_JSON
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        markdown = render_markdown(verdict)
        (run_dir / GATE_MD).write_text(markdown, encoding="utf-8")
        append_to_step_summary(markdown)
        return path

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        verdict = self.verdict
        if verdict is None and not self.settings.active:
            return
        terminalreporter.section("taskbench gate", sep="=")
        if verdict is None:
            terminalreporter.write_line("gate not evaluated: the run produced no results", red=True)
            return
        for check in verdict.checks:
            passed = check.outcome is Outcome.PASSED
            terminalreporter.write_line(f"{MARKS[check.outcome]:8} {check.message}", green=passed, red=not passed)
        for note in verdict.notes:
            terminalreporter.write_line(note)
        if self.settings.active:
            terminalreporter.write_line(verdict_line(verdict, self.settings.only), bold=True)
            if self.pytest_status is not None:
                terminalreporter.write_line(f"pytest ended with exit status {self.pytest_status}: that status stands")
            terminalreporter.write_line(f"gate: {self.verdict_path}")


def verdict_line(verdict: Verdict, only: bool) -> str:
    line = f"gate {verdict.outcome.value.upper()} (exit {verdict.exit_code})"
    if only and verdict.outcome is Outcome.PASSED:
        line += "; --gate-only: failing items are informational"
    return line


def render_markdown(verdict: Verdict) -> str:
    """gate.md: the verdict for a pull-request comment, above summary.md."""
    icons = {Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.REFUSED: "⛔", Outcome.INFRASTRUCTURE: "⚠️"}
    lines = [f"## taskbench gate: {icons[verdict.outcome]} {verdict.outcome.value} (exit {verdict.exit_code})", ""]
    lines += [f"- {icons[check.outcome]} {markdown_text(check.message, limit=1000)}" for check in verdict.checks]
    if verdict.notes:
        lines += ["", *(f"> {markdown_text(note, limit=1000)}" for note in verdict.notes)]
    return "\n".join(lines) + "\n"
