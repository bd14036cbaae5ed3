"""Training the demo model: a tiny Llama trained on the training split, loss on the answer only. Every
case is one example in each answer mode (content and tools, see taskbench.demo_model.tokenizer).

Run as `python -m taskbench.demo_model.train FOLDER TRAINING_SPLIT HYPERPARAMETERS_JSON` by the build
(taskbench.demo_model.build), which relays the progress lines this prints.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from taskbench.data.cases import load_cases
from taskbench.demo_model.build import (
    ANSWER_ROOM,
    BUILD_INFO,
    DATA_ERROR_EXIT,
    cache_key,
    checkpoint_dir,
    checkpoint_steps,
)
from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.demo_model.tokenizer import (
    ANSWER_MODES,
    END,
    Example,
    case_messages,
    case_texts,
    encode_example,
    save_tokenizer,
    train_tokenizer,
)
from taskbench.errors import DataError

IGNORED = -100  # label value the loss skips: prompt tokens and padding


@dataclass(frozen=True)
class TrainResult:
    model: LlamaForCausalLM
    final_loss: float
    seconds: float

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def new_model(hp: Hyperparameters, vocab_size: int, end_id: int) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hp.hidden_size,
        intermediate_size=hp.intermediate_size,
        num_hidden_layers=hp.num_layers,
        num_attention_heads=hp.num_heads,
        num_key_value_heads=hp.num_kv_heads,
        head_dim=hp.hidden_size // hp.num_heads,
        max_position_embeddings=hp.context_length,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=end_id,
        pad_token_id=end_id,
        dtype="float32",
    )
    return LlamaForCausalLM(config)


def batch_tensors(examples: Sequence[Example], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and labels; labels are IGNORED outside the answer. No attention mask is
    needed: with causal attention, padding after a sequence cannot affect its tokens."""
    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORED, dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : len(example)] = torch.tensor(example.input_ids)
        labels[row, example.target_start : len(example)] = ids[row, example.target_start : len(example)]
    return ids, labels


def batch_order(lengths: Sequence[int], batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """Example indices for every step: a seeded reshuffle each epoch, so a build is reproducible.
    Batches are cut from runs of similar length, so little of each batch is padding."""
    generator = torch.Generator().manual_seed(seed)
    span = batch_size * 16
    batches: list[list[int]] = []
    while len(batches) < steps:
        shuffled = torch.randperm(len(lengths), generator=generator).tolist()
        epoch = []
        for start in range(0, len(shuffled), span):
            run = sorted(shuffled[start : start + span], key=lengths.__getitem__)
            epoch += [run[i : i + batch_size] for i in range(0, len(run), batch_size)]
        batches += [epoch[i] for i in torch.randperm(len(epoch), generator=generator).tolist()]
    return batches[:steps]


def learning_rate(step: int, hp: Hyperparameters) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < hp.warmup_steps:
        return hp.learning_rate * (step + 1) / hp.warmup_steps
    progress = (step - hp.warmup_steps) / max(1, hp.steps - hp.warmup_steps)
    return hp.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def train(
    examples: Sequence[Example],
    hp: Hyperparameters,
    vocab_size: int,
    end_id: int,
    progress: Callable[[str], None],
    report_every: float = 5.0,
    checkpoint: Callable[[int, LlamaForCausalLM], None] | None = None,
    checkpoint_at: Sequence[int] = (),
) -> TrainResult:
    """Train a new model; `checkpoint(step, model)` is called after each step in `checkpoint_at`."""
    torch.set_num_threads(hp.threads)
    torch.manual_seed(hp.seed)
    model = new_model(hp, vocab_size, end_id)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp.learning_rate, weight_decay=hp.weight_decay)
    started = last_report = time.monotonic()
    window: list[float] = []
    final_loss = math.nan
    for step, indices in enumerate(batch_order([len(e) for e in examples], hp.batch_size, hp.steps, hp.seed)):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, hp)
        ids, labels = batch_tensors([examples[i] for i in indices], end_id)
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if checkpoint is not None and step + 1 in checkpoint_at:
            checkpoint(step + 1, model)
        window.append(loss.item())
        now = time.monotonic()
        if now - last_report >= report_every or step + 1 == hp.steps:
            rate = (step + 1) / (now - started)
            progress(
                f"step {step + 1}/{hp.steps}  loss {sum(window) / len(window):.4f}  "
                f"{rate:.1f} steps/s  {(hp.steps - step - 1) / rate:.0f} s left"
            )
            last_report, final_loss, window = now, sum(window) / len(window), []
    model.eval()
    return TrainResult(model, final_loss, time.monotonic() - started)


def build_model(folder: Path, training_split: Path, hp: Hyperparameters, progress: Callable[[str], None]) -> None:
    """Tokenizer, training and the saved model (config.json, model.safetensors, tokenizer files, build.json)."""
    started = time.monotonic()
    cases = load_cases(training_split).cases
    tokenizer = train_tokenizer((text for case in cases for text in case_texts(case)), hp.vocab_size, hp.context_length)
    sources = [case for case in cases for _ in ANSWER_MODES]
    examples = [
        encode_example(tokenizer, case_messages(case, mode), case.expected, mode)
        for case in cases
        for mode in ANSWER_MODES
    ]
    lengths = [len(e) for e in examples]
    longest = max(range(len(examples)), key=lengths.__getitem__)
    if lengths[longest] + ANSWER_ROOM > hp.context_length:
        raise DataError(
            sources[longest].origin,
            f"is {lengths[longest]} tokens; the demo model's context of {hp.context_length} tokens"
            f" must leave {ANSWER_ROOM} for the answer",
        )
    progress(
        f"{len(examples)} examples ({len(cases)} cases x {len(ANSWER_MODES)} answer modes) from {training_split}:"
        f" {statistics.mean(lengths):.0f} tokens on average,"
        f" {lengths[longest]} at most ({len(tokenizer)}-token vocabulary)"
    )

    def save_checkpoint(step: int, model: LlamaForCausalLM) -> None:
        target = checkpoint_dir(folder, step)
        model.save_pretrained(target)
        save_tokenizer(tokenizer, target)
        progress(f"checkpoint at step {step}: {target}")

    steps = checkpoint_steps(hp)
    end_id = tokenizer.convert_tokens_to_ids(END)
    result = train(examples, hp, len(tokenizer), end_id, progress, checkpoint=save_checkpoint, checkpoint_at=steps)
    result.model.save_pretrained(folder)
    save_tokenizer(tokenizer, folder)
    info = {
        "key": cache_key(training_split, hp),
        "training_split": str(training_split),
        "examples": len(examples),
        "mean_tokens": round(statistics.mean(lengths), 1),
        "max_tokens": lengths[longest],
        "parameters": result.parameters,
        "final_loss": result.final_loss,
        "train_seconds": round(result.seconds, 1),
        "build_seconds": round(time.monotonic() - started, 1),
        "hyperparameters": asdict(hp),
        "checkpoints": [str(checkpoint_dir(folder, step).relative_to(folder)) for step in steps],
    }
    (folder / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    progress(
        f"trained {result.parameters:,} parameters for {hp.steps} steps in {result.seconds:.0f} s,"
        f" final loss {result.final_loss:.4f}"
    )


def exit_with_parent() -> None:
    """Stop when the process that started this build is gone: nobody would move its result into place."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: Sequence[str]) -> int:
    folder, training_split, hyperparameters = argv
    exit_with_parent()
    hp = Hyperparameters(**json.loads(hyperparameters))
    try:
        build_model(Path(folder), Path(training_split), hp, lambda line: print(line, flush=True))
    except DataError as exc:
        print(json.dumps({"where": exc.where, "problem": exc.problem}), file=sys.stderr)
        return DATA_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
