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
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock, Timeout

from taskbench import prompt
from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.errors import DataError
from taskbench.paths import cache_home

ANSWER_ROOM = 256  # tokens left free after the longest prompt for the model's answer
BUILD_INFO = "build.json"
PACKAGE_DIR = Path(__file__).resolve().parent


def key_sources(training_split: Path) -> list[Path]:
    """Every file a build depends on; prompt.py renders the training text, so it counts too."""
    return [
        training_split,
        prompt.DEFAULT_SYSTEM_PROMPT,
        Path(prompt.__file__).resolve(),
        *sorted(PACKAGE_DIR.glob("*.py")),
    ]


def cache_key(training_split: Path, hp: Hyperparameters) -> str:
    digest = hashlib.sha256()
    for index, path in enumerate(key_sources(training_split)):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError(str(path), "no such file (the demo model is built from it)") from None
        # The training split is keyed by content only; other files by name too, so moving code between
        # two of them still changes the key. Lengths keep neighbouring files from running together.
        name = b"training split" if index == 0 else path.name.encode()
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)) + data)
    digest.update(json.dumps(asdict(hp), sort_keys=True).encode())
    return digest.hexdigest()


def model_dir(training_split: Path, hp: Hyperparameters) -> Path:
    return cache_home() / "models" / f"demo-{cache_key(training_split, hp)[:12]}"


def ensure_built(
    training_split: Path, hp: Hyperparameters, progress: Callable[[str], None], force: bool = False
) -> Path:
    """The model folder for these inputs, built first if missing (or if `force`)."""
    target = model_dir(training_split, hp)
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
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            _build_into(staging, training_split, hp, progress)
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


def _build_into(folder: Path, training_split: Path, hp: Hyperparameters, progress: Callable[[str], None]) -> None:
    # Imported here: torch and transformers take seconds to import, and finding the model's
    # folder (`taskbench model path`, every pytest start) must not pay for that.
    from taskbench.cases import load_cases
    from taskbench.demo_model.tokenizer import (
        END,
        case_messages,
        case_texts,
        encode_example,
        save_tokenizer,
        train_tokenizer,
    )
    from taskbench.demo_model.train import train

    started = time.monotonic()
    key = cache_key(training_split, hp)
    cases = load_cases(training_split).cases
    tokenizer = train_tokenizer((text for case in cases for text in case_texts(case)), hp.vocab_size, hp.context_length)
    examples = [encode_example(tokenizer, case_messages(case), case.expected) for case in cases]
    lengths = [len(e) for e in examples]
    longest = max(range(len(cases)), key=lengths.__getitem__)
    if lengths[longest] + ANSWER_ROOM > hp.context_length:
        raise DataError(
            cases[longest].origin,
            f"is {lengths[longest]} tokens; the demo model's context of {hp.context_length} tokens"
            f" must leave {ANSWER_ROOM} for the answer",
        )
    progress(
        f"{len(examples)} examples from {training_split}: {statistics.mean(lengths):.0f} tokens on average,"
        f" {lengths[longest]} at most ({len(tokenizer)}-token vocabulary)"
    )
    result = train(examples, hp, len(tokenizer), tokenizer.convert_tokens_to_ids(END), progress)
    result.model.save_pretrained(folder)
    save_tokenizer(tokenizer, folder)
    info = {
        "key": key,
        "training_split": str(training_split),
        "examples": len(examples),
        "mean_tokens": statistics.mean(lengths),
        "max_tokens": lengths[longest],
        "parameters": result.parameters,
        "final_loss": result.final_loss,
        "train_seconds": round(result.seconds, 1),
        "build_seconds": round(time.monotonic() - started, 1),
        "hyperparameters": asdict(hp),
    }
    (folder / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    progress(
        f"trained {result.parameters:,} parameters for {hp.steps} steps in {result.seconds:.0f} s,"
        f" final loss {result.final_loss:.4f}"
    )
