"""The embedded demo model: a tiny Llama the project trains on its own training split and serves with
vLLM as the default model under test, so `pytest evals/` runs with nothing to download.

It is good at simple requests and visibly imperfect at harder ones (date arithmetic above all),
which is what a demonstration of an evaluation suite needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from taskbench.demo_model.build import ANSWER_ROOM, ensure_built, model_dir
from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.model.server import VllmServer
from taskbench.paths import TRAINING_SPLIT

__all__ = [
    "ANSWER_ROOM",
    "HYPERPARAMETERS",
    "MAX_MODEL_LEN",
    "SERVED_NAME",
    "SERVER_ARGS",
    "TOOL_CALL_PARSER",
    "demo_model_dir",
    "demo_model_server",
    "ensure_demo_model",
]

SERVED_NAME = "taskbench-demo"
HYPERPARAMETERS = Hyperparameters()
MAX_MODEL_LEN = HYPERPARAMETERS.context_length
# The demo model writes compact JSON; a grammar that also allows any whitespace lets it drift into
# blank runs until --max-tokens when --structured-outputs is on.
# Its tool calls are in the Hermes format (see taskbench.demo_model.tokenizer), read by vLLM's `hermes`
# parser; requests without `tools` (content mode) never reach the parser.
TOOL_CALL_PARSER = "hermes"
SERVER_ARGS = (
    "--structured-outputs-config",
    '{"backend": "xgrammar", "disable_any_whitespace": true}',
    "--enable-auto-tool-choice",
    "--tool-call-parser",
    TOOL_CALL_PARSER,
)


def demo_model_dir() -> Path:
    """Where the demo model for the current inputs lives; it may not be built yet."""
    return model_dir(TRAINING_SPLIT, HYPERPARAMETERS)


def ensure_demo_model(progress: Callable[[str], None] | None = None, force: bool = False) -> Path:
    """The demo model's folder, trained first (a few minutes) if the current inputs have no build."""
    return ensure_built(TRAINING_SPLIT, HYPERPARAMETERS, progress or _quiet, force=force)


def demo_model_server(
    log_path: Path, progress: Callable[[str], None] | None = None, vllm_args: Sequence[str] = (), **options: Any
) -> VllmServer:
    """A (not yet started) vLLM server for the demo model, built first if needed. `vllm_args` come after
    SERVER_ARGS, so a flag given again overrides it (vLLM keeps the last); `options` go to VllmServer."""
    return VllmServer(
        str(ensure_demo_model(progress)),
        SERVED_NAME,
        log_path,
        max_model_len=MAX_MODEL_LEN,
        extra_args=(*SERVER_ARGS, *vllm_args),
        on_progress=progress,
        **options,
    )


def _quiet(_: str) -> None:
    pass
