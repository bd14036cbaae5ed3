"""Bad input and interrupts, as a new user meets them: one clear line, the documented exit code
(docs/exit-codes.md), no traceback, and no answer lost.

Each row of the matrix runs `pytest evals/` in a folder of its own, as a user would, on twelve dev cases, against
the session's real vLLM server (the demo model) behind tests/faultproxy.py, which counts what reaches the server
and injects the server's faults. A row asserts the exit code, the one line the user reads (once, not once per
module), no traceback and no INTERNALERROR; where nothing may be spent, that no request reached the server; and
where answers had arrived, that they are kept and that running the same command again sends only the rest.
Two more runs let taskbench start the demo model's server itself, and check that Ctrl-C and SIGTERM leave no
process of it behind.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from evalrun import PROJECT_ROOT
from faultproxy import Arrival, Fault, FaultProxy, Schedule, always, first_attempts, http_error, slow, user_text
from hypothesis import given, settings
from hypothesis import strategies as st

from taskbench.data.cases import load_cases, load_tier
from taskbench.errors import DataError, RequestError
from taskbench.exitcodes import EXIT_INFRASTRUCTURE
from taskbench.model.cache import ResponseCache, cache_file
from taskbench.model.client import CHAT_PATH, Answer
from taskbench.model.generation import REFUSED_AFTER, _Refusals
from taskbench.model.server import group_alive

pytestmark = pytest.mark.vllm

USAGE, INTERRUPTED, FAILED, OK = 4, 2, 1, 0
# Twelve dev cases, three of each of four capabilities, whose requests no other case shares: requests sent is
# answers wanted.
_DEV = load_tier("dev").cases
_UNIQUE = [c for c in _DEV if sum((o.input, o.reference_date) == (c.input, c.reference_date) for o in _DEV) == 1]
CASES = [
    case
    for capability in sorted({c.capability for c in _UNIQUE})[:4]
    for case in [c for c in _UNIQUE if c.capability == capability][:3]
]
GOOD_LINE = json.dumps(CASES[0].to_record())
RUN_ID = "row"
CONCURRENCY = "4"


def case_line(**changes: Any) -> str:
    return json.dumps({**CASES[1].to_record(), **changes})


def without(name: str) -> str:
    return json.dumps({k: v for k, v in CASES[1].to_record().items() if k != name})


@dataclass(frozen=True)
class Row:
    """One thing a user does wrong. `line`: a regex of the line they read; `sent`: the chat requests that must
    reach the server (0: nothing may be spent; None: not checked)."""

    id: str
    code: int
    line: str | None
    args: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    fault: Schedule | None = None
    sent: int | None = None


INPUT_ROWS = [
    # Case files: every line checked before anything is sent.
    Row("cases-broken-json", USAGE, r"cases\.jsonl:2: not valid JSON",
        files={"cases.jsonl": f'{GOOD_LINE}\n{{"id": "x",\n'}),
    Row("cases-missing-field", USAGE, r"cases\.jsonl:2: case '[^']+': .*'rationale' is a required property",
        files={"cases.jsonl": f"{GOOD_LINE}\n{without('rationale')}\n"}),
    Row("cases-unknown-capability", USAGE, r"cases\.jsonl:2: case '[^']+': unknown capability 'telepathy'",
        files={"cases.jsonl": f"{GOOD_LINE}\n{case_line(capability='telepathy')}\n"}),
    Row("cases-unknown-level", USAGE, r"cases\.jsonl:2: case '[^']+': level: 'nightmare' is not one of",
        files={"cases.jsonl": f"{GOOD_LINE}\n{case_line(level='nightmare')}\n"}),
    Row("cases-duplicate-id", USAGE, rf"cases\.jsonl:2: case '{CASES[0].id}': duplicate case id .* \(first on line 1\)",
        files={"cases.jsonl": f"{GOOD_LINE}\n{GOOD_LINE}\n"}),
    Row("cases-expected-breaks-schema", USAGE, r"cases\.jsonl:2: case '[^']+': expected answer breaks the contract",
        files={"cases.jsonl": f"{GOOD_LINE}\n{case_line(expected={'action': 'fly'})}\n"}),
    Row("cases-empty-file", USAGE, r"cases\.jsonl: holds no cases", files={"cases.jsonl": "\n"}),
    Row("cases-missing-file", USAGE, r"nowhere\.jsonl: no such file", args=("--cases", "nowhere.jsonl")),
    Row("cases-every-problem-at-once", USAGE, r"taskbench: 3 problems, nothing was run:",
        files={"cases.jsonl": f"{GOOD_LINE}\n{{broken\n{case_line(capability='telepathy')}\n{GOOD_LINE}\n"}),
    # Options: from the command line, the environment or pyproject.toml, each range.
    Row("temperature-negative", USAGE, r"option --temperature: invalid value '-3' \(expected at least 0, got '-3'\)",
        args=("--temperature", "-3")),
    Row("samples-zero", USAGE, r"option --samples: invalid value '0' \(expected at least 1", args=("--samples", "0")),
    Row("max-tokens-zero", USAGE, r"option --max-tokens: invalid value '0' \(expected at least 1",
        args=("--max-tokens", "0")),
    Row("concurrency-zero", USAGE, r"option --concurrency: invalid value '0' \(expected at least 1",
        args=("--concurrency", "0")),
    Row("request-timeout-zero", USAGE, r"option --request-timeout: invalid value '0' \(expected more than 0",
        args=("--request-timeout", "0")),
    Row("samples-at-temperature-zero", USAGE, r"--samples 3 at --temperature 0 is refused", args=("--samples", "3")),
    Row("options-every-problem-at-once", USAGE, r"taskbench: 3 problems, nothing was run:",
        env={"TASKBENCH_TEMPERATURE": "-1", "TASKBENCH_MAX_TOKENS": "lots"}, args=("--concurrency", "0")),
    Row("tier-unknown", USAGE, r"error: argument --tier: invalid choice: 'huge'", args=("--tier", "huge")),
    Row("answer-mode-unknown", USAGE, r"error: argument --answer-mode: invalid choice: 'xml'",
        args=("--answer-mode", "xml")),
    Row("answer-mode-unknown-in-environment", USAGE,
        r"environment variable TASKBENCH_ANSWER_MODE: 'xml' is not one of content, tools",
        env={"TASKBENCH_ANSWER_MODE": "xml"}),
    # Files the options name.
    Row("system-prompt-missing", USAGE, r"--system-prompt nowhere\.j2: no such file",
        args=("--system-prompt", "nowhere.j2")),
    Row("system-prompt-broken-syntax", USAGE, r"--system-prompt prompt\.j2:\d+: template syntax error",
        files={"prompt.j2": "Today is {{ date }}.\nTasks: {% for t in tasks %}{{ t.title }}\n"},
        args=("--system-prompt", "prompt.j2")),
    Row("system-prompt-unknown-variable", USAGE, r"--system-prompt prompt\.j2: the template does not render \('today'",
        files={"prompt.j2": "Today is {{ today }}.\n"}, args=("--system-prompt", "prompt.j2")),
    Row("replay-missing", USAGE, r"--replay reports/gone: no such file or folder", args=("--replay", "reports/gone")),
    Row("baseline-missing", USAGE, r"taskbench gate: .*nowhere\.json: cannot read the baseline: No such file",
        args=("--baseline", "nowhere.json")),
    Row("baseline-foreign", USAGE, r"taskbench gate: .*foreign\.json: not a taskbench baseline",
        files={"foreign.json": '{"results_version": 1, "items": []}'}, args=("--baseline", "foreign.json")),
    Row("cache-folder-is-a-file", USAGE, r"response cache: .*/responses: .*cache-file is a file, not a folder",
        files={"cache-file": "not a folder"}, args=("--cache-dir", "cache-file/responses")),
]  # fmt: skip


SERVER_ROWS = [
    Row("server-refuses-every-request-400", EXIT_INFRASTRUCTURE,
        rf"taskbench: the server refused the first {REFUSED_AFTER} requests it answered with the same error, so "
        r"the run stopped instead of sending the rest: POST .* HTTP 400: fault injected by the proxy",
        fault=always(http_error(400))),
    Row("server-refuses-a-few-requests-400", FAILED, r"taskbench: 12 answers: 0 from cache, 12 sent, 3 failed",
        fault=always(http_error(400), where=lambda arrival: user_text(arrival) in {c.input for c in CASES[:3]})),
    Row("server-500-storm", FAILED, r"taskbench: 12 answers: 0 from cache, 12 sent, 12 failed",
        args=("--max-retries", "1"), fault=always(http_error(500))),
    Row("server-slower-than-the-timeout", FAILED, r"taskbench: 12 answers: 0 from cache, 12 sent, 12 failed",
        args=("--request-timeout", "1", "--max-retries", "0"), fault=always(slow(5))),
    Row("server-429-then-answers", OK, r"taskbench: 12 answers: 0 from cache, 12 sent, 0 failed",
        args=("--gate-only",), fault=first_attempts(1, http_error(429)), sent=24),
    Row("server-wrong-model", EXIT_INFRASTRUCTURE, r"taskbench: .*/v1/models does not list model 'no-such-model'",
        args=("--model", "no-such-model"), sent=0),
]  # fmt: skip


# --- running a row ---------------------------------------------------------------------------------------------


@dataclass
class Counted:
    """A fault schedule that also counts the chat requests reaching the proxy."""

    schedule: Schedule | None = None
    chat: int = 0

    def __call__(self, arrival: Arrival) -> Fault | None:
        if arrival.path == CHAT_PATH:
            self.chat += 1
        return self.schedule(arrival) if self.schedule is not None else None


@dataclass
class Folder:
    """A user's folder: evals/, twelve cases, a cache of its own."""

    path: Path
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def cache(self) -> Path:
        return cache_file(self.path / "cache")

    def stored(self) -> int:
        """Answers in the folder's response cache now."""
        if not self.cache.is_file():
            return 0
        with ResponseCache(self.cache) as cache:
            return len(cache)

    @property
    def run_dir(self) -> Path:
        return self.path / "reports" / RUN_ID

    def results(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "results.json").read_text(encoding="utf-8"))

    def command(self, *args: str) -> list[str]:
        return [
            sys.executable, "-m", "pytest", "evals", "-p", "no:cacheprovider", "-m", "not fuzz and not episodes",
            "--cases", "twelve.jsonl", "--cache-dir", str(self.path / "cache"), "--run-id", RUN_ID,
            "--concurrency", CONCURRENCY, *args,
        ]  # fmt: skip

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        # Its own session, so a signal to its group is what a terminal's Ctrl-C does; SIGINT at its default, as
        # in a terminal's foreground (a background job of a shell without job control inherits it ignored).
        process = subprocess.Popen(
            self.command(*args),
            cwd=self.path,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
        )
        self.started.append(process)
        return process

    def stop_leftovers(self) -> None:
        """A run a failed test left running: SIGTERM (which also stops a server it started), then SIGKILL."""
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.communicate()

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        process = self.start(*args, env=env)
        output, _ = process.communicate(timeout=600)
        return process.returncode, output


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Folder]:
    shutil.copytree(PROJECT_ROOT / "evals", tmp_path / "evals", ignore=shutil.ignore_patterns("test_fuzz.py"))
    (tmp_path / "twelve.jsonl").write_text("".join(json.dumps(c.to_record()) + "\n" for c in CASES), encoding="utf-8")
    folder = Folder(tmp_path)
    yield folder
    folder.stop_leftovers()


def assert_reads(code: int, output: str, row_code: int, line: str | None) -> None:
    """The exit code, the line (once), and nothing a user should not have to read."""
    assert code == row_code, output[-4000:]
    for unwanted in ("Traceback", "INTERNALERROR", "During handling of the above exception", "_pytest.outcomes.Exit"):
        assert unwanted not in output, output[-4000:]
    if line is not None:
        found = [text for text in output.splitlines() if re.search(line, text)]
        assert len(found) == 1, f"{line!r} should be read once, not {len(found)} times:\n{output[-4000:]}"


def assert_rerun_sends_only_the_rest(folder: Folder, demo_server: Any, kept: int) -> None:
    """The same command again, against the healthy server: only the requests without an answer are sent."""
    assert 0 < kept < len(CASES) or kept == len(CASES)
    counted = Counted()
    with FaultProxy(demo_server.url, counted) as proxy:
        code, output = folder.run("--model-url", proxy.url)
    assert code in (OK, FAILED) and "Traceback" not in output, output[-4000:]
    assert counted.chat == len(CASES) - kept, output[-4000:]
    results = folder.results()
    assert results["generation"]["from_cache"] == kept and results["generation"]["sent"] == len(CASES) - kept
    assert results["errors"] == [] and len(results["items"]) == len(CASES)


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"pytest ended before {what}:\n{process.communicate()[0][-4000:]}")
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.02)


# --- the matrix ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", INPUT_ROWS + SERVER_ROWS, ids=lambda row: row.id)
def test_a_row_of_bad_input_reads_as_one_line_with_its_exit_code(folder: Folder, demo_server: Any, row: Row) -> None:
    for name, text in row.files.items():
        (folder.path / name).write_text(text, encoding="utf-8")
    cases = ("--cases", "cases.jsonl") if "cases.jsonl" in row.files else ()
    counted = Counted(row.fault)
    with FaultProxy(demo_server.url, counted) as proxy:
        code, output = folder.run("--model-url", proxy.url, *cases, *row.args, env=row.env)
    assert_reads(code, output, row.code, row.line)
    if row.code == USAGE:
        assert proxy.stats.arrivals == 0, "a usage error must be found before anything is sent"
    if row.sent is not None:
        assert counted.chat == row.sent, output[-4000:]
    if row.id == "server-refuses-every-request-400":
        # Stopped after REFUSED_AFTER answers, with at most the requests then in flight besides.
        assert REFUSED_AFTER <= counted.chat <= REFUSED_AFTER + int(CONCURRENCY), output[-4000:]


def test_a_read_only_cache_folder_is_one_line_and_a_usage_error(folder: Folder, demo_server: Any) -> None:
    cache_dir = folder.path / "cache"
    cache_dir.mkdir()
    with read_only(cache_dir), FaultProxy(demo_server.url) as proxy:
        code, output = folder.run("--model-url", proxy.url)
    assert_reads(code, output, USAGE, rf"response cache: {re.escape(str(cache_dir))}: cannot write in ")
    assert proxy.stats.arrivals == 0


def closed_port() -> int:
    """A port nothing listens on: one the OS just handed out and took back."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` made unwritable, for root too (whom permission bits do not stop): chattr +i where needed."""
    folder.chmod(0o555)
    immutable = os.access(folder, os.W_OK)
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        with pytest.raises(OSError):
            (folder / "probe").write_text("")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_closed_port_is_one_line_and_the_infrastructure_code(folder: Folder) -> None:
    port = closed_port()
    code, output = folder.run("--model-url", f"http://127.0.0.1:{port}")
    assert_reads(
        code, output, EXIT_INFRASTRUCTURE, rf"^!+ taskbench: GET http://127\.0\.0\.1:{port}/v1/models: cannot connect"
    )


def test_a_damaged_cache_is_moved_aside_and_the_run_goes_on(folder: Folder, demo_server: Any) -> None:
    folder.cache.parent.mkdir(parents=True)
    folder.cache.write_bytes(b"not a cache, damaged" * 50)
    counted = Counted()
    with FaultProxy(demo_server.url, counted) as proxy:
        code, output = folder.run("--model-url", proxy.url, "--gate-only")
    assert_reads(code, output, OK, r"taskbench: warning: the response cache .* was damaged \(file is not a database\)")
    (aside,) = folder.cache.parent.glob("responses.sqlite.damaged-*")
    assert aside.read_bytes() == b"not a cache, damaged" * 50
    assert str(aside) in output
    results = folder.results()
    assert [w for w in results["warnings"] if str(aside) in w]
    assert counted.chat == len(CASES) and folder.stored() == len(CASES)


def test_a_server_killed_mid_run_keeps_every_answer_and_a_rerun_sends_the_rest(
    folder: Folder, demo_server: Any
) -> None:
    proxy = FaultProxy(demo_server.url, always(slow(0.4))).__enter__()
    process = folder.start("--model-url", proxy.url, "--concurrency", "2")
    try:
        wait_for(lambda: folder.stored() >= 4, process, "four answers")
    finally:
        proxy.__exit__(None, None, None)  # the server is gone: its port refuses connections
    output, _ = process.communicate(timeout=300)
    assert_reads(process.returncode, output, EXIT_INFRASTRUCTURE, r"^!+ taskbench: the model server stopped answering")
    kept = folder.stored()
    assert kept < len(CASES)
    # The progress bar counted the answers that arrived, not the requests that found no server.
    bars = re.findall(r"generating .*?(\d+)/(\d+)", output)
    assert bars and int(bars[-1][0]) == kept, output[-3000:]
    assert_rerun_sends_only_the_rest(folder, demo_server, kept)


# --- interrupts ------------------------------------------------------------------------------------------------


def test_ctrl_c_in_generation_stops_at_once_keeps_every_answer_and_says_how_to_go_on(
    folder: Folder, demo_server: Any
) -> None:
    with FaultProxy(demo_server.url, always(slow(0.5))) as proxy:
        process = folder.start("--model-url", proxy.url, "--concurrency", "2")
        wait_for(lambda: folder.stored() >= 3, process, "three answers")
        os.killpg(process.pid, signal.SIGINT)
        interrupted = time.monotonic()
        output, _ = process.communicate(timeout=60)
        exit_s = time.monotonic() - interrupted
    kept = folder.stored()
    assert_reads(
        process.returncode,
        output,
        INTERRUPTED,
        rf"taskbench: interrupted: {kept} of {len(CASES)} answers had arrived and are kept .* `pytest .*` goes on "
        rf"from there, sending only the other {len(CASES) - kept}",
    )
    assert exit_s < 5, f"{exit_s:.1f} s from Ctrl-C to exit"
    results = folder.results()
    assert results["complete"] is False and results["generation"]["interrupted"] is True
    assert any("interrupted" in reason for reason in results["incomplete_reasons"])
    answers = (folder.run_dir / "answers.jsonl").read_text(encoding="utf-8").splitlines()
    assert sum('"answer"' in line for line in answers) == kept
    assert_rerun_sends_only_the_rest(folder, demo_server, kept)


def test_a_second_ctrl_c_exits_at_once(folder: Folder, demo_server: Any) -> None:
    # A session whose end takes long after the first Ctrl-C (as stopping a big run's servers and writing its
    # reports may): the second Ctrl-C comes while it ends, after taskbench wrote the run's results.
    ending = folder.path / "ending"
    (folder.path / "conftest.py").write_text(
        "import pathlib\nimport time\n\nimport pytest\n\n\n@pytest.hookimpl(wrapper=True)\n"
        f"def pytest_sessionfinish():\n    yield\n    pathlib.Path({str(ending)!r}).touch()\n    time.sleep(120)\n",
        encoding="utf-8",
    )
    with FaultProxy(demo_server.url, always(slow(30))) as proxy:
        process = folder.start("--model-url", proxy.url)
        wait_for(lambda: proxy.stats.arrivals > 2, process, "requests in flight")
        os.killpg(process.pid, signal.SIGINT)
        wait_for(ending.exists, process, "the session's end", timeout_s=60)
        os.killpg(process.pid, signal.SIGINT)
        interrupted = time.monotonic()
        output, _ = process.communicate(timeout=60)
    assert time.monotonic() - interrupted < 5
    assert_reads(process.returncode, output, INTERRUPTED, r"^taskbench: a second Ctrl-C: stopped at once")
    assert folder.results()["generation"]["interrupted"] is True


def test_ctrl_c_while_items_run_is_pytest_own_and_keeps_every_answer(folder: Folder, demo_server: Any) -> None:
    # Slow items, so the interrupt comes while they run.
    (folder.path / "conftest.py").write_text(
        "import time\n\nimport pytest\n\n\n@pytest.fixture(autouse=True)\ndef slowly():\n    time.sleep(0.5)\n",
        encoding="utf-8",
    )
    counted = Counted()
    with FaultProxy(demo_server.url, counted) as proxy:
        process = folder.start("--model-url", proxy.url)
        wait_for(lambda: (folder.run_dir / "answers.jsonl").is_file(), process, "the answers")
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert_reads(process.returncode, output, INTERRUPTED, r"^!+ KeyboardInterrupt !+$")
    results = folder.results()
    assert results["complete"] is False and 0 < len(results["items"]) < len(CASES)
    assert folder.stored() == len(CASES) == counted.chat
    assert_rerun_sends_only_the_rest(folder, demo_server, len(CASES))


def test_sigterm_in_generation_keeps_what_is_stored(folder: Folder, demo_server: Any) -> None:
    with FaultProxy(demo_server.url, always(slow(0.4))) as proxy:
        process = folder.start("--model-url", proxy.url, "--concurrency", "2")
        wait_for(lambda: folder.stored() >= 3, process, "three answers")
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert_reads(process.returncode, output, -signal.SIGTERM, None)
    kept = folder.stored()
    assert 3 <= kept < len(CASES)
    assert_rerun_sends_only_the_rest(folder, demo_server, kept)


def test_a_killed_xdist_worker_is_one_line_and_its_case_an_error(folder: Folder, demo_server: Any) -> None:
    victim = CASES[5].id
    (folder.path / "conftest.py").write_text(
        "import os\n\nimport pytest\n\n\n@pytest.fixture(autouse=True)\ndef die_on_one_case(request):\n"
        f"    if request.node.name.endswith('[{victim}]'):\n        os._exit(1)\n",
        encoding="utf-8",
    )
    with FaultProxy(demo_server.url) as proxy:
        code, output = folder.run("--model-url", proxy.url, "-n", "2")
    assert_reads(code, output, FAILED, r"^INCOMPLETE: worker gw\d crashed")
    results = folder.results()
    assert [error["id"] for error in results["errors"]] == [victim]
    assert folder.stored() == len(CASES)


# --- a server taskbench starts is stopped, whatever the way out --------------------------------------------------


def spawned_group(folder: Folder, process: subprocess.Popen[str]) -> int:
    """The process group of the vLLM server the run started (found by the port its log names)."""
    log = folder.run_dir / "vllm.log"
    wait_for(lambda: log.is_file() and "--port" in log.read_text(), process, "the server's command", 900)
    port = re.search(r"--port (\d+)", log.read_text()).group(1)
    found: list[int] = []

    def server_found() -> bool:
        for candidate in psutil.process_iter(["cmdline"]):
            cmdline = candidate.info["cmdline"] or []
            if "--port" in cmdline and cmdline[cmdline.index("--port") + 1] == port:
                found.append(os.getpgid(candidate.pid))
                return True
        return False

    wait_for(server_found, process, "the server's process", 120)
    return found[0]


@pytest.mark.parametrize(
    ("signals", "code"),
    [((signal.SIGINT, signal.SIGINT), INTERRUPTED), ((signal.SIGTERM,), -signal.SIGTERM)],
    ids=["ctrl-c-twice", "sigterm"],
)
def test_a_spawned_server_leaves_no_process_behind(
    folder: Folder, demo_model_dir: Path, signals: tuple[int, ...], code: int
) -> None:
    process = folder.start()  # no model option: taskbench serves the embedded demo model itself
    group = spawned_group(folder, process)
    wait_for(lambda: folder.stored() >= 1, process, "the first answer", 600)
    for number in signals:
        os.killpg(process.pid, number)
    output, _ = process.communicate(timeout=120)
    assert_reads(process.returncode, output, code, None)
    deadline = time.monotonic() + 10
    while group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(group), f"the server's process group {group} outlived the run"


# --- the checks below the matrix -------------------------------------------------------------------------------

BROKEN = {
    "json": "{broken",
    "field": without("rationale"),
    "capability": case_line(capability="telepathy"),
    "level": case_line(level="nightmare"),
    "contract": case_line(expected={"action": "fly"}),
}


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.sampled_from(["good", *BROKEN]), min_size=1, max_size=12))
def test_every_bad_line_of_a_case_file_is_reported_once_in_order(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    good = itertools.count()
    text = [
        json.dumps({**CASES[0].to_record(), "id": f"good-{next(good)}"}) if kind == "good" else BROKEN[kind]
        for kind in lines
    ]
    path = tmp_path_factory.mktemp("cases") / "cases.jsonl"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    bad = [number for number, kind in enumerate(lines, start=1) if kind != "good"]
    if not bad:
        assert len(load_cases(path).cases) == len(lines)
        return
    with pytest.raises(DataError) as raised:
        load_cases(path)
    where = re.compile(rf"{re.escape(str(path))}:(\d+): ")
    # Every broken line is named once, in file order; no good line is.
    assert [int(where.match(line).group(1)) for line in str(raised.value).splitlines()] == bad


outcomes = st.one_of(
    st.sampled_from([400, 404, 422, 429, 500, None]).map(lambda status: RequestError("failed", status=status)),
    st.just(RequestError("refused", unreachable=True)),
    st.just(Answer("{}", "stop", 1, 1, 0.1)),
)


@given(
    status=st.sampled_from([400, 404, 422, 500]),
    alike=st.integers(0, REFUSED_AFTER + 2),
    rest=st.lists(outcomes, max_size=2 * REFUSED_AFTER),
    shuffle=st.randoms(),
)
def test_generation_stops_only_when_the_first_answered_requests_are_refused_alike(
    status: int, alike: int, rest: list[Any], shuffle: Any
) -> None:
    # A run of refusals alike, then anything, shuffled a little (swaps) so the run is not always at the start.
    sequence = [RequestError("refused", status=status)] * alike + rest
    for _ in range(shuffle.randint(0, 2)):
        i, j = shuffle.randrange(len(sequence) or 1), shuffle.randrange(len(sequence) or 1)
        if sequence:
            sequence[i], sequence[j] = sequence[j], sequence[i]
    refusals = _Refusals()
    stops = [index for index, outcome in enumerate(sequence) if refusals.systematic(outcome)]
    answered = [(index, o) for index, o in enumerate(sequence) if not (isinstance(o, RequestError) and o.unreachable)]
    first = answered[:REFUSED_AFTER]
    statuses = {o.status if isinstance(o, RequestError) else None for _, o in first}
    systematic = len(first) == REFUSED_AFTER and len(statuses) == 1 and statuses <= {400, 404, 422}
    # A request that found no server was never answered: it neither counts nor breaks the run of refusals.
    assert stops == ([first[-1][0]] if systematic else [])
