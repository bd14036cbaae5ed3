"""What the model is sent: the system prompt (reference date, the user's task list) and the chat messages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskbench.paths import FIXTURES

if TYPE_CHECKING:
    import jinja2

PROMPTS_DIR = FIXTURES / "prompts"
DEFAULT_SYSTEM_PROMPT = PROMPTS_DIR / "system.j2"
# Shipped prompts, by the name `--system-prompt` accepts: "system" (the default, short: for models fine-tuned
# on it) and "contract" (states the whole contract: for baselining a model that was not fine-tuned on it).
SHIPPED_PROMPTS = ("system", "contract")
ANSWER_KEY_ORDER = (
    "action",
    "title",
    "new_title",
    "priority",
    "due_date",
    "due_time",
    "attendees",
    "filter",
    "question",
)


def system_prompt_path(value: str | Path) -> Path:
    """The template `--system-prompt` names: a shipped prompt by name ("contract"), else a file path."""
    text = str(value)
    return PROMPTS_DIR / f"{text}.j2" if text in SHIPPED_PROMPTS else Path(text)


def answer_json(answer: Mapping[str, Any]) -> str:
    """The one canonical text of an answer: contract key order, compact, no ASCII escaping."""
    ordered = {k: answer[k] for k in ANSWER_KEY_ORDER if k in answer}
    ordered.update({k: v for k, v in answer.items() if k not in ordered})
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


@cache
def _template(path: Path) -> jinja2.Template:
    # Autoescape off: the prompt is plain text for a model, not HTML. StrictUndefined makes a
    # user's template with a typo fail loudly instead of rendering an empty string.
    import jinja2  # here, not at the top: options.py resolves prompt names at start-up without rendering

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)
    return env.from_string(path.read_text(encoding="utf-8"))


def render_system_prompt(
    reference_date: str, tasks: Sequence[Mapping[str, Any]] = (), template: Path = DEFAULT_SYSTEM_PROMPT
) -> str:
    if not tasks:
        return _render_for_date(reference_date, template)
    return _render(reference_date, tasks, template)


@lru_cache(maxsize=4096)
def _render_for_date(reference_date: str, template: Path) -> str:
    # Most cases carry no task list, and many share a date: render each date's prompt once per run.
    return _render(reference_date, (), template)


def _render(reference_date: str, tasks: Sequence[Mapping[str, Any]], template: Path) -> str:
    day = dt.date.fromisoformat(reference_date)
    return _template(template).render(date=reference_date, weekday=day.strftime("%A"), tasks=list(tasks)).strip()


def build_messages(
    reference_date: str,
    user_input: str,
    context: Mapping[str, Any] | None = None,
    template: Path = DEFAULT_SYSTEM_PROMPT,
) -> list[dict[str, str]]:
    context = context or {}
    messages = [{"role": "system", "content": render_system_prompt(reference_date, context.get("tasks", ()), template)}]
    for turn in context.get("history", ()):
        messages.append({"role": "user", "content": turn["user"]})
        # An episode replays the model's own earlier answers as it wrote them (text); cases hold JSON answers.
        said = turn["assistant"]
        messages.append({"role": "assistant", "content": said if isinstance(said, str) else answer_json(said)})
    messages.append({"role": "user", "content": user_input})
    return messages
