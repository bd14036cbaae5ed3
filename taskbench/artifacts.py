"""The run folder: the name of every file a run leaves there, and the one reader and writer of each of
answers.jsonl, served.json and results.json.

    reports/<run id>/
      answers.jsonl       every answer generated (or replayed) for the run, one line per answer key
      served.json         the model the run used: what a pytest-xdist worker and a later --replay read
      results.json        the run's results (schema: fixtures/schema/results.schema.json); reports/latest links here
      vllm.log            the output of a vLLM server taskbench spawned
      live-model-wanted   left by a pytest-xdist worker whose items ask for the live model
      summary.md, report.html, items.csv, items.parquet   the reports (taskbench.reports)
      gate.json, gate.md  the gate's verdict (taskbench.gate)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from taskbench.errors import ModelError, RequestError, TaskbenchError
from taskbench.model.client import Answer, ServedModel
from taskbench.paths import SCHEMA_DIR

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

    from taskbench.results.build import Results

ANSWERS_FILE = "answers.jsonl"
SERVED_FILE = "served.json"
RESULTS_FILE = "results.json"
LATEST_LINK = "latest"
VLLM_LOG = "vllm.log"
LIVE_MODEL_WANTED = "live-model-wanted"
SUMMARY_MD = "summary.md"
REPORT_HTML = "report.html"
ITEMS_CSV = "items.csv"
ITEMS_PARQUET = "items.parquet"
GATE_JSON = "gate.json"
GATE_MD = "gate.md"

RESULTS_SCHEMA = SCHEMA_DIR / "results.schema.json"
# Rows checked against the schema per list (items, errors, episodes): every row is built by one function
# (taskbench.scoring), and checking all 10,000 of a large run costs ~1.4 s, a fifth of its replay.
CHECKED_ROWS = 100
_ROW_LISTS = frozenset({"items", "errors"})
_ROW = json.JSONEncoder(ensure_ascii=False)  # json.dumps with options builds an encoder per call


def new_run_id() -> str:
    """A run folder's name: the UTC time it started, and a random suffix for runs started together."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class ModelRecord(TypedDict):
    """The model a run's answers came from, as results.json and served.json hold it."""

    name: str
    urls: list[str]
    root: str | None
    max_model_len: int | None
    vllm_version: str | None
    server_args: list[str]  # the flags of a server taskbench started ([] for one it did not)
    identity: str


def model_record(served: ServedModel) -> ModelRecord:
    return {
        "name": served.name,
        "urls": list(served.urls),
        "root": served.root,
        "max_model_len": served.max_model_len,
        "vllm_version": served.vllm_version,
        "server_args": list(served.server_args),
        "identity": served.identity(),
    }


def save_answers(run_dir: Path, answers: Mapping[str, Answer | RequestError | ModelError]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / ANSWERS_FILE
    with path.open("w", encoding="utf-8") as out:
        for key, answer in answers.items():
            if isinstance(answer, Answer):
                row: dict[str, Any] = {"id": key, "answer": vars(answer)}  # asdict deep-copies: 2.5x slower
            else:
                row = {"id": key, "error": str(answer)}
            out.write(_ROW.encode(row) + "\n")
    return path


def load_answers(path: Path) -> dict[str, Answer | ModelError]:
    """The answers of an answers.jsonl by key; an answer that failed is the ModelError it failed with."""
    answers: dict[str, Answer | ModelError] = {}
    # split("\n"), not splitlines(): a model's text may hold U+2028 or U+0085, which JSON leaves raw.
    for row in _rows(path.read_text(encoding="utf-8").split("\n")):
        answers[row["id"]] = Answer(**row["answer"]) if "answer" in row else ModelError(row["error"])
    return answers


def _rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    return (json.loads(line) for line in lines if line.strip())


@dataclasses.dataclass(frozen=True)
class Served:
    """served.json: the server to send live requests to (None under --replay: the response cache answers)
    and the record of the model the answers came from (None when no run says which)."""

    served: ServedModel | None
    model: ModelRecord | None

    @property
    def identity(self) -> str:
        """What the response cache keys answers on ("" when the model is unknown)."""
        return "" if self.model is None else self.model["identity"]


def write_served(run_dir: Path, served: ServedModel | None, model: ModelRecord | None) -> None:
    record = {"served": None if served is None else dataclasses.asdict(served), "model": model}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SERVED_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def read_served(run_dir: Path) -> Served:
    path = run_dir / SERVED_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing: the controller did not open the model for this run")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        served = record["served"]
        if served is not None:
            served = ServedModel(
                **{**served, "urls": tuple(served["urls"]), "server_args": tuple(served.get("server_args", ()))}
            )
        return Served(served, record.get("model"))  # folders of older versions hold no model record
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: not a served.json written by this version of taskbench ({exc!r})") from None


def results_chunks(results: Mapping[str, Any]) -> Iterator[str]:
    """results.json's text, piece by piece: indented, except that each item and error is one line.

    Indenting switches json to its pure-Python encoder, about 4x slower on the items; a line per row keeps the
    C encoder and makes the file easy to grep and diff. Written in pieces, a 10,000-item run never holds the
    whole text (tens of MB) at once.
    """
    if not results:
        yield "{}"
        return
    separator = "{\n"
    for key, value in results.items():
        yield f"{separator} {json.dumps(key)}: "
        separator = ",\n"
        if key in _ROW_LISTS and value:
            yield "[\n  "
            for index, row in enumerate(value):
                yield (",\n  " if index else "") + _ROW.encode(row)
            yield "\n ]"
        else:
            # JSON text holds no raw newline inside a string, so this only re-indents.
            yield json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n ")
    yield "\n}"


@functools.cache
def _results_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(RESULTS_SCHEMA.read_text(encoding="utf-8")))


def schema_problems(results: Mapping[str, Any]) -> list[str]:
    """Where `results` breaks results.schema.json (the first CHECKED_ROWS rows of each list are checked)."""
    checked = {key: _head(value) if key in _ROW_LISTS else value for key, value in results.items()}
    episodes = results.get("episodes")
    if isinstance(episodes, Mapping):
        checked["episodes"] = {key: _head(value) for key, value in episodes.items()}
    # Through JSON, as a reader sees it: tuples become lists.
    document = json.loads(json.dumps(checked, ensure_ascii=False))
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in _results_validator().iter_errors(document)
    ]


def _head(value: Any) -> Any:
    return value[:CHECKED_ROWS] if isinstance(value, list) else value


def write_results(run_dir: Path, results: Results) -> Path:
    """Write <run_dir>/results.json and point the `latest` link beside it at the run folder. Results that
    break the schema are a bug of taskbench's: the file is written all the same (it is the run's only
    record) and a TaskbenchError names the first problems."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.writelines(results_chunks(results))
    tmp.replace(path)
    latest = run_dir.parent / LATEST_LINK
    tmp_link = run_dir.parent / f".latest-{run_dir.name}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(run_dir.name)
    os.replace(tmp_link, latest)
    problems = schema_problems(results)
    if problems:
        raise TaskbenchError(f"{path}: breaks {RESULTS_SCHEMA.name} (a taskbench bug): {'; '.join(problems[:3])}")
    return path


def results_path(source: Path) -> Path:
    """The results.json of `source`: a run folder, or the file itself."""
    return source / RESULTS_FILE if source.is_dir() else source


def load_results(source: Path) -> Results:
    """The results of a run folder or of a results.json; a TaskbenchError naming the file if it is not one."""
    path = results_path(source)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaskbenchError(f"{path}: cannot read the results: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise TaskbenchError(f"{path}: not a results.json (invalid JSON: {exc})") from None
    if not isinstance(results, dict) or not isinstance(results.get("items"), list):
        raise TaskbenchError(f"{path}: not a results.json (no items list)")
    return results  # type: ignore[return-value]
