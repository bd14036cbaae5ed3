"""A LoRA adapter for the demo model, for sweeps that serve adapters through vLLM's multi-LoRA support: the 25 %
checkpoint (the first of taskbench.demo_model.build.CHECKPOINT_FRACTIONS) trained further on the training split
with low-rank updates of q_proj and v_proj only, the base weights frozen.

peft is not a dependency, so the adapter is trained with plain torch and written in PEFT's on-disk format, which
vLLM reads: adapter_config.json and adapter_model.safetensors with
`base_model.model.model.layers.N.self_attn.{q,v}_proj.lora_{A,B}.weight`.

Built on request (`taskbench model build --adapter`, or a sweep that needs it) into
`<model folder>/adapters/lora-<key>/`, where the key hashes this file and the adapter's hyperparameters, so the
demo model's own key (and its build) never depends on it. Run as `python -m taskbench.demo_model.adapter FOLDER
BASE TRAINING_SPLIT HYPERPARAMETERS_JSON` by ensure_adapter, which relays its progress lines.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ADAPTER_NAME = "demo-lora"
ADAPTERS_DIR = "adapters"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


@dataclass(frozen=True)
class LoraHyperparameters:
    rank: int = 8
    alpha: int = 16
    targets: tuple[str, ...] = ("q_proj", "v_proj")
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 3e-3
    seed: int = 1
    threads: int = 2


LORA_HYPERPARAMETERS = LoraHyperparameters()


def adapter_key(base: Path, hp: LoraHyperparameters) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(json.dumps([base.name, asdict(hp)], sort_keys=True).encode())
    return digest.hexdigest()[:12]


def adapter_dir(model_folder: Path, base: Path, hp: LoraHyperparameters = LORA_HYPERPARAMETERS) -> Path:
    return model_folder / ADAPTERS_DIR / f"lora-{base.name}-{adapter_key(base, hp)}"


def ensure_adapter(
    model_folder: Path,
    base: Path,
    training_split: Path,
    progress: Callable[[str], None],
    hp: LoraHyperparameters = LORA_HYPERPARAMETERS,
) -> Path:
    """The adapter folder for the checkpoint `base` of the model in `model_folder`, trained first if missing."""
    from taskbench.demo_model.build import build_once, train_in_child

    arguments = [str(base), str(training_split), json.dumps(asdict(hp))]

    def train_into(staging: Path) -> None:
        train_in_child("taskbench.demo_model.adapter", staging, arguments, progress)

    return build_once(adapter_dir(model_folder, base, hp), train_into, progress, force=False)


def demo_checkpoints(progress: Callable[[str], None] | None = None) -> list[Path]:
    """The demo model's checkpoints, earliest first, the finished model last (built first if needed)."""
    from taskbench.demo_model import HYPERPARAMETERS, ensure_demo_model
    from taskbench.demo_model.build import checkpoint_dir, checkpoint_steps

    folder = ensure_demo_model(progress)
    return [*(checkpoint_dir(folder, step) for step in checkpoint_steps(HYPERPARAMETERS)), folder]


def ensure_demo_adapter(progress: Callable[[str], None] | None = None) -> Path:
    """The LoRA adapter on the demo model's first checkpoint, trained first (a minute or two) if missing."""
    from taskbench.demo_model import ensure_demo_model
    from taskbench.paths import TRAINING_SPLIT

    say = progress or (lambda _: None)
    return ensure_adapter(ensure_demo_model(progress), demo_checkpoints(progress)[0], TRAINING_SPLIT, say)


def peft_config(base: Path, hp: LoraHyperparameters) -> dict[str, Any]:
    """adapter_config.json as PEFT writes it for a plain LoRA (the fields vLLM's PEFTHelper reads)."""
    return {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": str(base),
        "r": hp.rank,
        "lora_alpha": hp.alpha,
        "lora_dropout": 0.0,
        "target_modules": list(hp.targets),
        "bias": "none",
        "fan_in_fan_out": False,
        "modules_to_save": None,
        "use_rslora": False,
        "use_dora": False,
        "init_lora_weights": True,
        "inference_mode": True,
    }


def train_adapter(folder: Path, base: Path, training_split: Path, hp: LoraHyperparameters, say: Callable) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, LlamaForCausalLM

    from taskbench.data.cases import load_cases
    from taskbench.demo_model.tokenizer import ANSWER_MODES, END, case_messages, encode_example
    from taskbench.demo_model.train import batch_order, batch_tensors

    torch.set_num_threads(hp.threads)
    torch.manual_seed(hp.seed)
    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = LlamaForCausalLM.from_pretrained(base)
    model.requires_grad_(False)
    cases = load_cases(training_split).cases
    examples = [
        encode_example(tokenizer, case_messages(case, mode), case.expected, mode)
        for case in cases
        for mode in ANSWER_MODES
    ]
    scale = hp.alpha / hp.rank
    factors: dict[str, tuple[torch.nn.Parameter, torch.nn.Parameter]] = {}
    for index, layer in enumerate(model.model.layers):
        for target in hp.targets:
            linear = getattr(layer.self_attn, target)
            # PEFT's initialisation: A like a Linear's weight, B zero, so training starts from the base model.
            lora_a = torch.nn.Parameter(torch.empty(hp.rank, linear.in_features))
            torch.nn.init.kaiming_uniform_(lora_a, a=math.sqrt(5))
            lora_b = torch.nn.Parameter(torch.zeros(linear.out_features, hp.rank))
            factors[f"base_model.model.model.layers.{index}.self_attn.{target}"] = (lora_a, lora_b)
            linear.register_forward_hook(
                lambda _module, inputs, output, a=lora_a, b=lora_b: output + scale * (inputs[0] @ a.T @ b.T)
            )
    parameters = [p for pair in factors.values() for p in pair]
    optimizer = torch.optim.AdamW(parameters, lr=hp.learning_rate, weight_decay=0.0)
    end_id = tokenizer.convert_tokens_to_ids(END)
    model.train()
    window: list[float] = []
    for step, indices in enumerate(batch_order([len(e) for e in examples], hp.batch_size, hp.steps, hp.seed)):
        ids, labels = batch_tensors([examples[i] for i in indices], end_id)
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        window.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == hp.steps:
            say(f"adapter step {step + 1}/{hp.steps}  loss {sum(window) / len(window):.4f}")
            window = []
    weights = {}
    for name, (lora_a, lora_b) in factors.items():
        weights[f"{name}.lora_A.weight"] = lora_a.detach().contiguous()
        weights[f"{name}.lora_B.weight"] = lora_b.detach().contiguous()
    save_file(weights, str(folder / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (folder / ADAPTER_CONFIG).write_text(json.dumps(peft_config(base, hp), indent=2) + "\n", encoding="utf-8")
    say(f"trained a rank-{hp.rank} LoRA adapter on {base.name} in {time.monotonic() - started:.0f} s: {folder}")


def main(argv: Sequence[str]) -> int:
    from taskbench.demo_model.build import DATA_ERROR_EXIT
    from taskbench.demo_model.train import exit_with_parent
    from taskbench.errors import DataError

    folder, base, training_split, hyperparameters = argv
    exit_with_parent()
    values = json.loads(hyperparameters)
    hp = LoraHyperparameters(**{**values, "targets": tuple(values["targets"])})
    try:
        train_adapter(Path(folder), Path(base), Path(training_split), hp, lambda line: print(line, flush=True))
    except DataError as exc:
        print(json.dumps({"where": exc.where, "problem": exc.problem}), file=sys.stderr)
        return DATA_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
