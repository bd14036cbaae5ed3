"""taskbench's exceptions.

TaskbenchError                  base: every message names the file, item or URL at fault
├── DataError                   a fixtures file (cases, episodes, config) breaks a rule (every problem it has)
├── ModelError                  the model cannot be reached or answered badly
│   ├── ServerStartError        a spawned vLLM server did not come up
│   ├── RequestError            one request failed after its retries
│   ├── ServerGoneError         the server stopped answering mid-run
│   └── RefusedRequestsError    the server refused the first requests alike (HTTP 400/404/422): the run stops
└── ReplayError                 --replay has no stored answer for an item
"""

from __future__ import annotations

from collections.abc import Sequence


class TaskbenchError(Exception):
    """Base of every error taskbench raises on purpose."""


class DataError(TaskbenchError):
    """A fixtures file breaks a rule. `where` is `path:line` (or just the path) of the first problem; `more`
    holds the (where, problem) of every further one, so a file's problems are all reported at once, one line
    each."""

    def __init__(self, where: str, problem: str, more: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__("\n".join(f"{at}: {what}" for at, what in [(where, problem), *more]))
        self.where = where
        self.problem = problem


class ModelError(TaskbenchError):
    """The model server could not be used; the message names the URL and what was tried."""


class ServerStartError(ModelError):
    """A vLLM server spawned by taskbench did not become ready."""


class RequestError(ModelError):
    """One request still failed after its retries. `unreachable`: the last attempt found no server at all;
    `status`: the HTTP status of the last attempt, if it got one."""

    def __init__(self, message: str, *, unreachable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.status = status


class ServerGoneError(ModelError):
    """The server stopped answering mid-run; answers received before that are kept."""


class RefusedRequestsError(ModelError):
    """The first requests the server answered were all refused with the same client error (a parameter it
    rejects, an unknown model or route): every other request would be refused too."""


class ReplayError(TaskbenchError):
    """--replay found no stored answer for an item."""
