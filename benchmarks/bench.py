"""What benchmarks/throughput.py and benchmarks/ceiling.py share: the workload (cases and the exact requests
taskbench sends), raw HTTP clients to compare with, pytest runs with wall time and peak RSS, the table."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from phases import MARKS

from taskbench.data.cases import Case
from taskbench.model.client import ClientSettings, ModelClient, Request, resolve_model
from taskbench.model.generation import generate
from taskbench.model.session import build_request
from taskbench.options import OPTIONS, Settings
from taskbench.paths import tier_path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
CHAT_PATH = "/v1/chat/completions"
HARNESS_CONCURRENCY = 256  # taskbench's --concurrency default: the raw clients get the same pool
PYTEST_QUIET = ("-q", "-p", "no:cacheprovider", "-p", "phases")
# The case items alone, which the targets are set on: fuzzing and episodes make requests of their own, which
# the stand-in's oracle cannot answer and a replay does not hold.
CASE_EVALS = ("evals/", "--ignore=evals/test_fuzz.py", "--ignore=evals/test_episodes.py")
# Both of taskbench's entry points, so a baseline suite loads none of taskbench (nor what it imports).
WITHOUT_TASKBENCH = ("-p", "no:taskbench", "-p", "no:taskbench-gate")


# --- the workload -----------------------------------------------------------------------------------------


def default_settings() -> Settings:
    """taskbench's settings with every option at its default: what `pytest evals/` sends unless told otherwise."""
    return Settings(**{spec.name: spec.default for spec in OPTIONS})


def read_cases(path: Path) -> list[Case]:
    """The cases of a JSONL file, unvalidated (the full tier, or files the benchmarks wrote themselves)."""
    return [Case(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def full_tier() -> list[Case]:
    return read_cases(tier_path("full"))


def copies(cases: Sequence[Case], n: int, *, distinct_requests: bool) -> list[Case]:
    """`n` cases cycling through `cases`, re-id'd `-rK` per round. With `distinct_requests` each round's input
    gains a marker, so every case is its own request (taskbench sends identical requests once)."""
    out = []
    for index in range(n):
        round_, case = divmod(index, len(cases))
        base = cases[case]
        text = f"{base.input} (round {round_})" if distinct_requests and round_ else base.input
        out.append(replace(base, id=f"{base.id}-r{round_}", input=text))
    return out


def write_cases(path: Path, cases: Sequence[Case]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case.to_record(), ensure_ascii=False) + "\n")
    return path


def requests_for(cases: Sequence[Case]) -> dict[str, Request]:
    """What taskbench sends for each case with default settings, by case id."""
    settings = default_settings()
    return {case.id: build_request(case, settings) for case in cases}


def bodies_for(requests: dict[str, Request], model: str) -> list[bytes]:
    return [json.dumps(request.payload(model), ensure_ascii=False).encode() for request in requests.values()]


# --- clients, all requests in flight at once ------------------------------------------------------------


async def _all_at_once(one: Callable[[Any], Awaitable[str]], inputs: Sequence[Any]) -> float:
    """Seconds until every request has its answer text, all of them started at once."""
    started = time.perf_counter()
    texts = await asyncio.gather(*(one(item) for item in inputs))
    seconds = time.perf_counter() - started
    if not all(isinstance(text, str) for text in texts):
        raise RuntimeError("a raw client got an answer with no text")
    return seconds


async def raw_aiohttp(url: str, bodies: Sequence[bytes], pool: int) -> float:
    """A plain aiohttp loop: every request started at once, `pool` connections (0: one per request)."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=pool), headers={"Content-Type": "application/json"}
    ) as session:

        async def one(body: bytes) -> str:
            async with session.post(url + CHAT_PATH, data=body) as response:
                response.raise_for_status()
                return json.loads(await response.read())["choices"][0]["message"]["content"]

        return await _all_at_once(one, bodies)


async def raw_httpx(url: str, bodies: Sequence[bytes], pool: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=pool or None, max_keepalive_connections=pool or None)
    async with httpx.AsyncClient(limits=limits, timeout=600) as client:

        async def one(body: bytes) -> str:
            response = await client.post(url + CHAT_PATH, content=body, headers={"Content-Type": "application/json"})
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]

        return await _all_at_once(one, bodies)


async def raw_openai(url: str, bodies: Sequence[bytes], pool: int) -> float:
    import httpx2  # openai's own fork of httpx
    import openai

    limits = httpx2.Limits(max_connections=pool or None, max_keepalive_connections=pool or None)
    client = openai.AsyncOpenAI(
        base_url=url + "/v1",
        api_key="unused",
        max_retries=0,
        timeout=600,
        http_client=openai.DefaultAsyncHttpxClient(limits=limits),
    )
    payloads = [json.loads(body) for body in bodies]
    async with client:

        async def one(payload: dict[str, Any]) -> str:
            completion = await client.chat.completions.create(**payload)
            return completion.choices[0].message.content or ""

        return await _all_at_once(one, payloads)


async def taskbench_generation(url: str, requests: dict[str, Request], concurrency: int) -> float:
    """taskbench's own path: resolve the model, then generation.generate through ModelClient, no cache."""
    settings = ClientSettings(concurrency=concurrency)
    served = await resolve_model([url], None, settings)
    async with ModelClient(served, settings) as client:
        started = time.perf_counter()
        answers, report = await generate(requests, client, None, served.identity(), concurrency)
        seconds = time.perf_counter() - started
    if report.failed:
        raise RuntimeError(f"{report.failed} of {len(answers)} requests failed")
    return seconds


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def timed(client: Callable[..., Awaitable[float]], *args: Any) -> float:
    return asyncio.run(client(*args))


# --- pytest as a user runs it ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PytestRun:
    seconds: float  # wall time of the whole process, as the user waits for it
    cpu_seconds: float  # user + system: steadier than wall time on a loaded machine
    peak_rss_mb: float
    returncode: int
    output: str
    phases: dict[str, float]  # seconds per phase, from benchmarks/phases.py
    cpu_phases: dict[str, float]  # CPU seconds per phase

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_pytest(args: Sequence[str], cwd: Path = ROOT, *, env: dict[str, str] | None = None) -> PytestRun:
    """`python -m pytest ARGS` in `cwd`; wall time, CPU time and the peak RSS of that one process (wait4).

    PYTHONDONTWRITEBYTECODE is dropped, as on a usual machine: with it, pytest re-rewrites the asserts of every
    plugin module on each run (about a second here), which is not what a user waits for."""
    with tempfile.TemporaryDirectory() as scratch:
        phases_file = Path(scratch) / "phases.json"
        log = Path(scratch) / "output.txt"
        environment = {
            **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
            **(env or {}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCHMARKS), os.environ.get("PYTHONPATH")])),
            "TASKBENCH_BENCH_PHASES": str(phases_file),
        }
        with log.open("wb") as output:
            spawned, started = time.time(), time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", *args], cwd=cwd, env=environment, stdout=output, stderr=output
            )
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        marks = json.loads(phases_file.read_text()) if phases_file.is_file() else {}
        cpu_seconds = usage.ru_utime + usage.ru_stime
        # Linux reports ru_maxrss in KiB.
        return PytestRun(
            seconds,
            cpu_seconds,
            usage.ru_maxrss / 1024,
            process.returncode,
            log.read_text(errors="replace"),
            _phases({"spawn": spawned, **{name: wall for name, (wall, _) in marks.items()}, "exit": spawned + seconds}),
            _phases({"spawn": 0.0, **{name: cpu for name, (_, cpu) in marks.items()}, "exit": cpu_seconds}),
        )


def _phases(marks: dict[str, float]) -> dict[str, float]:
    """Seconds between consecutive marks of benchmarks/phases.py, for the phases whose both ends were seen."""
    order = ("spawn", *MARKS, "exit")
    names = ("start-up", "collection", "generation", "items", "finish", "exit")
    return {
        name: marks[end] - marks[begin]
        for name, begin, end in zip(names, order[:-1], order[1:], strict=True)
        if begin in marks and end in marks
    }


def latest_results(reports_dir: Path) -> dict[str, Any]:
    return json.loads((reports_dir / "latest" / "results.json").read_text(encoding="utf-8"))


def write_bare_suite(folder: Path, n: int) -> Path:
    """A pytest file of `n` trivial parametrized items: pytest's own cost per item."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test_bare.py"
    path.write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('i', range({n}))\ndef test_item(i):\n    assert i >= 0\n"
    )
    return path


# --- the report -----------------------------------------------------------------------------------------


def load_average() -> float:
    return os.getloadavg()[0]


def flag(value: float, target: float, *, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    return "met" if met else "MISSED"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table (pastes into the README as it is)."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def phase_line(run: PytestRun) -> str:
    return ", ".join(
        f"{name} {seconds:.1f} s (CPU {run.cpu_phases.get(name, 0.0):.1f})" for name, seconds in run.phases.items()
    )
