"""The demo model's tokenizer and chat template, and how one case becomes a training example.

Training renders each example through the very template vLLM applies at serving time, so what the
model learns to continue is byte for byte what it will be sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from taskbench.data.cases import Case
from taskbench.model.prompts import answer_json, build_messages

END = "<|end|>"
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}
SPECIAL_TOKENS = (END, *ROLE_TOKENS.values())

# Role markers and the end marker are special tokens, so the text between them is tokenized on its own:
# the prompt's tokens followed by the answer's tokens are exactly the tokens of the whole conversation.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '" + END + "' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '" + ROLE_TOKENS["assistant"] + "' }}{%- endif -%}"
)


@dataclass(frozen=True)
class Example:
    """One tokenized conversation; `target_start` is where the assistant's answer (and the end token) begins."""

    input_ids: tuple[int, ...]
    target_start: int

    def __len__(self) -> int:
        return len(self.input_ids)


def case_messages(case: Case) -> list[dict[str, str]]:
    """The chat messages a case is served as, without the answer."""
    return build_messages(case.reference_date, case.input, case.context)


def case_texts(case: Case) -> list[str]:
    """Every piece of text of a case the model reads or writes: what the tokenizer is trained on."""
    return [m["content"] for m in case_messages(case)] + [answer_json(case.expected)]


def train_tokenizer(texts: Iterable[str], vocab_size: int, context_length: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer fitted to `texts`, with the chat template and end token set."""
    bpe = Tokenizer(models.BPE())
    # One token per digit: dates and times are then written with the same ten tokens everywhere,
    # instead of a merge table that happens to cover some years and days but not others.
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=END, pad_token=END, chat_template=CHAT_TEMPLATE, model_max_length=context_length
    )


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, folder: Path) -> None:
    """Save with the chat template inside tokenizer_config.json and the generic fast-tokenizer class:
    older transformers releases (a GPU user's vLLM) then load it too, not only the one that trained it."""
    tokenizer.save_pretrained(folder, save_jinja_files=False)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def encode_example(
    tokenizer: PreTrainedTokenizerFast, messages: Sequence[Mapping[str, str]], answer: Mapping[str, Any]
) -> Example:
    """Tokenize a conversation as served (generation prompt) followed by the answer the model must write."""
    prompt = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": answer_json(answer)}], tokenize=False
    )
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the conversation differently from its generation prompt")
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    target_ids = tokenizer.encode(full[len(prompt) :], add_special_tokens=False)
    return Example(tuple(prompt_ids + target_ids), len(prompt_ids))
