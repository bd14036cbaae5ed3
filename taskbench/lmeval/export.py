"""`taskbench export lm-eval`: one tier as an lm-evaluation-harness task folder that lm_eval runs unmodified.

The folder holds `<task>.yaml` (the harness's own task format), `<task>.jsonl` (one document per case) and
`utils.py` (taskbench/lmeval/task_utils.py). Each document carries the messages taskbench sends, already
rendered by taskbench.model.prompts.build_messages: the system prompt (the YAML's `description` names that field, so it
becomes the system message), the case's earlier turns (`history`, sent as user/assistant turns by
utils.HistorySampler) and the request (`input`). With `--apply_chat_template`, local-chat-completions therefore
sends the same messages, max_tokens, temperature and seed as `pytest evals/`.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from taskbench import __version__
from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import Case, Dataset, load_tier
from taskbench.lmeval.metrics import MEAN_METRICS, WEIGHTED_SCORE
from taskbench.model.prompts import DEFAULT_SYSTEM_PROMPT, answer_json, build_messages
from taskbench.options import OPTIONS_BY_NAME

TASK_UTILS = Path(__file__).with_name("task_utils.py")
# metadata.version of the exported task: raise it when the task's format or metrics change meaning.
TASK_VERSION = 1
SPLIT = "test"


def task_name(tier: str) -> str:
    return f"taskbench_{tier}"


def lm_eval_command(
    url: str, model: str, folder: Path | str, task: str, num_concurrent: int = 8, output_path: Path | str = "OUT"
) -> list[str]:
    """The lm_eval command line that runs an exported task against an OpenAI-compatible server at `url`."""
    return [
        "lm_eval",
        "--model",
        "local-chat-completions",
        "--model_args",
        f"base_url={url.rstrip('/')}/v1/chat/completions,model={model},num_concurrent={num_concurrent}",
        "--include_path",
        str(folder),
        "--tasks",
        task,
        "--apply_chat_template",
        "--log_samples",
        "--output_path",
        str(output_path),
    ]


@dataclass(frozen=True)
class ExportedTask:
    name: str
    folder: Path
    config_path: Path
    docs_path: Path
    docs: int


class _Function(str):
    """A YAML scalar written with lm_eval's `!function` tag (a function in the task folder's utils.py)."""


class _TaskDumper(yaml.SafeDumper):
    pass


_TaskDumper.add_representer(_Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))


def export_doc(case: Case, tier: str, system_prompt: Path = DEFAULT_SYSTEM_PROMPT) -> dict[str, Any]:
    """One document: the case's messages as taskbench sends them, and the case record the scorers read."""
    system, *turns, request = build_messages(case.reference_date, case.input, case.context, system_prompt)
    users, assistants = turns[0::2], turns[1::2]
    if not all(u["role"] == "user" for u in users) or not all(a["role"] == "assistant" for a in assistants):
        raise ValueError(f"{case.id}: earlier turns are not user/assistant pairs")
    return {
        "id": case.id,
        "capability": case.capability,
        "level": case.level,
        "tier": tier,
        "system": system["content"],
        "history": [{"input": u["content"], "target": a["content"]} for u, a in zip(users, assistants, strict=True)],
        "input": request["content"],
        "target": answer_json(case.expected),
        # A JSON string, not nested data: the json loader would give every case the union of all cases' keys.
        "case": json.dumps(case.to_record(), ensure_ascii=False),
    }


def task_config(name: str, docs_path: Path, tier: str, dataset: Dataset) -> dict[str, Any]:
    def option(name: str) -> Any:
        return OPTIONS_BY_NAME[name].default

    mean = {"aggregation": "mean", "higher_is_better": True}
    return {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {SPLIT: str(docs_path)}},
        "test_split": SPLIT,
        "output_type": "generate_until",
        # A document field name: lm_eval resolves it per document, and it becomes the system message.
        "description": "system",
        "doc_to_text": "input",
        "doc_to_target": "target",
        # The earlier turns of a context case, as multi-turn "few-shot examples" of the document itself.
        "fewshot_split": SPLIT,
        "num_fewshot": 1,
        "fewshot_config": {"sampler": _Function("utils.HistorySampler")},
        "generation_kwargs": {
            "until": [],
            "max_gen_toks": option("max_tokens"),
            "do_sample": False,
            "temperature": option("temperature"),
            # local-chat-completions sends generation_kwargs it does not know as they are: taskbench's seed.
            "seed": option("seed"),
        },
        "process_results": _Function("utils.process_results"),
        "metric_list": [
            *({"metric": metric, **mean} for metric in MEAN_METRICS),
            {"metric": WEIGHTED_SCORE, "aggregation": _Function("utils.weighted_score"), "higher_is_better": True},
            *(
                {"metric": capability, "aggregation": _Function("utils.capability_mean"), "higher_is_better": True}
                for capability in load_capability_config().names
            ),
        ],
        "metadata": {
            "version": TASK_VERSION,
            "taskbench_version": __version__,
            "tier": tier,
            "dataset_sha256": dataset.content_hash,
        },
    }


HEADER = """\
# taskbench's {tier} tier ({cases} cases) as an lm-evaluation-harness task. Written by `taskbench export lm-eval`:
# re-export rather than edit (the data file's path below is absolute). Run it with
#   {command}
# and leave --system_instruction, --num_fewshot and --fewshot_as_multiturn unset: the documents carry taskbench's
# system prompt and earlier turns. `taskbench import lm-eval OUT/.../samples_{name}_*.jsonl` gives taskbench's reports.
"""


def export_task(
    out_dir: Path, tier: str = "dev", system_prompt: Path = DEFAULT_SYSTEM_PROMPT, dataset: Dataset | None = None
) -> ExportedTask:
    dataset = dataset or load_tier(tier)
    folder = out_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    name = task_name(tier)
    docs_path = folder / f"{name}.jsonl"
    with docs_path.open("w", encoding="utf-8") as out:
        for case in dataset.cases:
            out.write(json.dumps(export_doc(case, tier, system_prompt), ensure_ascii=False) + "\n")
    config_path = folder / f"{name}.yaml"
    body = yaml.dump(
        task_config(name, docs_path, tier, dataset),
        Dumper=_TaskDumper,
        sort_keys=False,
        allow_unicode=True,
        width=120,
    )
    command = shlex.join(lm_eval_command("http://HOST:PORT", "NAME", folder, name))
    header = HEADER.format(tier=tier, cases=len(dataset.cases), command=command, name=name)
    config_path.write_text(header + body, encoding="utf-8")
    shutil.copyfile(TASK_UTILS, folder / "utils.py")
    return ExportedTask(name, folder, config_path, docs_path, len(dataset.cases))
