"""items.csv and items.parquet: one row per scored item, for pandas, spreadsheets and notebooks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

ITEMS_CSV = "items.csv"
ITEMS_PARQUET = "items.parquet"
_SCALARS = frozenset({str, int, float, bool})
_NESTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with options builds one per call
# results.json's item order; keys an item adds beyond these follow them.
ITEM_COLUMNS = (
    "id",
    "capability",
    "level",
    "template",
    "input",
    "reference_date",
    "expected",
    "output",
    "score",
    "passed",
    "failure",
    "safety",
    "explanation",
    "details",
    "finish_reason",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
)


def items_frame(items: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Items as a flat table: nested values (expected, details) become JSON strings."""
    extra = sorted({key for item in items for key in item} - set(ITEM_COLUMNS))
    columns = [*ITEM_COLUMNS, *extra]
    rows = [[_flat(item.get(column)) for column in columns] for item in items]
    return pd.DataFrame(rows, columns=columns)


def write_tables(run_dir: Path, items: Sequence[Mapping[str, Any]]) -> list[Path]:
    frame = items_frame(items)
    csv_path, parquet_path = run_dir / ITEMS_CSV, run_dir / ITEMS_PARQUET
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False, engine="pyarrow")
    return [csv_path, parquet_path]


def _flat(value: Any) -> Any:
    if value is None or type(value) in _SCALARS:  # most cells; skips the slower abstract-class check
        return value
    if isinstance(value, Mapping | list | tuple):
        return _NESTED.encode(value)
    return value
