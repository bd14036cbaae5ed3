"""Which models a session evaluates, and on which server each is: one (today's runs), or several (a sweep).

Decided from the options alone, before any server starts, because every model's items are collected with the
model in their ids. A sweep's models are:

- with --model-url: the --model names (several names on one server, e.g. vLLM's multi-LoRA);
- with --vllm-serve (repeatable, one server each, started one after another): each server's model, served under
  its path (or the one --model name that is not a LoRA module, with one server), and the LoRA modules its flags
  name (--lora-modules NAME=PATH, or its JSON form); --model names select among them;
- with --demo-sweep: the demo model's checkpoints (taskbench.demo_model.build.CHECKPOINT_FRACTIONS, then the
  finished model), the first one also serving the demo LoRA adapter (taskbench.demo_model.adapter);
- with none of these: the demo model, and the LoRA modules --vllm-arg names.

Each model has a label, its served name's last path part, for item ids (`case-id-LABEL`) and its run folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from taskbench.errors import TaskbenchError
from taskbench.model.session import serve_spec
from taskbench.options import Settings

_LABEL_CHARACTER = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass(frozen=True)
class ServerSpec:
    """A server taskbench starts: a --vllm-serve value (None: the demo model), the name its model is served
    under (None: the value's model) and the LoRA modules it serves besides."""

    serve: str | None
    served_name: str | None
    lora_names: tuple[str, ...]
    demo_checkpoint: int | None = None  # a demo sweep's: which of its checkpoints (the first serves the adapter)


@dataclass(frozen=True)
class PlannedModel:
    label: str
    name: str  # the served name requests carry
    server: int | None  # index into ModelPlan.servers; None: a server at --model-url


@dataclass(frozen=True)
class ModelPlan:
    servers: tuple[ServerSpec, ...]
    models: tuple[PlannedModel, ...]

    @property
    def is_sweep(self) -> bool:
        return len(self.models) > 1


def label_of(name: str) -> str:
    """A served name as it appears in item ids and folder names: its last path part, other characters as '-'."""
    return _LABEL_CHARACTER.sub("-", Path(name.rstrip("/")).name or name) or "model"


def lora_names(flags: tuple[str, ...]) -> tuple[str, ...]:
    """The adapter names of --lora-modules in vLLM flags: NAME=PATH, or JSON {"name": ..., "path": ...}."""
    names: list[str] = []
    taking = False
    for flag in flags:
        if flag.startswith("--lora-modules"):
            taking = True
            _, equals, value = flag.partition("=")
            if not equals:
                continue
            flag = value
        elif flag.startswith("--"):
            taking = False
            continue
        if taking:
            names.append(_lora_name(flag))
    return tuple(names)


def _lora_name(module: str) -> str:
    if module.lstrip().startswith("{"):
        try:
            return str(json.loads(module)["name"])
        except (ValueError, KeyError, TypeError):
            raise TaskbenchError(f"--lora-modules {module!r}: not a JSON object with a name") from None
    return module.partition("=")[0]


def plan_models(settings: Settings) -> ModelPlan:
    """The session's models and servers; a TaskbenchError naming the option when they cannot be told apart."""
    if settings.demo_sweep:
        if settings.model_url or settings.vllm_serve or settings.model or settings.replay is not None:
            raise TaskbenchError(
                "--demo-sweep serves the demo model's checkpoints: give it without --model-url, --vllm-serve, "
                "--model or --replay (select models with -k)"
            )
        return _demo_plan(settings)
    if settings.replay is not None or settings.model_url:
        if settings.replay is not None and len(settings.model) > 1:
            raise TaskbenchError("--replay answers from one run: give at most one --model")
        models = tuple(PlannedModel(label_of(name), name, None) for name in settings.model)
        return _checked(ModelPlan((), models or (PlannedModel("", "", None),)))
    values = settings.vllm_serve or (None,)
    servers, offered = [], []
    for index, value in enumerate(values):
        model, flags = serve_spec(value) if value is not None else (_demo_name(), ())
        loras = lora_names((*settings.vllm_arg, *flags))
        served_name = None
        if len(values) == 1:
            renamed = [name for name in settings.model if name not in loras]
            if len(renamed) > 1:
                raise TaskbenchError(
                    f"--model {', '.join(renamed)}: one server serves one model (and its LoRA modules: "
                    f"{', '.join(loras) or 'none'}); serve each model with its own --vllm-serve"
                )
            served_name = renamed[0] if renamed else None
        servers.append(ServerSpec(value, served_name, loras))
        offered += [PlannedModel(label_of(name), name, index) for name in (served_name or model, *loras)]
    names = {model.name for model in offered}
    missing = [name for name in settings.model if name not in names]
    if missing:
        raise TaskbenchError(
            f"--model {missing[0]}: no server taskbench starts serves it (they serve {', '.join(sorted(names))}; "
            "with several --vllm-serve, a server's model is served under its path)"
        )
    models = [model for model in offered if not settings.model or model.name in settings.model]
    return _checked(ModelPlan(tuple(servers), tuple(models)))


def _demo_name() -> str:
    from taskbench.demo_model import SERVED_NAME

    return SERVED_NAME


def _demo_plan(settings: Settings) -> ModelPlan:
    from taskbench.demo_model import HYPERPARAMETERS
    from taskbench.demo_model.adapter import ADAPTER_NAME
    from taskbench.demo_model.build import checkpoint_steps

    steps = [*checkpoint_steps(HYPERPARAMETERS), HYPERPARAMETERS.steps]
    servers, models = [], []
    for index, step in enumerate(steps):
        name = f"step-{step:04d}"
        adapter = f"{name}-{ADAPTER_NAME}"
        servers.append(ServerSpec(None, name, (adapter,) if index == 0 else (), demo_checkpoint=index))
        models.append(PlannedModel(name, name, index))
        if index == 0:
            models.append(PlannedModel(adapter, adapter, index))
    return _checked(ModelPlan(tuple(servers), tuple(models)))


def _checked(plan: ModelPlan) -> ModelPlan:
    labels: dict[str, str] = {}
    for model in plan.models:
        other = labels.setdefault(model.label, model.name)
        if other != model.name:
            raise TaskbenchError(
                f"models {other!r} and {model.name!r} would both be labelled {model.label!r} in item ids and run "
                "folders: serve them under names that end differently"
            )
    return plan
