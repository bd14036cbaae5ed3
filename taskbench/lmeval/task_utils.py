"""utils.py of an exported taskbench task for lm-evaluation-harness: `taskbench export lm-eval` copies this file
beside the task's YAML, which names these functions with `!function utils.NAME`.

Scoring is taskbench's own (taskbench.lmeval.metrics calls taskbench.scorers.score_case), so taskbench must be installed
in the environment lm_eval runs in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lm_eval.api.samplers import ContextSampler

from taskbench.lmeval.metrics import capability_mean, process_results, weighted_score

__all__ = ["HistorySampler", "capability_mean", "process_results", "weighted_score"]


class HistorySampler(ContextSampler):
    """The "few-shot examples" of a document are its own earlier turns, so lm_eval (with --apply_chat_template,
    which keeps few-shot examples as separate turns) sends them as user/assistant messages between the system
    prompt and the request, exactly as taskbench does. Needs `fewshot_split` equal to `test_split` (lm_eval
    then passes the document being evaluated) and any `num_fewshot` above 0 (the count itself is ignored)."""

    def sample(
        self, n: int, eval_doc: dict[str, Any] | None = None, df: Sequence[dict[str, Any]] | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        if eval_doc is None:
            raise ValueError("HistorySampler needs the evaluated document: set fewshot_split to the test split")
        return [{"input": turn["input"], "target": turn["target"]} for turn in eval_doc["history"]]
