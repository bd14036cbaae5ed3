"""The embedded demo model: a tiny Llama the project trains on its own training split and serves with
vLLM as the default model under test, so `pytest evals/` runs with nothing to download.

It is good at simple requests and visibly imperfect at harder ones (date arithmetic above all),
which is what a demonstration of an evaluation suite needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from taskbench.demo_model.build import ANSWER_ROOM, ensure_built, model_dir
from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.paths import TRAINING_SPLIT

__all__ = ["ANSWER_ROOM", "HYPERPARAMETERS", "MAX_MODEL_LEN", "SERVED_NAME", "demo_model_dir", "ensure_demo_model"]

SERVED_NAME = "taskbench-demo"
HYPERPARAMETERS = Hyperparameters()
MAX_MODEL_LEN = HYPERPARAMETERS.context_length


def demo_model_dir() -> Path:
    """Where the demo model for the current inputs lives; it may not be built yet."""
    return model_dir(TRAINING_SPLIT, HYPERPARAMETERS)


def ensure_demo_model(progress: Callable[[str], None] | None = None, force: bool = False) -> Path:
    """The demo model's folder, trained first (a few minutes) if the current inputs have no build."""
    return ensure_built(TRAINING_SPLIT, HYPERPARAMETERS, progress or _quiet, force=force)


def _quiet(_: str) -> None:
    pass
