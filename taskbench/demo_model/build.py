"""Building the demo model into the cache on first use, once per set of inputs.

The folder name carries a hash of everything the model is made from, so a changed training split,
prompt, trainer or setting gets a fresh build and an unchanged one is reused. Builds go to a staging
folder renamed into place under a file lock: concurrent processes (xdist workers, CI jobs) build once,
and nobody sees a half-written model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock, Timeout

from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.errors import DataError, TaskbenchError
from taskbench.model import prompts, tools
from taskbench.paths import cache_home

ANSWER_ROOM = 256  # tokens left free after the longest prompt for the model's answer
BUILD_INFO = "build.json"
# Intermediate checkpoints saved during the same training (the finished model is the 100 % one), for a learning
# curve: `<model folder>/checkpoints/step-NNNN/`, each a complete model vLLM serves.
CHECKPOINT_FRACTIONS = (0.25, 0.5)
CHECKPOINTS_DIR = "checkpoints"
# Not part of the key: they do not change what training writes (the command line, the adapter with its own key).
UNKEYED_SOURCES = frozenset({"commands.py", "adapter.py"})
DATA_ERROR_EXIT = 3  # the training process's exit code for a DataError, sent as JSON on its last stderr line
PACKAGE_DIR = Path(__file__).resolve().parent


# One conversation that exercises every part of the rendering: task list, history, answer, tools. How
# taskbench.model.prompts and taskbench.model.tools render it is part of the key, so a change to the
# training text rebuilds the model while a refactor that renders the same text does not.
RENDERING_PROBE = {
    "reference_date": "2026-11-24",
    "user_input": "move the dentist appointment to next Friday at 3pm",
    "context": {
        "tasks": [
            {"id": 1, "title": "Dentist appointment", "priority": "medium", "due_date": "2026-11-26",
             "due_time": "15:00", "status": "open"},
            {"id": 2, "title": "Budget review", "priority": "high", "due_date": None, "due_time": None,
             "status": "done"},
        ],
        "history": [{"user": "what is on my list", "assistant": {"filter": "all", "action": "list"}}],
    },
    "answer": {"due_time": "15:00", "action": "update", "title": "Dentist appointment", "due_date": "2026-12-04"},
}  # fmt: skip


def key_sources(training_split: Path) -> list[Path]:
    """Every file a build is made from (besides how taskbench.model.prompts and .tools render, see
    RENDERING_PROBE)."""
    sources = sorted(path for path in PACKAGE_DIR.glob("*.py") if path.name not in UNKEYED_SOURCES)
    return [training_split, prompts.DEFAULT_SYSTEM_PROMPT, *sources]


def checkpoint_steps(hp: Hyperparameters) -> list[int]:
    """The training steps after which a checkpoint is saved."""
    return [round(hp.steps * fraction) for fraction in CHECKPOINT_FRACTIONS]


def checkpoint_dir(model_folder: Path, step: int) -> Path:
    return model_folder / CHECKPOINTS_DIR / f"step-{step:04d}"


def rendering_fingerprint() -> bytes:
    probe = RENDERING_PROBE
    messages = prompts.build_messages(probe["reference_date"], probe["user_input"], probe["context"])
    rendered = [
        messages,
        prompts.answer_json(probe["answer"]),
        tools.tools_messages(messages),
        tools.tool_definitions(),
    ]
    return json.dumps(rendered, ensure_ascii=False).encode()


def cache_key(training_split: Path, hp: Hyperparameters) -> str:
    digest = hashlib.sha256()
    for index, path in enumerate(key_sources(training_split)):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError(str(path), "no such file (the demo model is built from it)") from None
        # The training split is keyed by content only; other files by name too, so moving code between
        # two of them still changes the key.
        name = b"training split" if index == 0 else path.name.encode()
        digest.update(_framed(name) + _framed(data))
    digest.update(_framed(rendering_fingerprint()))
    digest.update(json.dumps(asdict(hp), sort_keys=True).encode())
    return digest.hexdigest()


def _framed(data: bytes) -> bytes:
    # Length-prefixed, so neighbouring inputs cannot run together into the same byte stream.
    return b"%d:" % len(data) + data


def model_dir(training_split: Path, hp: Hyperparameters) -> Path:
    return cache_home() / "models" / f"demo-{cache_key(training_split, hp)[:12]}"


def ensure_built(
    training_split: Path, hp: Hyperparameters, progress: Callable[[str], None], force: bool = False
) -> Path:
    """The model folder for these inputs, built first if missing (or if `force`)."""
    arguments = [str(training_split), json.dumps(asdict(hp))]

    def train_into(staging: Path) -> None:
        train_in_child("taskbench.demo_model.train", staging, arguments, progress)

    return build_once(model_dir(training_split, hp), train_into, progress, force)


def build_once(target: Path, build: Callable[[Path], None], progress: Callable[[str], None], force: bool) -> Path:
    """`target`, built first by `build(staging folder)` if missing (or if `force`): once across processes
    (a file lock), and moved into place only when complete."""
    if target.is_dir() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(target.with_name(f"{target.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        progress(f"another process is building {target}; waiting for it")
        lock.acquire()
    try:
        if target.is_dir() and not force:
            return target
        for stale in target.parent.glob(f".{target.name}-*"):  # left by a killed build; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            build(staging)
            if target.is_dir():
                retired = target.with_name(f".{target.name}-replaced-{os.getpid()}")
                target.rename(retired)
                shutil.rmtree(retired)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()
    return target


def train_in_child(module: str, folder: Path, arguments: list[str], progress: Callable[[str], None]) -> None:
    """Run `python -m module FOLDER ARGUMENTS...`, relaying its progress lines; its DataError or failure raised here."""
    # Training runs in a child process: torch's thread count is process-wide state that the caller
    # (a pytest session, say) keeps, and OpenMP's passive wait policy, read only when torch loads,
    # keeps the two training threads from stalling each other when other processes share the cores.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    command = [sys.executable, "-m", module, str(folder), *arguments]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env) as child:
            assert child.stdout is not None
            for line in child.stdout:
                progress(line.rstrip("\n"))
        stderr.seek(0)
        errors = stderr.read().strip().splitlines()
    if child.returncode == DATA_ERROR_EXIT:
        problem = json.loads(errors[-1])
        raise DataError(problem["where"], problem["problem"])
    if child.returncode != 0:
        tail = "\n".join(errors[-15:])
        raise TaskbenchError(f"{module} into {folder} failed (exit code {child.returncode}):\n{tail}")
