"""The database engine: SQLite with persistent connections, or PostgreSQL with a pool.

Piccolo's stock ``SQLiteEngine`` opens a new aiosqlite connection (one OS thread) for
every query outside a transaction and sets no PRAGMAs. ``PortalSQLiteEngine`` keeps
connections open instead: an inline reader for short ``SELECT``s, reader threads for
the long ones, and one writer for everything else (single writes and all transactions),
each configured by ``PragmaConnection``.
Several worker processes still coordinate through SQLite's own locks (WAL,
busy_timeout, IMMEDIATE transactions), and their writers take turns through
``WriterTurn``, a lock on a file beside the database: a writer that waits sleeps in the
kernel and is woken when the other process's transaction ends, where SQLite's busy
handler would poll every 100 ms and lose to a process that commits back to back.

Short reads skip the trip to a connection thread: ``InlineReader`` runs a ``SELECT``
outside a transaction right in the event loop's thread, where an indexed lookup costs a
few microseconds, less than handing it to a thread and waking the loop afterwards. A
progress handler stops any statement that runs past ``INLINE_BUDGET_S`` and it is run
again on a reader thread, as is one that finds the database locked; so the loop is never
held for longer than the budget.

``fetch()`` is the read path of the requests every page makes (session, workspace,
grants, a tab's list): plain SQL with ``{}`` placeholders, straight to the engine,
without the query builder (Piccolo spends more CPU composing a query than SQLite spends
running it). On SQLite its results are also kept per process (``ReadCache``) and used
again while ``PRAGMA data_version`` shows that nothing was committed since, by any
connection of any process; the first commit anywhere empties it. So a cached read gives
exactly what the database would give, and a portal that mostly reads (clients look far
more than they change) pays one cheap check instead of a query.

Both engines count the statements a page asks for into ``query_counter`` when one is
active (a read answered by the read cache counts too), which lets tests prove that a
page's query count does not grow with its data.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import fcntl
import functools
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import (
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    dict_factory,
)
from piccolo.querystring import QueryString

#: The Piccolo release whose private parts this module was last checked against (the
#: "seams": ``SQLiteEngine._run_in_new_connection`` / ``_run_in_existing_connection``,
#: which Piccolo calls for every statement; ``SQLiteTransaction``'s slots and
#: ``__aenter__``/``__aexit__``, replaced by ``PooledTransaction``; ``PostgresEngine``'s
#: ``run_querystring`` / ``run_ddl``). tests/unit/test_piccolo_seams.py fails when any of
#: them changes, or when another Piccolo version is installed.
SEAMS_CHECKED_WITH = "1.38.0"

BUSY_TIMEOUT_MS = 5000

#: The longest a statement may hold the event loop before it moves to a reader thread.
INLINE_BUDGET_S = 0.002
#: How many SQLite VM steps between two looks at the clock (a short read takes fewer).
_PROGRESS_STEPS = 1000
#: Statements that once outran the budget go straight to a thread (bounded memory).
_SLOW_STATEMENTS_MAX = 256

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


@functools.lru_cache(maxsize=512)
def _qmark(sql: str) -> str:
    return sql.replace("{}", "?")


@functools.lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    parts = sql.split("{}")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


class Deferred(Exception):
    """The inline reader gave a statement up (too slow, or the database was locked)."""


class InlineReader:
    """A connection used from the event loop's own thread, for short SELECTs."""

    def __init__(self, connection_kwargs: dict[str, Any], budget_s: float = INLINE_BUDGET_S) -> None:
        self.connection = sqlite3.connect(**connection_kwargs, check_same_thread=False)
        # Never wait for a lock in the loop: a locked database defers to a thread,
        # which waits there with the usual busy_timeout.
        self.connection.execute("PRAGMA busy_timeout = 0")
        # Reads only: the read cache relies on this connection never committing.
        self.connection.execute("PRAGMA query_only = ON")
        self.connection.row_factory = dict_factory
        self.connection.set_progress_handler(self._past_deadline, _PROGRESS_STEPS)
        self.budget_s = budget_s
        self.deadline = 0.0
        self.slow: set[str] = set()

    def _past_deadline(self) -> bool:
        return time.perf_counter() > self.deadline

    def read(self, sql: str, args: Any) -> list[dict]:
        if sql in self.slow:
            raise Deferred()
        self.deadline = time.perf_counter() + self.budget_s
        try:
            cursor = self.connection.execute(sql, args)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.OperationalError as error:
            name = getattr(error, "sqlite_errorname", "")
            if name == "SQLITE_INTERRUPT":
                if len(self.slow) < _SLOW_STATEMENTS_MAX:
                    self.slow.add(sql)
                raise Deferred() from error
            if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
                raise Deferred() from error
            raise

    def data_version(self) -> int:
        """Changes whenever another connection (of any process) commits a change."""
        self.deadline = time.perf_counter() + self.budget_s
        try:
            return self.connection.execute("PRAGMA data_version").fetchone()["data_version"]
        except sqlite3.OperationalError as error:
            raise Deferred() from error

    def close(self) -> None:
        self.connection.close()


class ReadCache:
    """Results of ``fetch()`` reads, valid while the database's data_version holds.

    Keyed by the statement and its arguments, so an entry is what that very query
    returns; callers get copies. Bounded by rows (``max_rows``, the memory that
    matters): least recently used entries go first, and a result of more than a
    twentieth of the budget is never kept.
    """

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.version: int | None = None
        self.rows: collections.OrderedDict[tuple, list[dict]] = collections.OrderedDict()
        self.kept = 0  # rows held, an empty result counting as one
        self.hits = 0
        self.misses = 0
        self.versions = 0  # how many times a new version emptied it

    def check(self, version: int) -> None:
        if version != self.version:
            self.clear()
            self.version = version
            self.versions += 1

    def clear(self) -> None:
        self.rows.clear()
        self.kept = 0

    def get(self, key: tuple) -> list[dict] | None:
        rows = self.rows.get(key)
        if rows is None:
            self.misses += 1
            return None
        self.rows.move_to_end(key)
        self.hits += 1
        return [dict(row) for row in rows]

    def put(self, key: tuple, version: int, rows: list[dict]) -> None:
        # Only under the version checked before the read: rows read meanwhile may be
        # newer than that version (harmless), never older.
        size = max(len(rows), 1)
        if version != self.version or size > self.max_rows // 20 or key in self.rows:
            return
        self.rows[key] = [dict(row) for row in rows]
        self.kept += size
        while self.kept > self.max_rows:
            _, evicted = self.rows.popitem(last=False)
            self.kept -= max(len(evicted), 1)


class WriterTurn:
    """One writer at a time across the processes sharing a SQLite file: ``flock`` on
    ``<database>.write-lock``. Taken without a thread when free; when another process
    holds it, the wait is a blocking ``flock`` on a thread, woken by the kernel."""

    def __init__(self, database: str) -> None:
        self.fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600) if database else -1
        self.waited = False

    async def take(self) -> None:
        if self.fd < 0:
            return
        # After a wait, the other process is likely to want its turn back soon: go
        # through the kernel's queue too rather than grab the lock on the way past.
        if not self.waited:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
        self.waited = True
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, self.fd, fcntl.LOCK_EX)
        cancelled = False
        while True:  # a cancelled caller still waits for the thread, then gives the turn back
            try:
                await asyncio.shield(waiting)
                break
            except asyncio.CancelledError:
                cancelled = True
                if waiting.done():
                    break
        if cancelled:
            if waiting.exception() is None:
                self.give()
            raise asyncio.CancelledError

    def give(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Pool:
    """Connections of one event loop: an inline reader, N reader threads and one
    writer behind a lock."""

    def __init__(self, engine: PortalSQLiteEngine, readers: int) -> None:
        self.engine = engine
        self.inline = InlineReader(engine.connection_kwargs)
        self.cache = ReadCache(engine.read_cache_rows)
        self.version_checked = False
        self.reader_slots = asyncio.Semaphore(readers)
        self.idle_readers: list[aiosqlite.Connection] = []
        self.all: list[aiosqlite.Connection] = []
        self.writer_lock = asyncio.Lock()
        self.turn = WriterTurn(engine.path if engine.path not in ("", ":memory:") else "")
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

    async def acquire_writer(self) -> aiosqlite.Connection:
        """The writer, this process's only one (``writer_lock``), in its turn among the
        processes (``turn``); give it back with ``release_writer()``."""
        await self.writer_lock.acquire()
        try:
            await self.turn.take()
        except BaseException:
            self.writer_lock.release()
            raise
        try:
            if self.writer is None:
                self.writer = await self.connect()
            return self.writer
        except BaseException:
            self.release_writer()
            raise

    def release_writer(self) -> None:
        self.turn.give()
        self.writer_lock.release()

    async def read(self, sql: str, args: Any) -> list[dict]:
        """A SELECT outside a transaction: inline when short, else on a reader thread."""
        try:
            return self.inline.read(sql, args)
        except Deferred:
            pass
        connection = await self.acquire_reader()
        try:
            return await connection.execute_fetchall(sql, args)
        finally:
            self.release_reader(connection)

    def _cache_version(self) -> int:
        """The database's data_version, read at most once per event-loop iteration.

        Code between two awaits runs within one iteration, so its reads see the
        database as of the iteration's first read, like one snapshot. A commit, ours
        or another process's, is seen from the next iteration on: our own writes
        resume their task only in a later iteration, and a request that follows a
        commit elsewhere arrives through the selector, i.e. in a later iteration.
        """
        if self.version_checked:
            return self.cache.version
        version = self.inline.data_version()
        self.cache.check(version)
        self.version_checked = True
        asyncio.get_running_loop().call_soon(self._next_iteration)
        return version

    def _next_iteration(self) -> None:
        self.version_checked = False

    async def cached_read(self, sql: str, args: Any) -> list[dict]:
        """``read()``, answered from the read cache when nothing changed since."""
        if not self.cache.max_rows:
            return await self.read(sql, args)
        try:
            version = self._cache_version()
        except Deferred:
            return await self.read(sql, args)
        key = (sql, *args)
        try:
            rows = self.cache.get(key)
        except TypeError:  # an unhashable argument: not cacheable
            return await self.read(sql, args)
        if rows is None:
            rows = await self.read(sql, args)
            self.cache.put(key, version, rows)
        return rows

    async def close(self) -> None:
        self.inline.close()
        self.turn.close()
        connections, self.all, self.idle_readers, self.writer = self.all, [], [], None
        for connection in connections:
            try:
                await connection.close()
            except Exception:  # closing is best effort: the thread ends either way
                connection.stop()


class PooledTransaction(SQLiteTransaction):
    """A transaction on the pool's writer connection, returned to the pool afterwards."""

    async def get_connection(self) -> aiosqlite.Connection:
        self._pool = self.engine.pool()
        return await self._pool.acquire_writer()

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
            self._pool.release_writer()
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
                self._pool.release_writer()
        return exception is None


class PortalSQLiteEngine(SQLiteEngine):
    """SQLite with persistent, configured connections: readers for SELECT, one writer."""

    def __init__(self, path: str, readers: int = 4, read_cache_rows: int = 0, **kwargs: Any) -> None:
        kwargs.setdefault("factory", PragmaConnection)
        kwargs.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
        super().__init__(path=path, **kwargs)
        self.readers = readers
        self.read_cache_rows = read_cache_rows
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref, _Pool] | None = None

    def pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:  # the common case, without the weak dict
            return last[1]
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _Pool(self, self.readers)
        self._last = (weakref.ref(loop), pool)
        return pool

    async def close_pool(self) -> None:
        """Close this event loop's connections (lifespan end, test teardown)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        self._last = None
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
            return await pool.read(query, args or [])
        connection = await pool.acquire_writer()
        try:
            return await connection.execute_fetchall(query, args or [])
        finally:
            pool.release_writer()

    async def _run_in_existing_connection(self, connection, query, args=None, query_type="generic", table=None):
        # No "PRAGMA foreign_keys" per statement: the connection set it once.
        _note(query)
        return await connection.execute_fetchall(query, args or [])

    async def fetch(self, sql: str, args: Any = ()) -> list[dict]:
        """Rows of a plain SELECT with ``{}`` placeholders (see ``fetch()``)."""
        sql = _qmark(sql)
        _note(sql)
        transaction = self.current_transaction.get()
        if transaction is not None:
            return await transaction.connection.execute_fetchall(sql, args)
        return await self.pool().cached_read(sql, args)

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> PooledTransaction:
        return PooledTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    def write_transaction(self) -> PooledTransaction:
        """An IMMEDIATE transaction: for read-then-write work."""
        return self.transaction(TransactionType.immediate)


#: The read scope of the request being served (``read_scope()``); None elsewhere.
_read_scope: contextvars.ContextVar[ReadScope | None] = contextvars.ContextVar("portal_read_scope", default=None)


class ReadScope:
    """What one request learnt of the database: the snapshot it checked, and when."""

    __slots__ = ("checked_after", "early", "open", "snapshot", "writes")

    def __init__(self) -> None:
        self.snapshot: str | None = None
        self.writes = 0  # the request's own commits so far (``PortalPostgresEngine.wrote``)
        self.checked_after = -1  # how many of them its snapshot was checked after
        self.open = True  # a task the request left behind reads on its own once it ended
        self.early: asyncio.Future | None = None  # a look asked for as the request arrived


@contextmanager
def read_scope() -> Iterator[ReadScope]:
    """Mark one request: its reads may be answered from PostgreSQL's read cache.

    Outside a scope (the worker loop, commands) every read goes to the database. The web
    app opens one per HTTP request (``portal.web.reads``).
    """
    scope = ReadScope()
    token = _read_scope.set(scope)
    try:
        yield scope
    finally:
        scope.open = False
        _read_scope.reset(token)


def look_early(scope: ReadScope, db: Any = None) -> bool:
    """Ask now, as the request arrives, for the look at the snapshot that ``scope``'s first
    read waits for, so that it travels while the request is routed (PostgreSQL with its
    read cache on; ``db`` defaults to the app's engine). True when a look was asked for:
    the caller may yield once to let it leave."""
    db = engine() if db is None else db
    if not isinstance(db, PortalPostgresEngine) or not db.cache.max_rows:
        return False
    scope.early = db._join_check()
    return True


def _snapshot_order(snapshot: str) -> tuple[int, int]:
    """Order of two ``pg_current_snapshot()`` texts (``xmin:xmax:xip,...``) in time.

    ``xmax`` (one past the newest finished transaction) never goes down, and while it
    stays, the list of transactions still running below it only shrinks; so a later
    snapshot has a larger xmax or, with the same xmax, fewer transactions in progress.
    """
    _, xmax, running = snapshot.split(":")
    return int(xmax), -len(running.split(",")) if running else 0


class SnapshotCache(ReadCache):
    """``ReadCache`` for PostgreSQL, valid while the database's snapshot holds.

    Two equal snapshots see exactly the same committed transactions, so the same rows:
    any commit (of any client, in any database of the server) changes the snapshot. A
    newer snapshot empties the cache; an older one, checked before it but answered
    after, leaves it as it is, and its reads neither use nor fill the cache.
    """

    def check(self, version: str) -> None:  # type: ignore[override]
        if self.version is None or _snapshot_order(version) > _snapshot_order(self.version):
            super().check(version)

    def get_at(self, key: tuple, version: str) -> list[dict] | None:
        if version != self.version:
            self.misses += 1
            return None
        return self.get(key)


class PortalPostgresTransaction(PostgresTransaction):
    """Piccolo's transaction, telling the engine when it ended (its writes are visible)."""

    __slots__ = ()

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        finally:
            if self._parent is None:
                self.engine.wrote()


class PortalPostgresEngine(PostgresEngine):
    """Piccolo's Postgres engine, counting statements like the SQLite one, with a read cache.

    Each request checks the database's snapshot once (``SELECT pg_current_snapshot()``,
    one round trip shared by the requests that arrive while the previous check is out;
    the web app asks for it as the request arrives, ``look_early``) and then answers its
    ``fetch()`` reads from ``SnapshotCache`` while the snapshot is the same; a read that
    misses goes to the pool and fills the cache. A commit anywhere
    changes the snapshot, so a request sees every commit that finished before it began,
    from any process, like the SQLite cache's ``data_version``; this process's own
    commits make the committing request check again before its next read (``wrote``),
    so a request that writes then reads sees its write.
    """

    def __init__(self, config: dict[str, Any], read_cache_rows: int = 0, **kwargs: Any) -> None:
        super().__init__(config=config, **kwargs)
        self.cache = SnapshotCache(read_cache_rows)
        self.snapshot_checks = 0
        self._joinable: asyncio.Future | None = None  # the next check, not started yet
        self._in_flight: asyncio.Task | None = None  # the check on its way
        self._checker: tuple[asyncio.AbstractEventLoop, Any] | None = None  # its connection, per event loop

    def wrote(self) -> None:
        """A statement or transaction of the current request ended: its next read looks at
        the snapshot again, so it sees its own write. Other requests need not: one that
        follows this one (its client saw the answer) is a new request, with a look of its
        own sent after it arrived."""
        scope = _read_scope.get()
        if scope is not None:
            scope.writes += 1

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        statement = str(querystring)
        _note(statement)
        try:
            return await super().run_querystring(querystring, in_pool=in_pool)
        finally:
            if self.current_transaction.get() is None and statement.lstrip()[:6].upper() != "SELECT":
                self.wrote()

    async def run_ddl(self, ddl: str, in_pool: bool = True):
        _note(ddl)
        try:
            return await super().run_ddl(ddl, in_pool=in_pool)
        finally:
            if self.current_transaction.get() is None:
                self.wrote()

    def transaction(self, allow_nested: bool = True) -> PortalPostgresTransaction:
        return PortalPostgresTransaction(engine=self, allow_nested=allow_nested)

    def write_transaction(self):
        """Postgres locks rows itself; a plain transaction (callers add FOR UPDATE)."""
        return self.transaction()

    async def fetch(self, sql: str, args: Any = ()) -> list[dict]:
        """Rows of a plain SELECT with ``{}`` placeholders (see ``fetch()``)."""
        sql = _numbered(sql)
        _note(sql)
        transaction = self.current_transaction.get()
        if transaction is not None:
            return [dict(row) for row in await transaction.connection.fetch(sql, *args)]
        scope = _read_scope.get()
        if scope is None or not scope.open or not self.cache.max_rows:
            return await self._read(sql, args)
        if scope.checked_after != scope.writes:
            writes = scope.writes  # a commit of this request's while the look is out: look again
            early, scope.early = scope.early, None
            if early is None or writes:
                scope.snapshot = await self._snapshot()
            else:  # answered while the request was routed, or on its way
                scope.snapshot = early.result() if early.done() else await asyncio.shield(early)
            scope.checked_after = writes
        key = (sql, *args)
        try:
            rows = self.cache.get_at(key, scope.snapshot)
        except TypeError:  # an unhashable argument: not cacheable
            return await self._read(sql, args)
        if rows is None:
            rows = await self._read(sql, args)
            self.cache.put(key, scope.snapshot, rows)
        return rows

    async def _read(self, sql: str, args: Any) -> list[dict]:
        if self.pool is not None:
            async with self.pool.acquire() as connection:
                rows = await connection.fetch(sql, *args)
        else:
            connection = await self.get_new_connection()
            try:
                rows = await connection.fetch(sql, *args)
            finally:
                await connection.close()
        return [dict(row) for row in rows]

    async def _snapshot(self) -> str:
        """The database's snapshot, from a check sent after this call: one for many reads.

        At most one check is on its way at a time. A read joins the next check while that
        one has not started (its task has not run yet); a check that has started may
        have left already, so it cannot serve a request that arrived after it: such a
        read waits for the next one, sent as soon as the current one is answered. Under
        load one round trip then serves every request that arrived meanwhile; alone, a
        request pays one.
        """
        return await asyncio.shield(self._join_check())

    def _join_check(self) -> asyncio.Future:
        """The next look at the snapshot (see ``_snapshot``), asked for now."""
        loop = asyncio.get_running_loop()
        if self._in_flight is not None and self._in_flight.get_loop() is not loop:
            self._in_flight = self._joinable = None  # left over from a closed event loop
        joinable = self._joinable
        if joinable is None:
            joinable = self._joinable = loop.create_future()
            if self._in_flight is None:
                self._start_check(joinable)
        return joinable

    def _start_check(self, answer: asyncio.Future) -> None:
        self._in_flight = asyncio.get_running_loop().create_task(self._check(answer))

    async def _check(self, answer: asyncio.Future) -> None:
        if self._joinable is answer:
            self._joinable = None  # from here on the question may be on its way
        try:
            snapshot = await self._read_snapshot()
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except Exception as exc:
            answer.set_exception(exc)
            answer.exception()  # retrieved: the waiters, if any, have it
        else:
            answer.set_result(snapshot)
        finally:
            self._in_flight = None
            if self._joinable is not None:  # requests that came while this one was out
                self._start_check(self._joinable)

    async def _read_snapshot(self) -> str:
        """One look at the snapshot, on a connection kept for that (one check at a time)."""
        self.snapshot_checks += 1
        loop = asyncio.get_running_loop()
        if self._checker is None or self._checker[0] is not loop or self._checker[1].is_closed():
            self._checker = (loop, await self.get_new_connection())
        connection = self._checker[1]
        try:
            snapshot = await connection.fetchval("SELECT pg_current_snapshot()::text")
        except BaseException:
            self._checker = None
            connection.terminate()
            raise
        self.cache.check(snapshot)
        return snapshot

    async def close_pool(self) -> None:
        checker, self._checker = self._checker, None
        if checker is not None and checker[0] is asyncio.get_running_loop():
            await checker[1].close()
        if self.pool is not None:
            await self.close_connection_pool()


def make_engine(database_url: str, sqlite_readers: int = 4, read_cache_rows: int = 0):
    """The engine for ``database_url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if database_url.startswith("sqlite:///"):
        return PortalSQLiteEngine(path=database_url.removeprefix("sqlite:///"), readers=sqlite_readers,
                                  read_cache_rows=read_cache_rows)
    return PortalPostgresEngine(config={"dsn": database_url}, read_cache_rows=read_cache_rows)


_ENGINE: list = []


def engine():
    """The engine Piccolo's tables use, built in ``portal.piccolo_conf``.

    Found the way Piccolo finds it (``PICCOLO_CONF``), so this module never imports the
    configuration that imports it; looked up once per process.
    """
    if not _ENGINE:
        from piccolo.engine import engine_finder

        _ENGINE.append(engine_finder())
    return _ENGINE[0]


async def ping() -> None:
    """One trivial statement: raises if the database cannot be reached."""
    await engine().run_ddl("SELECT 1")


def column_list(columns: Any, prefix: str = "") -> str:
    """Quoted column names for plain SQL, e.g. ``"id", "name"`` (``prefix``: a table alias)."""
    return ", ".join(f'{prefix}"{column._meta.db_column_name}"' for column in columns)


def in_list(values: Any) -> str:
    """The placeholders of an ``IN (...)`` list for ``values``: ``{}, {}, {}``.

    The values themselves go to ``fetch`` as arguments, never into the SQL. An empty list
    is refused: ``IN ()`` is not SQL, and the caller knows the answer without a query.
    """
    count = len(values)
    if not count:
        raise ValueError("in_list() needs at least one value")
    return ", ".join(["{}"] * count)


async def fetch(sql: str, *args: Any) -> list[dict]:
    """The rows of a plain SELECT written with ``{}`` placeholders, as dicts.

    For the reads every request makes; the SQL names columns as Piccolo created them.
    Inside a transaction it runs on the transaction's connection. Only an area's
    ``queries.py`` calls it (see DESIGN: one rule for SQL).
    """
    return await (_ENGINE[0] if _ENGINE else engine()).fetch(sql, args)


async def serialise_on(name: bytes) -> None:
    """Inside a write transaction: wait until no other transaction holds ``name``.

    On PostgreSQL a transaction-scoped advisory lock; SQLite's IMMEDIATE transaction
    already holds the database's single write lock.
    """
    if engine().engine_type == "postgres":
        import zlib

        await engine().run_ddl(f"SELECT pg_advisory_xact_lock({zlib.crc32(name)})")


def for_update(query):
    """Lock the selected rows until the transaction ends (PostgreSQL).

    SQLite has no row locks; its IMMEDIATE write transaction already holds the
    database's single write lock from the start.
    """
    return query.lock_rows() if engine().engine_type == "postgres" else query


@asynccontextmanager
async def advisory_lock(dsn: str, key: int, timeout: float) -> AsyncIterator[None]:
    """A PostgreSQL session advisory lock on a connection of its own, held inside the block
    (``TimeoutError`` after ``timeout`` seconds of waiting for it)."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await asyncio.wait_for(connection.execute("SELECT pg_advisory_lock($1)", key), timeout)
        try:
            yield
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", key)
    finally:
        await connection.close()
