"""Option resolution: command line > environment > [tool.taskbench] > default, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskbench.errors import TaskbenchError
from taskbench.options import OPTIONS, Settings, resolve_settings


def settings_for(pytester: pytest.Pytester, *args: str, pyproject: str = "") -> Settings:
    pytester.makefile(".toml", pyproject=pyproject)
    return resolve_settings(pytester.parseconfig(*args))


def test_defaults_apply_when_nothing_is_given(pytester: pytest.Pytester) -> None:
    settings = settings_for(pytester)
    assert settings.tier == "dev"
    assert settings.model_url == ()
    assert settings.temperature == 0.0
    assert settings.no_cache is False


def test_precedence_is_command_line_then_environment_then_pyproject(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = '[tool.taskbench]\ntier = "full"\nconcurrency = 32\nmax_tokens = 100\nno_cache = true\n'
    monkeypatch.setenv("TASKBENCH_CONCURRENCY", "64")
    monkeypatch.setenv("TASKBENCH_MAX_TOKENS", "200")
    settings = settings_for(pytester, "--max-tokens", "300", pyproject=pyproject)
    assert settings.tier == "full"  # pyproject only
    assert settings.concurrency == 64  # environment beats pyproject
    assert settings.max_tokens == 300  # command line beats environment
    assert settings.no_cache is True


def test_repeatable_options_collect_every_value(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(pytester, "--model-url", "http://a:1", "--model-url", "http://b:2")
    assert settings.model_url == ("http://a:1", "http://b:2")
    monkeypatch.setenv("TASKBENCH_MODEL_URL", "http://c:3, http://d:4")
    assert settings_for(pytester).model_url == ("http://c:3", "http://d:4")


@pytest.mark.parametrize(
    ("pyproject", "env", "message"),
    [
        ('[tool.taskbench]\ntier = "huge"\n', {}, "'huge' is not one of dev, gate, full"),
        ("[tool.taskbench]\nconcurency = 3\n", {}, "unknown keys: concurency"),
        ("", {"TASKBENCH_CONCURRENCY": "lots"}, "environment variable TASKBENCH_CONCURRENCY: invalid value 'lots'"),
        ("", {"TASKBENCH_NO_CACHE": "maybe"}, "expected true or false"),
    ],
)
def test_bad_values_name_their_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pyproject: str, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(TaskbenchError, match=message.replace("[", r"\[").replace("(", r"\(")):
        settings_for(pytester, pyproject=pyproject)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--samples", "0"), "option --samples: invalid value '0' \\(expected at least 1, got '0'\\)"),
        (("--samples", "4"), "--samples 4 at --temperature 0 is refused"),
    ],
)
def test_samples_need_at_least_one_and_sampling_above_temperature_zero(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(TaskbenchError, match=message):
        settings_for(pytester, *args)
    assert settings_for(pytester, "--samples", "4", "--temperature", "0.8").samples == 4


def test_the_api_key_never_appears_in_public_settings(pytester: pytest.Pytester) -> None:
    settings = settings_for(pytester, "--api-key", "sk-secret-123")
    assert settings.api_key == "sk-secret-123"
    assert "sk-secret-123" not in repr(settings.public())


def test_every_option_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [spec.flag for spec in OPTIONS if f"`{spec.flag}" not in readme]
    assert not missing, f"options missing from the README's table: {missing}"
