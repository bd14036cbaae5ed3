"""Training the demo model: a tiny Llama trained on the training split, loss on the answer only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.demo_model.tokenizer import Example

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
) -> TrainResult:
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
