"""The database engine: SQLite with persistent connections, or PostgreSQL with a pool.

Piccolo's stock ``SQLiteEngine`` opens a new aiosqlite connection (one OS thread) for
every query outside a transaction and sets no PRAGMAs. ``PortalSQLiteEngine`` keeps
connections open instead: several readers for ``SELECT``s and one writer for everything
else (single writes and all transactions), each configured by ``PragmaConnection``.
Several worker processes still coordinate through SQLite's own locks (WAL,
busy_timeout, IMMEDIATE transactions).

Both engines count the statements they run into ``query_counter`` when one is active,
which lets tests prove that a page's query count does not grow with its data.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import (
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    dict_factory,
)
from piccolo.querystring import QueryString

BUSY_TIMEOUT_MS = 5000

#: When set to a list, every statement run by the engine is appended to it.
query_counter: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "portal_query_counter", default=None
)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block (in this task and its children)."""
    statements: list[str] = []
    token = query_counter.set(statements)
    try:
        yield statements
    finally:
        query_counter.reset(token)


def _note(sql: str) -> None:
    statements = query_counter.get()
    if statements is not None:
        statements.append(sql)


class PragmaConnection(sqlite3.Connection):
    """A sqlite3 connection that configures itself before anything else runs on it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # busy_timeout first, so that switching to WAL waits for other writers.
        self.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.execute("PRAGMA journal_mode = WAL")
        self.execute("PRAGMA synchronous = FULL")
        self.execute("PRAGMA foreign_keys = ON")


class _Pool:
    """Connections of one event loop: N readers and one writer behind a lock."""

    def __init__(self, engine: PortalSQLiteEngine, readers: int) -> None:
        self.engine = engine
        self.reader_slots = asyncio.Semaphore(readers)
        self.idle_readers: list[aiosqlite.Connection] = []
        self.all: list[aiosqlite.Connection] = []
        self.writer_lock = asyncio.Lock()
        self.writer: aiosqlite.Connection | None = None

    async def connect(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.engine.connection_kwargs)
        # A forgotten pool must not keep the process alive at exit.
        connection._thread.daemon = True
        await connection
        connection.row_factory = dict_factory
        self.all.append(connection)
        return connection

    async def acquire_reader(self) -> aiosqlite.Connection:
        await self.reader_slots.acquire()
        try:
            return self.idle_readers.pop() if self.idle_readers else await self.connect()
        except BaseException:
            self.reader_slots.release()
            raise

    def release_reader(self, connection: aiosqlite.Connection) -> None:
        self.idle_readers.append(connection)
        self.reader_slots.release()

    async def writer_connection(self) -> aiosqlite.Connection:
        """The writer; the caller holds ``writer_lock``."""
        if self.writer is None:
            self.writer = await self.connect()
        return self.writer

    async def close(self) -> None:
        connections, self.all, self.idle_readers, self.writer = self.all, [], [], None
        for connection in connections:
            try:
                await connection.close()
            except Exception:  # closing is best effort: the thread ends either way
                connection.stop()


class PooledTransaction(SQLiteTransaction):
    """A transaction on the pool's writer connection, returned to the pool afterwards."""

    async def get_connection(self) -> aiosqlite.Connection:
        pool = self.engine.pool()
        await pool.writer_lock.acquire()
        self._pool = pool
        try:
            return await pool.writer_connection()
        except BaseException:
            pool.writer_lock.release()
            raise

    async def begin(self) -> None:
        _note(f"BEGIN {self.transaction_type.value}")
        await self.connection.execute(f"BEGIN {self.transaction_type.value}")

    async def __aenter__(self) -> PooledTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:
            self._pool.writer_lock.release()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            try:
                if self.connection.in_transaction:  # a failed COMMIT leaves it open
                    await self.connection.execute("ROLLBACK")
            finally:
                self.engine.current_transaction.reset(self.context)
                self._pool.writer_lock.release()
        return exception is None


class PortalSQLiteEngine(SQLiteEngine):
    """SQLite with persistent, configured connections: readers for SELECT, one writer."""

    def __init__(self, path: str, readers: int = 4, **kwargs: Any) -> None:
        kwargs.setdefault("factory", PragmaConnection)
        kwargs.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
        super().__init__(path=path, **kwargs)
        self.readers = readers
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )

    def pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _Pool(self, self.readers)
        return pool

    async def close_pool(self) -> None:
        """Close this event loop's connections (lifespan end, test teardown)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.close()

    # Piccolo calls these two seams for every statement. Each statement is one trip to
    # the connection's thread (execute_fetchall): execute, fetchall and closing the
    # cursor as three trips cost about 40 us more CPU per query (bench/profile_tab.py).

    async def get_connection(self) -> aiosqlite.Connection:
        # Only Piccolo's batch() uses this outside our transaction class.
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory
        return connection

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        _note(query)
        pool = self.pool()
        if query.lstrip().upper().startswith("SELECT"):
            connection = await pool.acquire_reader()
            try:
                return await connection.execute_fetchall(query, args or [])
            finally:
                pool.release_reader(connection)
        async with pool.writer_lock:
            connection = await pool.writer_connection()
            return await connection.execute_fetchall(query, args or [])

    async def _run_in_existing_connection(self, connection, query, args=None, query_type="generic", table=None):
        # No "PRAGMA foreign_keys" per statement: the connection set it once.
        _note(query)
        return await connection.execute_fetchall(query, args or [])

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> PooledTransaction:
        return PooledTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    def write_transaction(self) -> PooledTransaction:
        """An IMMEDIATE transaction: for read-then-write work."""
        return self.transaction(TransactionType.immediate)


class PortalPostgresEngine(PostgresEngine):
    """Piccolo's Postgres engine, counting statements like the SQLite one."""

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        _note(str(querystring))
        return await super().run_querystring(querystring, in_pool=in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True):
        _note(ddl)
        return await super().run_ddl(ddl, in_pool=in_pool)

    def write_transaction(self):
        """Postgres locks rows itself; a plain transaction (callers add FOR UPDATE)."""
        return self.transaction()

    async def close_pool(self) -> None:
        if self.pool is not None:
            await self.close_connection_pool()


def make_engine(database_url: str, sqlite_readers: int = 4):
    """The engine for ``database_url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if database_url.startswith("sqlite:///"):
        return PortalSQLiteEngine(path=database_url.removeprefix("sqlite:///"), readers=sqlite_readers)
    return PortalPostgresEngine(config={"dsn": database_url})


def engine():
    """The engine Piccolo's tables use (built in ``portal.piccolo_conf``)."""
    from piccolo.engine import engine_finder

    return engine_finder()
