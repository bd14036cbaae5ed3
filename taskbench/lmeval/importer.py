"""`taskbench import lm-eval`: lm_eval's `--log_samples` output of an exported task, as a taskbench run.

Each sample holds the exported document (the case record) and the model's text, so the run is rebuilt without
the model: every answer scored by taskbench.scorers.score_case into the item records `pytest evals/` makes
(taskbench.scoring.records), finished by the same taskbench.results.build.finish_run (results.json and the
reports), and the answers written to answers.jsonl and the model to served.json, so `pytest evals/ --replay
RUN_DIR` replays it.

lm_eval keeps only the text of an answer: finish reason, token counts and latency are not in its samples and
are recorded as UNKNOWN_FINISH_REASON and 0.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskbench.artifacts import model_record, save_answers, write_served
from taskbench.data.capabilities import load_capability_config
from taskbench.data.cases import Case, Dataset, load_tier
from taskbench.errors import DataError
from taskbench.model.client import Answer, ServedModel
from taskbench.model.generation import GenerationReport
from taskbench.options import OPTIONS, Settings
from taskbench.reports.process import ReportWriter
from taskbench.results.build import Collected, Results, finish_run
from taskbench.scorers import score_case
from taskbench.scoring.records import item_record

UNKNOWN_FINISH_REASON = "unknown"
CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Sample:
    """One line of a samples_<task>_<time>.jsonl file (lm_eval 0.4.13's format), as far as taskbench needs it."""

    case_id: str
    tier: str
    case: dict[str, Any]  # the case record the document was exported from
    output: str  # the text lm_eval scored (its filtered response)
    gen_kwargs: dict[str, Any]


def read_samples(path: Path) -> list[Sample]:
    """The samples of a task exported by `taskbench export lm-eval`; anything else is a DataError naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(str(path), f"cannot read lm_eval samples: {exc.strerror or exc}") from None
    samples: dict[str, Sample] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
            doc = row["doc"]
            sample = Sample(
                doc["id"],
                doc["tier"],
                json.loads(doc["case"]),
                row["filtered_resps"][0],
                dict(row["arguments"]["gen_args_0"]["arg_1"]),
            )
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise DataError(where, f"not a sample of a task written by `taskbench export lm-eval`: {exc!r}") from None
        if sample.case_id in samples:
            raise DataError(where, f"a second sample of case {sample.case_id!r} (run lm_eval with --repeats 1)")
        samples[sample.case_id] = sample
    if not samples:
        raise DataError(str(path), "holds no samples")
    return list(samples.values())


def _results_beside(samples_path: Path) -> dict[str, Any] | None:
    """lm_eval's results_<time>.json written with samples_<task>_<time>.jsonl, when it is there."""
    stamp = samples_path.stem.rpartition("_")[2]
    path = samples_path.with_name(f"results_{stamp}.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _model_args(lm_results: dict[str, Any] | None) -> dict[str, Any]:
    args = (lm_results or {}).get("config", {}).get("model_args")
    return args if isinstance(args, dict) else {}


def _served_model(model_args: dict[str, Any]) -> ServedModel | None:
    name = model_args.get("model")
    if not name:
        return None
    url = str(model_args.get("base_url", "")).removesuffix(CHAT_PATH)
    return ServedModel(str(name), (url,) if url else (), root=None, max_model_len=None, vllm_version=None)


def _settings(
    samples_path: Path, run_dir: Path, tier: str, gen_kwargs: dict[str, Any], served: ServedModel | None
) -> Settings:
    """taskbench's defaults, with what the lm_eval run used: tier, model, max_tokens, temperature, seed."""
    values = {spec.name: spec.default for spec in OPTIONS}
    values.update(tier=tier, replay=samples_path, reports_dir=run_dir.parent, run_id=run_dir.name)
    if served is not None:
        values.update(model=served.name, model_url=served.urls)
    for name, key in (("max_tokens", "max_gen_toks"), ("temperature", "temperature"), ("seed", "seed")):
        if key in gen_kwargs:
            values[name] = type(values[name])(gen_kwargs[key])
    return Settings(**values)


def _matching_cases(samples: list[Sample], dataset: Dataset, samples_path: Path) -> list[Case]:
    by_id = {case.id: case for case in dataset.cases}
    cases = []
    for sample in samples:
        case = by_id.get(sample.case_id)
        if case is None or case.to_record() != sample.case:
            raise DataError(
                str(samples_path),
                f"case {sample.case_id!r} differs from the {sample.tier} tier's: the task was exported from another "
                "version of the benchmark; export it again and rerun lm_eval",
            )
        cases.append(case)
    return cases


def import_samples(samples_path: Path, run_dir: Path) -> Results:
    """Build taskbench's run folder from lm_eval samples; returns the results dict written to results.json."""
    started = time.perf_counter()
    samples = read_samples(samples_path)
    tiers = sorted({sample.tier for sample in samples})
    if len(tiers) != 1:
        raise DataError(str(samples_path), f"samples from several tiers: {', '.join(tiers)}")
    capabilities = load_capability_config()
    dataset = load_tier(tiers[0], capabilities)
    cases = _matching_cases(samples, dataset, samples_path)

    answers = {s.case_id: Answer(s.output, UNKNOWN_FINISH_REASON, 0, 0, 0.0) for s in samples}
    records = {
        case.id: item_record(
            case, answers[case.id], score_case(case.to_record(), answers[case.id].text, capabilities.field_weights)
        )
        for case in cases
    }
    served = _served_model(_model_args(_results_beside(samples_path)))
    model = None if served is None else model_record(served)
    collected = Collected(
        run_id=run_dir.name,
        settings=_settings(samples_path, run_dir, tiers[0], samples[0].gen_kwargs, served),
        capabilities=capabilities,
        dataset=dataset,
        model=model,
        generation=GenerationReport(len(samples), len(samples), 0, 0, time.perf_counter() - started),
        selected_cases=list(records),
        records=records,
    )
    # Not started: the reports are written in this process, which has nothing else to do meanwhile.
    writer = ReportWriter(lambda line: print(line, file=sys.stderr))
    try:
        results, _ = finish_run(collected, run_dir, writer)
    finally:
        writer.close()
    save_answers(run_dir, answers)
    write_served(run_dir, None, model)
    return results
