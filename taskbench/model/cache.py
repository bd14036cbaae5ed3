"""The response cache: one sqlite row per answer, keyed by the model's identity and the whole request.

WAL journal, so pytest-xdist workers can read while one process writes; writers wait for each other
(busy timeout) instead of failing. One connection per ResponseCache; use it from one thread at a time.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Self

from taskbench.errors import TaskbenchError
from taskbench.model.client import Answer, Request, canonical_json

SCHEMA_VERSION = 2
# Version 2 added the answers' tool calls and reasoning; a version 1 file gets the columns (NULL: none).
_ADDED_IN_2 = ("tool_calls TEXT", "reasoning TEXT", "reasoning_tokens INTEGER")
_COLUMNS = (
    "key, text, finish_reason, prompt_tokens, completion_tokens, latency_s, tool_calls, reasoning, reasoning_tokens"
)
_BUSY_TIMEOUT_S = 30.0
_KEYS_PER_QUERY = 500  # below sqlite's limit on bound parameters in one statement
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    stored_at REAL NOT NULL,
    tool_calls TEXT,
    reasoning TEXT,
    reasoning_tokens INTEGER
) WITHOUT ROWID
"""


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly, one per put_many batch.
            self._db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise TaskbenchError(f"{self.path}: cannot open the response cache: {exc}") from None
        with self._errors("open"):
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe for the application under WAL; only a power cut can lose the last batches.
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, SCHEMA_VERSION):
                raise TaskbenchError(
                    f"{self.path}: response cache format {version}, this taskbench reads {SCHEMA_VERSION}; "
                    "delete the file or point --cache-dir elsewhere"
                )
            with self._transaction():
                # Read again under the write lock: another process may have upgraded the file meanwhile.
                if self._db.execute("PRAGMA user_version").fetchone()[0] == 1:
                    for column in _ADDED_IN_2:
                        self._db.execute(f"ALTER TABLE answers ADD COLUMN {column}")
                self._db.execute(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        with self._errors("count"):
            return self._db.execute("SELECT count(*) FROM answers").fetchone()[0]

    @staticmethod
    def key(identity: str, request: Request) -> str:
        """sha256 over the model identity and every field of the request."""
        material = canonical_json([identity, *(getattr(request, f.name) for f in fields(request))])
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str) -> Answer | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Answer]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Answer] = {}
        with self._errors("read"):
            for start in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[start : start + _KEYS_PER_QUERY]
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM answers WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((key, Answer(*values)) for key, *values in rows)
        return found

    def put_many(self, items: Iterable[tuple[str, Answer]]) -> None:
        """Store (or replace) a batch of answers in one transaction: all of them or, on error, none."""
        now = time.time()
        rows = (
            (key, a.text, a.finish_reason, a.prompt_tokens, a.completion_tokens, a.latency_s,
             a.tool_calls, a.reasoning, a.reasoning_tokens, now)
            for key, a in items
        )  # fmt: skip
        with self._errors("write"), self._transaction():
            self._db.executemany(
                f"INSERT OR REPLACE INTO answers ({_COLUMNS}, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
        # instead of one failing when it upgrades a read lock.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise TaskbenchError(
                f"{self.path}: cannot {doing} the response cache ({exc}); if the file is damaged, delete it"
            ) from None
