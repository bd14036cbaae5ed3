"""The loopback stand-in (tests/standin.py) in "oracle" mode: a STAND-IN, not a model. It answers each chat
request with the expected answer of the case that produced it, so every item is scored in full and passes,
and a benchmark against it measures the harness alone (no inference).

    python benchmarks/oracle_standin.py --port 0 --cases CASES.jsonl    # prints "listening on http://..."
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import standin  # noqa: E402  (tests/ is not a package)
from bench import read_cases, requests_for  # noqa: E402

from taskbench.data.cases import Case  # noqa: E402
from taskbench.model.prompts import answer_json  # noqa: E402

SERVED_NAME = "standin"  # tests/standin.py's default model name
Messages = tuple[tuple[str, str], ...]


def oracle_answers(cases: Sequence[Case]) -> dict[Messages, str]:
    """The expected answer's text by the exact messages taskbench sends for the case."""
    requests = requests_for(cases)
    return {requests[case.id].messages: answer_json(case.expected) for case in cases}


@contextlib.contextmanager
def oracle_process(cases_file: Path) -> Iterator[str]:
    """Run the oracle stand-in in its own process (its own core); yields its URL, kills it on exit."""
    command = [sys.executable, __file__, "--port", "0", "--cases", str(cases_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the oracle stand-in did not start: {line!r}")
        yield line.removeprefix("listening on ").strip()
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, required=True, help="JSONL case file whose expected answers to give")
    args, rest = parser.parse_known_args()
    answers = oracle_answers(read_cases(args.cases))
    echo = standin.answer_for

    def answer_for(body: dict[str, Any]) -> dict[str, Any]:
        completion = echo(body)
        text = answers.get(tuple((m["role"], m["content"]) for m in body["messages"]))
        if text is not None:
            completion["choices"][0]["message"]["content"] = text
        return completion

    # StandIn looks answer_for up in its module on every request.
    standin.answer_for = answer_for
    standin.main(rest)


if __name__ == "__main__":
    main()
