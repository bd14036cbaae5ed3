"""The response cache: one sqlite row per answer, keyed by the model's identity and the whole request.

WAL journal, so pytest-xdist workers can read while one process writes; writers wait for each other
(busy timeout) instead of failing. One connection per ResponseCache; use it from one thread at a time.

A damaged file (not a database, or malformed: found on opening, reading or writing) never stops a run: it is
moved aside under a new name (nothing is deleted), a fresh cache takes its place, and `warnings` says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Self, TypeVar

from taskbench.errors import TaskbenchError
from taskbench.model.client import Answer, Request, canonical_json
from taskbench.paths import cache_home

T = TypeVar("T")

SCHEMA_VERSION = 2
# Version 2 added the answers' tool calls and reasoning; a version 1 file gets the columns (NULL: none).
_ADDED_IN_2 = ("tool_calls TEXT", "reasoning TEXT", "reasoning_tokens INTEGER")
_COLUMNS = (
    "key, text, finish_reason, prompt_tokens, completion_tokens, latency_s, tool_calls, reasoning, reasoning_tokens"
)
_BUSY_TIMEOUT_S = 30.0
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
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


def cache_file(folder: Path | None) -> Path:
    """The response cache's file in `folder` (--cache-dir), by default <TASKBENCH_HOME>/responses."""
    return (folder or cache_home() / "responses") / "responses.sqlite"


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []  # one sentence per damaged file moved aside
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TaskbenchError(
                f"{self.path.parent}: cannot create the response cache folder: {exc.strerror or exc}"
            ) from None
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise self._cannot("open", exc) from None
            self._set_aside(exc)
        try:
            return self._connect()
        except sqlite3.Error as exc:
            raise self._cannot("open", exc) from None

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are opened explicitly, one per put_many batch.
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe for the application under WAL; only a power cut can lose the last batches.
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, SCHEMA_VERSION):
                raise TaskbenchError(
                    f"{self.path}: response cache format {version}, this taskbench reads {SCHEMA_VERSION}; "
                    "delete the file or point --cache-dir elsewhere"
                )
            # Written only when not yet current: opening a cache then changes nothing in its file.
            if version != SCHEMA_VERSION:
                with _transaction(db):
                    # Read again under the write lock: another process may have upgraded the file meanwhile.
                    if db.execute("PRAGMA user_version").fetchone()[0] == 1:
                        for column in _ADDED_IN_2:
                            db.execute(f"ALTER TABLE answers ADD COLUMN {column}")
                    db.execute(_SCHEMA)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, damage: sqlite3.Error) -> None:
        """Move the damaged file and its journal files aside under a name of their own; nothing is deleted."""
        aside = self.path.with_name(f"{self.path.name}.damaged-{dt.datetime.now():%Y%m%d-%H%M%S.%f}")
        for suffix in ("", "-wal", "-shm"):
            try:
                self.path.with_name(self.path.name + suffix).rename(aside.with_name(aside.name + suffix))
            except FileNotFoundError:
                pass  # no such journal file, or another process has moved the damaged file aside already
            except OSError as exc:
                raise TaskbenchError(
                    f"{self.path}: the response cache is damaged ({damage}) and cannot be moved aside: "
                    f"{exc.strerror or exc}"
                ) from None
        self.warnings.append(
            f"the response cache {self.path} was damaged ({damage}): moved aside to {aside} (nothing deleted); "
            "a fresh cache was started, so the answers stored before are asked for again"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._run("count", lambda: self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    @staticmethod
    def key(identity: str, request: Request) -> str:
        """sha256 over the model identity and every field of the request."""
        material = canonical_json([identity, *(getattr(request, f.name) for f in fields(request))])
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str) -> Answer | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Answer]:
        wanted = list(dict.fromkeys(keys))

        def read() -> dict[str, Answer]:
            found: dict[str, Answer] = {}
            for start in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[start : start + _KEYS_PER_QUERY]
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM answers WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((key, Answer(*values)) for key, *values in rows)
            return found

        return self._run("read", read)

    def put_many(self, items: Iterable[tuple[str, Answer]]) -> None:
        """Store (or replace) a batch of answers in one transaction: all of them or, on error, none."""
        now = time.time()
        rows = [
            (key, a.text, a.finish_reason, a.prompt_tokens, a.completion_tokens, a.latency_s,
             a.tool_calls, a.reasoning, a.reasoning_tokens, now)
            for key, a in items
        ]  # fmt: skip

        def write() -> None:
            with _transaction(self._db):
                self._db.executemany(
                    f"INSERT OR REPLACE INTO answers ({_COLUMNS}, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

        self._run("write", write)

    def close(self) -> None:
        self._db.close()

    def _run(self, doing: str, operation: Callable[[], T]) -> T:
        """`operation` on the database; if the file turns out damaged, once more on a fresh one."""
        try:
            return operation()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise self._cannot(doing, exc) from None
            self._db.close()
            self._set_aside(exc)
        self._db = self._open()
        try:
            return operation()
        except sqlite3.Error as exc:
            raise self._cannot(doing, exc) from None

    def _cannot(self, doing: str, error: sqlite3.Error) -> TaskbenchError:
        return TaskbenchError(f"{self.path}: cannot {doing} the response cache ({error})")


def _damaged(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _DAMAGED


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
    # instead of one failing when it upgrades a read lock.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
