"""The demo model's size and training settings. Part of the cache key: changing one rebuilds the model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hyperparameters:
    vocab_size: int = 800
    hidden_size: int = 128
    num_layers: int = 3
    # head_dim = hidden_size / num_heads must be 64: vLLM's CPU attention kernel rejects smaller heads.
    num_heads: int = 2
    num_kv_heads: int = 1
    intermediate_size: int = 384
    context_length: int = 2048
    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2
