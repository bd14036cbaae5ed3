"""taskbench's exceptions.

TaskbenchError                  base: every message names the file, item or URL at fault
├── DataError                   a fixtures file (cases, episodes, config) breaks a rule
├── ModelError                  the model cannot be reached or answered badly
│   ├── ServerStartError        a spawned vLLM server did not come up
│   └── RequestError            one request failed after its retries
└── ReplayError                 --replay has no stored answer for an item
"""

from __future__ import annotations


class TaskbenchError(Exception):
    """Base of every error taskbench raises on purpose."""


class DataError(TaskbenchError):
    """A fixtures file breaks a rule. `where` is `path:line` (or just the path)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class ModelError(TaskbenchError):
    """The model server could not be used; the message names the URL and what was tried."""


class ServerStartError(ModelError):
    """A vLLM server spawned by taskbench did not become ready."""


class RequestError(ModelError):
    """One request still failed after its retries. `unreachable`: the last attempt found no server at all."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class ServerGoneError(ModelError):
    """The server stopped answering mid-run; answers received before that are kept."""


class ReplayError(TaskbenchError):
    """--replay found no stored answer for an item."""
