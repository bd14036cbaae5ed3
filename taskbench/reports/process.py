"""The reports of a run (summary.md, report.html, items.csv, items.parquet) are written by a process of their
own, started once the run's answers are generated: importing matplotlib, pandas and pyarrow (~0.6 s) then
happens while the items run, on another core, and the rendering overlaps results.json being written instead
of following it. On a 10,000-item replay the run's session end drops from 1.4 s to ~0.9 s (benchmarks/ceiling.py).

The process is `python -m taskbench.reports.process`, fed the finished results as one pickle on its stdin; it
answers with the paths it wrote on its stdout. A plain subprocess rather than a multiprocessing pool: `spawn`
re-imports the `__main__` of whoever called pytest.main(), which runs an unguarded script's pytest again.
A process that cannot start, dies or fails only moves the writing back into the run's own process (said on
the terminal, with the process's last words), so a run never ends without its reports.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any


def main() -> int:
    import pyarrow

    from taskbench.reports.html import warm_up
    from taskbench.reports.write import write_reports  # matplotlib, jinja2, pyarrow: loaded before the results come

    warm_up()
    pyarrow.array([0])  # pyarrow imports pandas on its first conversion of Python values
    try:
        run_dir, results = pickle.load(sys.stdin.buffer)
    except EOFError:
        return 0  # the run ended without results: nothing to write
    try:
        paths = write_reports(run_dir, results)
    except Exception:
        traceback.print_exc()
        return 1
    json.dump([str(path) for path in paths], sys.stdout)
    sys.stdout.flush()
    # Every file is written and closed; the interpreter's teardown with matplotlib and pandas loaded would
    # keep the run waiting ~0.25 s more for this process's end.
    os._exit(0)


class ReportWriter:
    """One run's report process: `start()` it early, `submit()` the results once, `wait()` for the files,
    `close()` it always."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._submitted: tuple[Path, Mapping[str, Any]] | None = None

    def start(self) -> None:
        if self._process is not None:
            return
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (open for the process's life; closed by close())
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "taskbench.reports.process"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                # Out of the terminal's process group: Ctrl-C stops the run, which then still hands over
                # what it has; if the run dies instead, the closed pipe ends this process.
                start_new_session=True,
            )
        except OSError as exc:
            self._say(f"taskbench: could not start the report process ({exc}); the reports are written here")

    @property
    def pid(self) -> int | None:
        """The report process's pid; None when there is none."""
        return None if self._process is None else self._process.pid

    def submit(self, run_dir: Path, results: Mapping[str, Any]) -> None:
        self._submitted = (run_dir, results)
        if self._process is None or self._process.stdin is None:
            return
        try:
            with self._process.stdin as stdin:
                pickle.dump((run_dir, results), stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:
            pass  # it is gone; wait() says so and writes here

    def wait(self) -> list[Path]:
        """Every file written for the submitted results; written in this process if the report process failed."""
        if self._submitted is None:
            raise RuntimeError("ReportWriter.wait() before submit()")
        (run_dir, results), self._submitted = self._submitted, None
        process, self._process = self._process, None
        if process is not None and process.stdout is not None:
            with process.stdout as stdout:
                output = stdout.read()
            process.wait()
            if process.returncode == 0 and output:
                return [Path(path) for path in json.loads(output)]
            self._say(
                f"taskbench: the report process failed (exit {process.returncode}: {self._last_words()}); "
                "writing the reports here instead"
            )
        from taskbench.reports.write import write_reports

        return write_reports(run_dir, results)

    def _last_words(self) -> str:
        if self._stderr is None:
            return "no output"
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


if __name__ == "__main__":
    sys.exit(main())
