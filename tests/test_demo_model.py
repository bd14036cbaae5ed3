"""The demo model's build: cache key, chat template vs. training text, batching, locking, a tiny real build."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformers import AutoConfig, AutoTokenizer

from taskbench.data.cases import Case
from taskbench.demo_model import build
from taskbench.demo_model.hyperparameters import Hyperparameters
from taskbench.demo_model.tokenizer import (
    CHAT_TEMPLATE,
    END,
    Example,
    case_messages,
    case_texts,
    encode_example,
    train_tokenizer,
)
from taskbench.demo_model.train import IGNORED, batch_order, batch_tensors, learning_rate
from taskbench.errors import DataError
from taskbench.model import prompts
from taskbench.model.prompts import answer_json, build_messages
from taskbench.model.tools import TOOL_RESULT, tool_definitions

# A 300-token vocabulary merges little, so the tools-mode history example needs more room than 512.
TINY = Hyperparameters(vocab_size=300, steps=3, batch_size=4, warmup_steps=1, context_length=768)


def case_record(number: int, user_input: str, expected: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"t-{number}",
        "capability": "action_recognition",
        "level": "simple",
        "input": user_input,
        "reference_date": "2026-11-24",
        "expected": expected,
        "rationale": "test",
        "template": "test",
        **extra,
    }


RECORDS = [
    case_record(1, "create a task to review the budget by Friday", {
        "action": "create", "title": "Review the budget", "priority": "medium", "due_date": "2026-11-27",
        "due_time": None,
    }),
    case_record(2, "show me what's overdue", {"action": "list", "filter": "overdue"}),
    case_record(3, "delete everything", {"action": "clarify", "question": "Which task should I delete?"}),
    case_record(
        4,
        "mark the dentist one as done",
        {"action": "complete", "title": "Dentist appointment"},
        context={
            "tasks": [{"id": 1, "title": "Dentist appointment", "priority": "medium", "due_date": "2026-11-26",
                       "due_time": "15:00", "status": "open"}],
            "history": [{"user": "what's on my list", "assistant": {"action": "list", "filter": "all"}}],
        },
    ),
]  # fmt: skip


@pytest.fixture
def training_split(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TASKBENCH_HOME", str(home))
    return home


# --- cache key -------------------------------------------------------------------------------------


def test_key_follows_training_split_content_not_its_path(training_split: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere.jsonl"
    copy.write_bytes(training_split.read_bytes())
    assert build.cache_key(copy, TINY) == build.cache_key(training_split, TINY)
    copy.write_bytes(training_split.read_bytes() + b"\n")
    assert build.cache_key(copy, TINY) != build.cache_key(training_split, TINY)


def test_key_follows_hyperparameters(training_split: Path) -> None:
    assert build.cache_key(training_split, TINY) != build.cache_key(training_split, dataclasses.replace(TINY, seed=1))


def test_key_covers_prompt_template_and_package_source(training_split: Path) -> None:
    names = {p.name for p in build.key_sources(training_split)}
    assert {"system.j2", "build.py", "train.py", "tokenizer.py", "hyperparameters.py"} <= names
    assert not names & build.UNKEYED_SOURCES, "the command line and the adapter do not change the trained model"


def test_key_follows_how_cases_are_rendered(training_split: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = build.cache_key(training_split, TINY)
    monkeypatch.setattr(prompts, "answer_json", lambda answer: json.dumps(answer, indent=1))
    assert build.cache_key(training_split, TINY) != before


def test_model_dir_is_named_by_key_under_cache_home(training_split: Path, cache: Path) -> None:
    folder = build.model_dir(training_split, TINY)
    assert folder == cache / "models" / f"demo-{build.cache_key(training_split, TINY)[:12]}"


def test_missing_training_split_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing\.jsonl: no such file"):
        build.cache_key(tmp_path / "missing.jsonl", TINY)


# --- tokenizer and chat template ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():

    cases = [Case(**r) for r in RECORDS]
    return train_tokenizer((t for c in cases for t in case_texts(c)), vocab_size=300, context_length=512)


def test_training_prompt_is_what_the_served_template_renders(tokenizer) -> None:

    case = Case(**RECORDS[3])
    example = encode_example(tokenizer, case_messages(case), case.expected)
    served = tokenizer.apply_chat_template(case_messages(case), add_generation_prompt=True, tokenize=False)
    assert tokenizer.decode(example.input_ids[: example.target_start]) == served
    assert tokenizer.decode(example.input_ids[example.target_start :]) == answer_json(case.expected) + END
    assert served.count("<|assistant|>") == 2  # the history's answer and the generation prompt


def test_tools_mode_prompt_lists_the_functions_and_the_answer_is_one_hermes_call(tokenizer) -> None:
    case = Case(**RECORDS[3])
    messages = case_messages(case, "tools")
    example = encode_example(tokenizer, messages, case.expected, "tools")
    served = tokenizer.apply_chat_template(
        messages, tools=tool_definitions(), add_generation_prompt=True, tokenize=False
    )
    assert tokenizer.decode(example.input_ids[: example.target_start]) == served
    assert served.startswith("<|tools|>create_task complete_task list_tasks delete_task update_task ask_clarification")
    # The history's answer is a call followed by its result, as a tools API conversation has it.
    assert '<|assistant|><tool_call>{"name": "list_tasks", "arguments": {"filter":"all"}}</tool_call><|end|>' in served
    assert "<|tool|>" + TOOL_RESULT + END in served
    answer = tokenizer.decode(example.input_ids[example.target_start :])
    assert (
        answer == '<tool_call>{"name": "complete_task", "arguments": {"title":"Dentist appointment"}}</tool_call>' + END
    )
    # Ordinary tokens, so a grammar backend can emit them and a server without the parser keeps them in the text.
    assert "<tool_call>" not in tokenizer.all_special_tokens
    assert len(tokenizer.tokenize("<tool_call></tool_call>")) == 2


@given(user_input=st.text(max_size=60), title=st.text(min_size=1, max_size=30))
def test_prompt_and_answer_tokens_are_the_tokens_of_the_whole_conversation(tokenizer, user_input, title) -> None:

    messages = build_messages("2026-11-24", user_input)
    answer = {"action": "complete", "title": title}
    example = encode_example(tokenizer, messages, answer)
    whole = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": answer_json(answer)}], tokenize=False
    )
    assert list(example.input_ids) == tokenizer.encode(whole, add_special_tokens=False)


# --- batching and schedule ------------------------------------------------------------------------------


@given(
    lengths=st.lists(st.integers(1, 200), min_size=1, max_size=80),
    batch_size=st.integers(1, 9),
    seed=st.integers(0, 3),
)
def test_batch_order_is_seeded_and_covers_each_epoch_once(lengths: list[int], batch_size: int, seed: int) -> None:

    steps = 2 * len(lengths)  # at least two epochs, whatever the batch size
    batches = batch_order(lengths, batch_size, steps, seed)
    assert batches == batch_order(lengths, batch_size, steps, seed)
    assert len(batches) == steps and all(1 <= len(b) <= batch_size for b in batches)
    flat = [i for b in batches for i in b]
    assert sorted(flat[: len(lengths)]) == list(range(len(lengths)))


def test_labels_cover_only_the_answer() -> None:

    ids, labels = batch_tensors([Example((5, 6, 7, 8), 2), Example((9, 10), 1)], pad_id=0)
    assert ids.tolist() == [[5, 6, 7, 8], [9, 10, 0, 0]]
    assert labels.tolist() == [[IGNORED, IGNORED, 7, 8], [IGNORED, 10, IGNORED, IGNORED]]


@given(step=st.integers(0, 5000))
def test_learning_rate_stays_between_a_tenth_of_peak_and_peak(step: int) -> None:

    hp = Hyperparameters(steps=5000, warmup_steps=100)
    rate = learning_rate(step, hp)
    assert 0 < rate <= hp.learning_rate
    if step >= hp.warmup_steps:
        assert rate >= 0.1 * hp.learning_rate - 1e-12


# --- building once, in place -----------------------------------------------------------------------------


def fake_build(calls: list[Path]):
    def build_into(module: str, folder: Path, arguments: list[str], progress) -> None:
        calls.append(folder)
        (folder / "config.json").write_text("{}")

    return build_into


def test_concurrent_callers_build_once(training_split: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(build, "train_in_child", fake_build(calls))
    folders: list[Path] = []
    threads = [
        threading.Thread(target=lambda: folders.append(build.ensure_built(training_split, TINY, print)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert set(folders) == {build.model_dir(training_split, TINY)}
    assert [p.name for p in folders[0].parent.iterdir() if p.is_dir()] == [folders[0].name]  # no staging left


def test_force_rebuilds_and_a_failed_build_leaves_nothing(
    training_split: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(build, "train_in_child", fake_build(calls))
    folder = build.ensure_built(training_split, TINY, print)
    build.ensure_built(training_split, TINY, print, force=True)
    assert len(calls) == 2 and (folder / "config.json").is_file()

    def broken(*args: Any) -> None:
        raise RuntimeError("training diverged")

    monkeypatch.setattr(build, "train_in_child", broken)
    other = dataclasses.replace(TINY, seed=7)
    with pytest.raises(RuntimeError):
        build.ensure_built(training_split, other, print)
    assert sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) == [folder.name]


# --- a real (tiny) build -----------------------------------------------------------------------------------


def test_tiny_build_saves_a_model_vllm_can_load(training_split: Path, cache: Path) -> None:
    lines: list[str] = []
    folder = build.ensure_built(training_split, TINY, lines.append)
    config = AutoConfig.from_pretrained(folder)
    assert config.head_dim == 64 and config.tie_word_embeddings
    assert config.max_position_embeddings == TINY.context_length
    saved = json.loads((folder / "tokenizer_config.json").read_text())
    assert saved["chat_template"] == CHAT_TEMPLATE and saved["tokenizer_class"] == "PreTrainedTokenizerFast"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.chat_template == CHAT_TEMPLATE and tokenizer.eos_token == END
    assert config.eos_token_id == tokenizer.eos_token_id
    assert (folder / "model.safetensors").is_file()
    info = json.loads((folder / build.BUILD_INFO).read_text())
    assert info["examples"] == 2 * len(RECORDS) and info["key"] == build.cache_key(training_split, TINY)
    assert any(line.startswith(f"step {TINY.steps}/{TINY.steps}") for line in lines)

    steps = build.checkpoint_steps(TINY)
    assert info["checkpoints"] == [str(build.checkpoint_dir(folder, step).relative_to(folder)) for step in steps]
    checkpoint_weights = set()
    for step in steps:
        checkpoint = build.checkpoint_dir(folder, step)
        assert (checkpoint / "config.json").read_bytes() == (folder / "config.json").read_bytes()
        assert AutoTokenizer.from_pretrained(checkpoint).chat_template == CHAT_TEMPLATE
        checkpoint_weights.add((checkpoint / "model.safetensors").read_bytes())
    weights = (folder / "model.safetensors").read_bytes()
    assert len(checkpoint_weights | {weights}) == len(steps) + 1, "each checkpoint holds the weights of its step"
    build.ensure_built(training_split, TINY, lines.append, force=True)
    assert (folder / "model.safetensors").read_bytes() == weights, "the same inputs must train the same weights"


def test_example_longer_than_the_context_allows_is_refused(training_split: Path, cache: Path) -> None:
    cramped = dataclasses.replace(TINY, context_length=build.ANSWER_ROOM + 20)
    with pytest.raises(DataError, match=r"train\.jsonl:4: is \d+ tokens"):
        build.ensure_built(training_split, cramped, print)


def test_tiny_adapter_is_a_peft_lora_of_q_and_v_that_training_moved(training_split: Path, cache: Path) -> None:
    from safetensors.torch import load_file

    from taskbench.demo_model.adapter import ADAPTER_CONFIG, ADAPTER_WEIGHTS, LoraHyperparameters, ensure_adapter

    folder = build.ensure_built(training_split, TINY, print)
    base = build.checkpoint_dir(folder, build.checkpoint_steps(TINY)[0])
    hp = LoraHyperparameters(rank=4, alpha=8, steps=3, batch_size=4)
    lines: list[str] = []
    adapter = ensure_adapter(folder, base, training_split, lines.append, hp)
    assert adapter.parent == folder / "adapters" and ensure_adapter(folder, base, training_split, print, hp) == adapter
    config = json.loads((adapter / ADAPTER_CONFIG).read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 8
    assert config["target_modules"] == ["q_proj", "v_proj"] and config["base_model_name_or_path"] == str(base)
    weights = load_file(adapter / ADAPTER_WEIGHTS)
    model_config = AutoConfig.from_pretrained(base)
    q_out = model_config.num_attention_heads * model_config.head_dim
    v_out = model_config.num_key_value_heads * model_config.head_dim
    for layer in range(model_config.num_hidden_layers):
        for target, out in (("q_proj", q_out), ("v_proj", v_out)):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{target}"
            assert weights[f"{prefix}.lora_A.weight"].shape == (4, model_config.hidden_size)
            assert weights[f"{prefix}.lora_B.weight"].shape == (out, 4)
            assert weights[f"{prefix}.lora_B.weight"].abs().sum() > 0, "B starts at zero: training must move it"
    assert len(weights) == 2 * 2 * model_config.num_hidden_layers
    assert any(line.startswith("adapter step 3/3") for line in lines)
