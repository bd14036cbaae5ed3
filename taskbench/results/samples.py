"""results["samples"]: how consistent the model is when each case is answered K times (`--samples K`).

pass@1 is the chance that one attempt passes (the mean of c/n); pass^k, tau-bench's measure, the chance that
k fresh attempts all pass, estimated without bias per case as C(c,k)/C(n,k) (taskbench.results.stats). A model that
passes a case only sometimes has pass^k well below pass@1. Episodes form their own group, "episodes".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from taskbench.data.capabilities import LEVELS
from taskbench.results import stats

EPISODES_GROUP = "episodes"


def sample_counts(record: Mapping[str, Any]) -> tuple[int, int]:
    """(samples, samples passed) of a case or episode record."""
    if "samples" not in record:
        raise ValueError(f"{record['id']}: no samples, though the run asked for several per case")
    samples = record["samples"]
    return len(samples), sum(1 for sample in samples if sample["passed"])


def samples_section(
    case_records: Sequence[Mapping[str, Any]], episode_records: Sequence[Mapping[str, Any]], k: int
) -> dict[str, Any] | None:
    """pass@1 and pass^k overall, per capability (episodes as one) and per level; None when k == 1.

    Every record must carry at least k samples (ValueError naming it otherwise)."""
    if k == 1:
        return None
    units = [(record, record["capability"]) for record in case_records]
    units += [(record, EPISODES_GROUP) for record in episode_records]
    at_1: dict[tuple[str, str], list[float]] = defaultdict(list)
    hat_k: dict[tuple[str, str], list[float]] = defaultdict(list)
    changing: list[dict[str, Any]] = []
    for record, group in units:
        n, c = sample_counts(record)
        if n < k:
            raise ValueError(f"{record['id']}: {n} samples, fewer than k={k}")
        if 0 < c < n:
            changing.append({"id": record["id"], "samples": n, "passed": c})
        for key in (("overall", ""), ("by_capability", group), ("by_level", record["level"])):
            at_1[key].append(stats.pass_at_k(n, c, 1))
            hat_k[key].append(stats.pass_hat_k(n, c, k))
    capabilities = sorted({group for _, group in units} - {EPISODES_GROUP})
    if any(group == EPISODES_GROUP for _, group in units):
        capabilities.append(EPISODES_GROUP)
    levels = [level for level in LEVELS if ("by_level", level) in at_1]

    def table(values: Mapping[tuple[str, str], list[float]], reduce: Callable[[list[float]], Any]) -> dict[str, Any]:
        return {
            "overall": reduce(values.get(("overall", ""), [])),
            "by_capability": {name: reduce(values[("by_capability", name)]) for name in capabilities},
            "by_level": {level: reduce(values[("by_level", level)]) for level in levels},
        }

    return {
        "k": k,
        "n": table(at_1, len),
        "pass_at_1": table(at_1, _mean),
        "pass_hat_k": table(hat_k, _mean),
        "changing": sorted(changing, key=lambda row: row["id"]),
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
