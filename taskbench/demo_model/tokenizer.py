"""The demo model's tokenizer and chat template, and how one case becomes a training example.

Training renders each example through the very template vLLM applies at serving time, so what the
model learns to continue is byte for byte what it will be sent.

Each case is learnt in both answer modes. Content mode: the answer is the contract JSON. Tools mode
(the request offers `tools`, which the template lists after <|tools|>): the answer is one call in the
Hermes format, `<tool_call>{"name": "create_task", "arguments": {...}}</tool_call>`, which vLLM's
`hermes` tool-call parser reads. The call is written with the exact spacing of vLLM's hermes structural
tag (the grammar behind --tool-choice required), so a constrained answer is the one the model would write
anyway. <tool_call> and </tool_call> are ordinary added tokens, not special ones: grammar backends never
emit special tokens, and a server without the parser must leave them in the text for taskbench to find.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from taskbench.data.cases import Case
from taskbench.model.prompts import answer_json, build_messages
from taskbench.model.tools import FUNCTION_OF_ACTION, tool_definitions, tools_messages

END = "<|end|>"
TOOLS = "<|tools|>"
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>", "tool": "<|tool|>"}
SPECIAL_TOKENS = (END, TOOLS, *ROLE_TOKENS.values())
CALL_TOKENS = ("<tool_call>", "</tool_call>")

# Role markers and the end marker are special tokens, so the text between them is tokenized on its own:
# the prompt's tokens followed by the answer's tokens are exactly the tokens of the whole conversation.
# Tools are listed by name only: their parameters would double the prompt (and the training time), and the
# model learns the arguments from its answers. vLLM hands a call's arguments to the template as a mapping;
# as text (the OpenAI form) they are written as they are.
CHAT_TEMPLATE = (
    "{%- if tools -%}"
    "{{ '" + TOOLS + "' }}{% for tool in tools %}{{ (' ' if not loop.first else '') + tool['function']['name'] }}"
    "{% endfor %}{{ '" + END + "' }}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{ '<|' + message['role'] + '|>' }}"
    "{%- if message['role'] == 'assistant' and message.get('tool_calls') -%}"
    "{%- for call in message['tool_calls'] -%}"
    "{{ '<tool_call>{\"name\": ' + call['function']['name'] | tojson + ', \"arguments\": ' }}"
    "{%- set arguments = call['function']['arguments'] -%}"
    "{{ (arguments if arguments is string else arguments | tojson(separators=(',', ':'))) + '}</tool_call>' }}"
    "{%- endfor -%}"
    "{%- else -%}{{ message['content'] }}{%- endif -%}"
    "{{ '" + END + "' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '" + ROLE_TOKENS["assistant"] + "' }}{%- endif -%}"
)
ANSWER_MODES = ("content", "tools")


@dataclass(frozen=True)
class Example:
    """One tokenized conversation; `target_start` is where the assistant's answer (and the end token) begins."""

    input_ids: tuple[int, ...]
    target_start: int

    def __len__(self) -> int:
        return len(self.input_ids)


def case_messages(case: Case, answer_mode: str = "content") -> list[dict[str, Any]]:
    """The chat messages a case is served as in an answer mode, without the answer."""
    messages = build_messages(case.reference_date, case.input, case.context)
    return tools_messages(messages) if answer_mode == "tools" else messages


def answer_message(answer: Mapping[str, Any], answer_mode: str) -> dict[str, Any]:
    """The assistant message that answers with `answer`: its JSON text, or one call whose arguments are a
    mapping, as vLLM hands them to a chat template."""
    if answer_mode == "content":
        return {"role": "assistant", "content": answer_json(answer)}
    arguments = {k: v for k, v in json.loads(answer_json(answer)).items() if k != "action"}
    call = {"type": "function", "function": {"name": FUNCTION_OF_ACTION[answer["action"]], "arguments": arguments}}
    return {"role": "assistant", "content": "", "tool_calls": [call]}


def case_texts(case: Case) -> list[str]:
    """Every piece of text of a case the model reads or writes: what the tokenizer is trained on."""
    names = " ".join(tool["function"]["name"] for tool in tool_definitions())
    call = f'{{"name": "{FUNCTION_OF_ACTION[case.expected["action"]]}", "arguments": '
    return [m["content"] for m in case_messages(case)] + [answer_json(case.expected), names, call]


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
    bpe.add_tokens([AddedToken(token, special=False, normalized=False) for token in CALL_TOKENS])
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
    tokenizer: PreTrainedTokenizerFast,
    messages: Sequence[Mapping[str, Any]],
    answer: Mapping[str, Any],
    answer_mode: str = "content",
) -> Example:
    """Tokenize a conversation as served (generation prompt) followed by the answer the model must write."""
    tools = tool_definitions() if answer_mode == "tools" else None
    prompt = tokenizer.apply_chat_template(list(messages), tools=tools, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template([*messages, answer_message(answer, answer_mode)], tools=tools, tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the conversation differently from its generation prompt")
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    target_ids = tokenizer.encode(full[len(prompt) :], add_special_tokens=False)
    return Example(tuple(prompt_ids + target_ids), len(prompt_ids))
