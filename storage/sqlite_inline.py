"""SQLite on the event loop's own thread, in the shape SQLAlchemy's aiosqlite dialect expects.

aiosqlite hands every call (BEGIN, each statement, each fetch, COMMIT, the pool's rollback) to a thread of its
own and back through the event loop: about 1.3 ms of CPU for a one-row transaction that sqlite3 does in
0.01 ms, which made the database the largest cost of every request. Hashi's statements on SQLite are small
(a few rows by key; stats over a year read in well under a second) and its own transactions already take
turns (storage.repository.Store), so running sqlite3 directly is cheaper than any hand-off. The one wait that
could be long, another process holding the write lock, is not slept inside SQLite (its busy timeout is 0
here): the statement is tried again after an asyncio sleep, so the loop keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# How long a statement waits for another process's write lock in all (SQLite's busy timeout elsewhere).
BUSY_TIMEOUT = 10.0
_FIRST_BACKOFF = 0.001
_MAX_BACKOFF = 0.05


def _busy(error: sqlite3.OperationalError) -> bool:
    return error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def _patiently(call: Callable[[], Any]) -> Any:
    """Runs `call`, trying again after short asyncio sleeps while another process holds the lock."""
    deadline: float | None = None
    backoff = _FIRST_BACKOFF
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + BUSY_TIMEOUT
            if now >= deadline:
                raise
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)


class InlineCursor:
    """An aiosqlite-shaped cursor over a sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        """Runs one statement."""
        cursor = self._cursor
        if parameters is None:
            await _patiently(lambda: cursor.execute(sql))
        else:
            await _patiently(lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Runs one statement for each set of parameters."""
        rows = list(parameters)
        await _patiently(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` more rows."""
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        """The rows left."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Closes the cursor."""
        self._cursor.close()

    async def setinputsizes(self, *_: Any) -> None:
        """Nothing to do for SQLite."""

    async def nextset(self) -> None:
        """SQLite has one result set."""

    @property
    def description(self) -> Any:
        """The result's columns."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The id of the last inserted row."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """fetchmany's default size."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorOpening:
    """What `connection.cursor()` returns: awaited through `async with`, as aiosqlite's is."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._connection.cursor())

    async def __aexit__(self, *_: object) -> None:
        return None


class _Immediately:
    """Stands in for aiosqlite's queue to its thread: SQLAlchemy sets the isolation level through it."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class InlineConnection:
    """An aiosqlite-shaped connection whose calls run sqlite3 at once, on the calling thread."""

    _tx = _Immediately()

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    def cursor(self) -> _CursorOpening:
        """A new cursor (entered with `async with`)."""
        return _CursorOpening(self._open())

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        """Runs one statement on a new cursor (aiosqlite's shortcut)."""
        return await InlineCursor(self._open().cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        """Commits the transaction."""
        connection = self._open()
        await _patiently(connection.commit)

    async def rollback(self) -> None:
        """Rolls the transaction back."""
        self._open().rollback()

    async def close(self) -> None:
        """Closes the connection (again: nothing)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Closes the connection at once (SQLAlchemy's terminate)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Registers an SQL function (SQLAlchemy's regexp)."""
        self._open().create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        """sqlite3's isolation level."""
        return self._open().isolation_level

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""
        return self._open().in_transaction


def begin_at_once(connection: Any) -> bool:
    """Begins an IMMEDIATE transaction on an InlineConnection at once; False when another process holds the
    write lock (or the connection is not one of these), for the caller to begin in a way that waits."""
    if not isinstance(connection, InlineConnection):
        return False
    try:
        connection._open().execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if _busy(error):
            return False
        raise
    return True


def inline_creator(path: str, *, options: Sequence[tuple[str, Any]] = ()) -> Callable[[], Any]:
    """The `async_creator` for create_async_engine: opens `path` (a file name or a `file:` URI)."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(
            path, check_same_thread=False, uri=path.startswith("file:"), **dict(options)
        )
        return InlineConnection(connection)

    return connect
