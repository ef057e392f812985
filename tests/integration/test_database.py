"""The database engine: PRAGMAs on every connection, migrations on both engines, concurrency."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest

from portal.db import count_queries, engine, fetch
from portal.workspaces.tables import Workspace
from tests.conftest import IS_POSTGRES, TEST_ENV, run_in_thread


async def test_schema_comes_from_the_committed_migrations(db):
    from piccolo.apps.migrations.tables import Migration

    applied = await Migration.select(Migration.app_name).distinct()
    assert {row["app_name"] for row in applied} == {
        "workspaces", "accounts", "projects", "files", "deliverables", "billing", "feedback", "mail", "audit",
    }


async def test_composite_unique_keys_hold(db):
    from portal.accounts.tables import StaffMember
    from tests.factories import make_staff, make_workspace

    workspace = await make_workspace()
    await make_staff(workspace, "same@acme.example")
    with pytest.raises(Exception, match="(?i)unique"):
        await StaffMember.insert(StaffMember(workspace=workspace, email="same@acme.example"))


async def _postgres_queries_run_on_the_pool_the_lifespan_opens(db, settings, monkeypatch) -> None:
    """Both query paths (``fetch`` and Piccolo's) run on connections of the app's pool,
    and no query opens a connection of its own."""
    from portal.app import create_app

    await db.close_pool()  # the test fixture's pool: the app's lifespan must open its own
    assert db.pool is None
    opened: list[str] = []
    open_connection = db.get_new_connection

    async def counted_connection():
        opened.append("a connection outside the pool")
        return await open_connection()

    monkeypatch.setattr(db, "get_new_connection", counted_connection)
    async with create_app(settings).lifespan():
        pool = db.pool
        assert pool is not None, "the lifespan opened no pool"
        # Hold every connection of the pool at once to learn their server pids (the
        # lifespan's pool has a fixed size: asyncpg's min_size == max_size by default).
        held = [await pool.acquire() for _ in range(pool.get_size())]
        pool_pids = {connection.get_server_pid() for connection in held}
        for connection in held:
            await pool.release(connection)
        pids = [
            (await fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"],  # portal's plain-SQL path
            (await fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"],
            (await Workspace.raw("SELECT pg_backend_pid() AS pid"))[0]["pid"],  # Piccolo's path
            (await Workspace.raw("SELECT pg_backend_pid() AS pid"))[0]["pid"],
        ]
        # A connection per query would show backends that are not the pool's, and open them here.
        assert set(pids) <= pool_pids, (pids, pool_pids)
        assert opened == []
        assert (await Workspace.raw("SELECT current_setting('default_transaction_isolation') AS isolation")) == [
            {"isolation": "read committed"}]
    assert db.pool is None  # and the lifespan closed it again


async def test_every_connection_is_configured(db, settings, monkeypatch):
    if IS_POSTGRES:
        # PostgreSQL needs no per-connection PRAGMAs; what matters there is that queries
        # run through the pool opened for the app (not a connection per query).
        await _postgres_queries_run_on_the_pool_the_lifespan_opens(db, settings, monkeypatch)
        return

    pragmas = (
        "SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode, "
        "(SELECT synchronous FROM pragma_synchronous) AS synchronous, "
        "(SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys, "
        "(SELECT timeout FROM pragma_busy_timeout) AS busy_timeout"
    )
    # Short SELECTs run on the loop's inline connection, which never waits for a lock
    # (busy_timeout 0: a locked database sends the read to a thread instead).
    assert await Workspace.raw(pragmas) == [{"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 0}]

    pool = engine().pool()
    readers = [await pool.acquire_reader() for _ in range(3)]
    try:
        for reader in readers:
            rows = await reader.execute_fetchall(pragmas)
            assert [dict(row) for row in rows] == [{"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 5000}]
    finally:
        for reader in readers:
            pool.release_reader(reader)
    assert len(pool.all) >= 3
    writer = await Workspace.raw("PRAGMA busy_timeout")
    assert writer == [{"timeout": 5000}]
    async with engine().write_transaction():
        rows = await Workspace.raw("SELECT (SELECT foreign_keys FROM pragma_foreign_keys) AS fk")
        assert rows == [{"fk": 1}]


async def test_fetch_reads_plain_sql_with_placeholders_and_sees_its_transaction(db):
    from tests.factories import make_workspace

    await make_workspace(slug="one", name="One")
    await make_workspace(slug="two", name="Two")
    with count_queries() as statements:
        rows = await fetch('SELECT "slug", "name" FROM "workspace" WHERE "slug" IN ({}, {}) ORDER BY "slug"', "one", "two")
    assert rows == [{"slug": "one", "name": "One"}, {"slug": "two", "name": "Two"}]
    assert len(statements) == 1  # one fetch() is one statement: no query builder, no extra round trip
    with pytest.raises(RuntimeError):  # the transaction is rolled back, nothing stays
        async with engine().write_transaction():
            await Workspace.update({Workspace.name: "Renamed"}).where(Workspace.slug == "one")
            assert await fetch('SELECT "name" FROM "workspace" WHERE "slug" = {}', "one") == [{"name": "Renamed"}]
            raise RuntimeError("roll back")
    assert await fetch('SELECT "name" FROM "workspace" WHERE "slug" = {}', "one") == [{"name": "One"}]


#: A statement that keeps SQLite busy for far longer than the inline budget.
SLOW_COUNT = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) SELECT count(*) AS c FROM n"


async def test_a_slow_read_moves_to_a_thread_and_never_holds_the_loop(tmp_path):
    """The inline reader gives up a statement past its budget; a thread finishes it."""
    from portal.db import INLINE_BUDGET_S, PortalSQLiteEngine

    db = PortalSQLiteEngine(path=str(tmp_path / "slow.sqlite3"), readers=2)
    try:
        assert await db.fetch("SELECT 1 + {} AS two", (1,)) == [{"two": 2}]
        gaps: list[float] = []
        stop = asyncio.Event()

        async def heartbeat():
            loop = asyncio.get_running_loop()
            last = loop.time()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = loop.time()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        rows = await db.fetch(SLOW_COUNT, (3_000_000,))
        took = asyncio.get_running_loop().time() - started
        stop.set()
        await beat
        assert rows == [{"c": 3_000_000}]
        assert took > 20 * INLINE_BUDGET_S, "the statement should be slow enough to prove the point"
        # The loop kept ticking while the statement ran: no pause near the statement's length.
        assert max(gaps) < took / 3, (max(gaps), took)
        assert SLOW_COUNT.replace("{}", "?") in db.pool().inline.slow
    finally:
        await db.close_pool()


def test_the_inline_reader_never_waits_for_a_lock(tmp_path):
    """Another connection holds the database locked: the inline read gives up at once
    (``Deferred``; the pool then reads on a thread, which waits with busy_timeout)."""
    import sqlite3
    import time

    from portal.db import Deferred, InlineReader

    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("INSERT INTO t VALUES (7)")
    # A rollback-journal database, so that a writer's EXCLUSIVE lock shuts readers out
    # (under WAL, which the portal uses, readers are blocked only in rare moments).
    reader = InlineReader({"database": str(path), "isolation_level": None})
    try:
        assert reader.read("SELECT n FROM t", ()) == [{"n": 7}]
        holder.execute("BEGIN EXCLUSIVE")
        started = time.perf_counter()
        with pytest.raises(Deferred):
            reader.read("SELECT n FROM t", ())
        assert time.perf_counter() - started < 0.05
        assert "SELECT n FROM t" not in reader.slow  # locked is not slow: next time it tries inline again
        holder.execute("COMMIT")
        assert reader.read("SELECT n FROM t", ()) == [{"n": 7}]
    finally:
        reader.close()
        holder.close()


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from portal.db import PortalSQLiteEngine

    async def main(path, rounds):
        db = PortalSQLiteEngine(path=path, readers=2)
        for _ in range(rounds):
            async with db.write_transaction():
                rows = await db._run_in_existing_connection(db.current_transaction.get().connection,
                                                            "SELECT n FROM counter WHERE id = 1")
                await db._run_in_existing_connection(db.current_transaction.get().connection,
                                                     "UPDATE counter SET n = ? WHERE id = 1", [rows[0]["n"] + 1])
        await db.close_pool()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def test_read_then_write_transactions_from_several_processes_lose_nothing(tmp_path):
    """IMMEDIATE transactions + busy_timeout: 4 processes x 50 increments, no lock errors."""
    import sqlite3

    path = tmp_path / "counter.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        connection.execute("INSERT INTO counter VALUES (1, 0)")
    processes = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), "50"], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT n FROM counter").fetchone()[0] == 200


def _postgres_admin(statement: str) -> None:
    import asyncpg

    async def run():
        base = TEST_ENV["DATABASE_URL"].rpartition("/")[0]
        connection = await asyncpg.connect(f"{base}/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run_in_thread(run)


def test_migrations_apply_to_an_empty_database(tmp_path):
    """`portal migrate` on a brand-new database of the engine under test, then the CLI works."""
    env = {**TEST_ENV, "PORTAL_DATA_DIR": str(tmp_path)}
    name = f"portal_migrate_{os.getpid()}"
    if IS_POSTGRES:
        _postgres_admin(f"DROP DATABASE IF EXISTS {name}")
        _postgres_admin(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = f"{TEST_ENV['DATABASE_URL'].rpartition('/')[0]}/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    try:
        result = subprocess.run([sys.executable, "-m", "portal.cli", "migrate"], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "migrations applied" in result.stdout
        created = subprocess.run(
            [sys.executable, "-m", "portal.cli", "workspace", "create", "fresh", "Fresh Agency", "--owner", "owner@fresh.example"],
            env=env, capture_output=True, text=True,
        )
        assert created.returncode == 0, created.stderr
        listed = subprocess.run([sys.executable, "-m", "portal.cli", "workspace", "list"], env=env, capture_output=True, text=True)
        assert "fresh" in listed.stdout and "Fresh Agency" in listed.stdout
    finally:
        if IS_POSTGRES:
            _postgres_admin(f"DROP DATABASE IF EXISTS {name}")


# The read cache, on the engine the suite runs on. On PostgreSQL it answers reads made in
# a read scope (one per HTTP request: portal.web.reads); SQLite's needs none. Each
# ``read_scope()`` below stands for one request.

ITEMS = "cache_item"


async def _engine_with_table(tmp_path, rows: int):
    from portal.db import PortalPostgresEngine, PortalSQLiteEngine

    if IS_POSTGRES:
        db = PortalPostgresEngine(config={"dsn": TEST_ENV["DATABASE_URL"]}, read_cache_rows=rows)
        await db.start_connection_pool(min_size=1, max_size=4)
        await db.run_ddl(f"DROP TABLE IF EXISTS {ITEMS}")
        await db.run_ddl(f"CREATE TABLE {ITEMS} (id INTEGER PRIMARY KEY, name TEXT)")
        await db.run_ddl(f"INSERT INTO {ITEMS} VALUES (1, 'first'), (2, 'second')")
        return db
    db = PortalSQLiteEngine(path=str(tmp_path / "cache.sqlite3"), readers=2, read_cache_rows=rows)
    await db._run_in_new_connection(f"CREATE TABLE {ITEMS} (id INTEGER PRIMARY KEY, name TEXT)")
    await db._run_in_new_connection(f"INSERT INTO {ITEMS} VALUES (1, 'first'), (2, 'second')")
    return db


async def _write(db, statement: str) -> None:
    """One statement through the engine (this process's own write), in the current
    transaction if there is one."""
    if IS_POSTGRES:
        await db.run_ddl(statement)
    elif (transaction := db.current_transaction.get()) is not None:
        await db._run_in_existing_connection(transaction.connection, statement)
    else:
        await db._run_in_new_connection(statement)


async def _done_with(db) -> None:
    if IS_POSTGRES:
        await db.run_ddl(f"DROP TABLE IF EXISTS {ITEMS}")
    await db.close_pool()


def _cache(db):
    return db.cache if IS_POSTGRES else db.pool().cache


def _write_elsewhere(tmp_path, statement: str) -> None:
    """Commit ``statement`` from another process, on a connection of its own."""
    if IS_POSTGRES:
        code = ("import asyncio, asyncpg, sys\n"
                "async def main():\n"
                "    c = await asyncpg.connect(sys.argv[1]); await c.execute(sys.argv[2]); await c.close()\n"
                "asyncio.run(main())")
        target = TEST_ENV["DATABASE_URL"]
    else:
        code = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
        target = str(tmp_path / "cache.sqlite3")
    done = subprocess.run([sys.executable, "-c", code, target, statement], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


async def _still(db, attempt):
    """``attempt()``'s result from a run during which nothing was committed anywhere.

    PostgreSQL's snapshot is the whole server's: a commit in any database (another test
    process's, in CI) empties the cache, so what a test counts of cache hits holds only
    for a run the snapshot did not change across; each run starts with an empty cache.
    SQLite's data_version is the file's own: one run."""
    for _ in range(50):
        _cache(db).clear()
        before = await _snapshot(db)
        result = await attempt()
        if await _snapshot(db) == before:
            return result
    raise AssertionError("something was committed during each of 50 runs")


async def _snapshot(db) -> str | None:
    if not IS_POSTGRES:
        return None
    return (await db._read("SELECT pg_current_snapshot()::text AS s", ()))[0]["s"]


async def test_the_read_cache_answers_repeated_reads_with_copies(tmp_path):
    from portal.db import read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT id, name FROM {ITEMS} WHERE id = {{}}"

    async def attempt():
        hits = _cache(db).hits
        with read_scope():
            first = await db.fetch(sql, (1,))
            first[0]["name"] = "changed by the caller"
        with read_scope():
            again = await db.fetch(sql, (1,))
            between = _cache(db).hits - hits
            other = await db.fetch(sql, (2,))
        return again, between, other, _cache(db).hits - hits

    try:
        again, between, other, hits = await _still(db, attempt)
        assert again == [{"id": 1, "name": "first"}] and between == 1  # a copy, from the cache
        assert other == [{"id": 2, "name": "second"}] and hits == 1  # other arguments: another entry
    finally:
        await _done_with(db)


async def test_a_commit_by_another_process_is_seen_at_the_next_read(tmp_path):
    from portal.db import read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT name FROM {ITEMS} WHERE id = {{}}"

    async def attempt():
        hits = _cache(db).hits
        answers = []
        for _ in range(2):
            with read_scope():
                answers.append(await db.fetch(sql, (1,)))
        return answers, _cache(db).hits - hits

    try:
        answers, hits = await _still(db, attempt)
        assert answers == [[{"name": "first"}]] * 2 and hits == 1
        _write_elsewhere(tmp_path, f"UPDATE {ITEMS} SET name = 'from elsewhere' WHERE id = 1")
        # On SQLite, reads between two awaits share one look at data_version (a
        # snapshot); a request that follows a commit elsewhere always starts in a later
        # iteration. On PostgreSQL, the next request checks the snapshot anew.
        await asyncio.sleep(0)
        with read_scope():
            assert await db.fetch(sql, (1,)) == [{"name": "from elsewhere"}]
    finally:
        await _done_with(db)


async def test_a_look_asked_for_on_arrival_sees_what_was_committed_before_the_request(tmp_path):
    """The web app asks for a request's look at the snapshot as it arrives
    (``look_early``); its first read then takes the answer without waiting if it is back,
    and that answer holds every commit made before the request arrived."""
    from portal.db import look_early, read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT name FROM {ITEMS} WHERE id = {{}}"
    try:
        with read_scope() as scope:
            assert look_early(scope, db) is IS_POSTGRES
            await asyncio.sleep(0.05)  # routed slowly: the answer is back before the first read
            assert scope.early is None or scope.early.done()
            assert await db.fetch(sql, (1,)) == [{"name": "first"}]
        _write_elsewhere(tmp_path, f"UPDATE {ITEMS} SET name = 'from elsewhere' WHERE id = 1")
        await asyncio.sleep(0)
        checks = db.snapshot_checks if IS_POSTGRES else 0
        with read_scope() as scope:
            look_early(scope, db)
            await asyncio.sleep(0.05)
            assert await db.fetch(sql, (1,)) == [{"name": "from elsewhere"}]
            assert await db.fetch(sql, (1,)) == [{"name": "from elsewhere"}]
        if IS_POSTGRES:  # one look for the request, the one asked for on arrival
            assert db.snapshot_checks - checks == 1
    finally:
        await _done_with(db)


async def test_requests_through_the_web_app_see_what_was_committed_before_they_arrived(tmp_path):
    """``read_scoped`` as the app wraps every request: one alone, and one arriving while
    another is being served (that one waits for its look before routing), each see a
    commit another process made before they arrived."""
    from portal.web.reads import read_scoped

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT name FROM {ITEMS} WHERE id = {{}}"
    hold = asyncio.Event()

    async def inner(scope, receive, send):
        if scope["path"] == "/slow":
            await hold.wait()
        rows = await db.fetch(sql, (1,))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": rows[0]["name"].encode()})

    app = read_scoped(inner, db)

    async def get(path: str) -> str:
        sent = []

        async def send(message):
            sent.append(message)

        await app({"type": "http", "path": path}, None, send)
        return sent[-1]["body"].decode()

    try:
        assert await get("/") == "first"  # alone; the cache holds the row now
        _write_elsewhere(tmp_path, f"UPDATE {ITEMS} SET name = 'second look' WHERE id = 1")
        await asyncio.sleep(0)  # SQLite: a request that follows it starts in a later iteration
        assert await get("/") == "second look"
        slow = asyncio.create_task(get("/slow"))
        await asyncio.sleep(0.05)  # being served
        _write_elsewhere(tmp_path, f"UPDATE {ITEMS} SET name = 'while busy' WHERE id = 1")
        await asyncio.sleep(0)
        assert await get("/") == "while busy"
        hold.set()
        assert await slow in ("second look", "while busy")
        assert await get("/static/app.css") == "while busy"  # no look asked for; reads as usual
    finally:
        await _done_with(db)


@pytest.mark.parametrize("early", [False, True], ids=["look-at-first-read", "look-on-arrival"])
async def test_a_commit_by_this_process_is_seen_at_the_next_read(tmp_path, early):
    from portal.db import look_early, read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    try:
        sql = f"SELECT count(*) AS n FROM {ITEMS}"
        if early:
            with read_scope():  # the cache holds the count
                assert await db.fetch(sql) == [{"n": 2}]
        with read_scope() as scope:  # one request that reads, writes, and reads again
            if early:  # its look asked for on arrival, answered before it writes
                assert look_early(scope, db) is IS_POSTGRES
                await asyncio.sleep(0.05)
                await _write(db, f"INSERT INTO {ITEMS} VALUES (4, 'fourth')")
                assert await db.fetch(sql) == [{"n": 3}]  # not the count cached before its write
                await _write(db, f"DELETE FROM {ITEMS} WHERE id = 4")
            assert await db.fetch(sql) == [{"n": 2}]
            assert await db.fetch(sql) == [{"n": 2}]
            await _write(db, f"INSERT INTO {ITEMS} VALUES (3, 'third')")
            assert await db.fetch(sql) == [{"n": 3}]
            async with db.write_transaction():
                await _write(db, f"DELETE FROM {ITEMS} WHERE id = 3")
                # Inside the transaction reads go to its own connection, never the cache.
                assert await db.fetch(sql) == [{"n": 2}]
            assert await db.fetch(sql) == [{"n": 2}]
            with pytest.raises(RuntimeError):  # a transaction rolled back changes nothing
                async with db.write_transaction():
                    await _write(db, f"DELETE FROM {ITEMS}")
                    assert await db.fetch(sql) == [{"n": 0}]
                    raise RuntimeError("rolled back")
            assert await db.fetch(sql) == [{"n": 2}]
    finally:
        await _done_with(db)


async def test_the_read_cache_is_bounded_and_can_be_turned_off(tmp_path):
    from portal.db import read_scope

    db = await _engine_with_table(tmp_path, rows=40)  # room for 40 rows, at most 2 per result
    one = f"SELECT name FROM {ITEMS} WHERE id = {{}}"
    try:
        cache = _cache(db)
        await _write(db, f"INSERT INTO {ITEMS} SELECT v, 'n' || v FROM ("
                         "WITH RECURSIVE s(v) AS (SELECT 3 UNION ALL SELECT v + 1 FROM s WHERE v < 80) SELECT v FROM s) AS s")
        with read_scope():
            for n in range(1, 81):
                await db.fetch(one, (n,))
            assert cache.kept <= 40 and len(cache.rows) == cache.kept
            assert await db.fetch(one, (80,)) == [{"name": "n80"}]
            assert cache.hits == 1  # the most recent entries stay
            await db.fetch(f"SELECT id FROM {ITEMS} WHERE id <= {{}}", (3,))  # 3 rows: over a twentieth of 40
            assert not any(key[0].startswith(f"SELECT id FROM {ITEMS} WHERE id <=") for key in cache.rows)
        if not IS_POSTGRES:
            import sqlite3

            # The inline connection cannot write, so it can never hide a change from itself.
            with pytest.raises(sqlite3.OperationalError, match="readonly|query_only|read-only"):
                db.pool().inline.connection.execute(f"DELETE FROM {ITEMS}")
    finally:
        await _done_with(db)

    (tmp_path / "off").mkdir()
    off = await _engine_with_table(tmp_path / "off", rows=0)
    try:
        for _ in range(3):
            with read_scope():
                assert await off.fetch(one, (1,)) == [{"name": "first"}]
        assert _cache(off).hits == 0 and not _cache(off).rows
    finally:
        await _done_with(off)


async def test_requests_that_start_together_share_the_cache_and_its_check(tmp_path):
    from portal.db import read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT name FROM {ITEMS} WHERE id = {{}}"

    async def request() -> list[dict]:
        with read_scope():
            return await db.fetch(sql, (2,))

    async def attempt():
        assert await request() == [{"name": "second"}]
        hits, checks = _cache(db).hits, db.snapshot_checks if IS_POSTGRES else 0
        answers = await asyncio.gather(*(request() for _ in range(10)))
        return answers, _cache(db).hits - hits, (db.snapshot_checks if IS_POSTGRES else 0) - checks

    try:
        answers, hits, checks = await _still(db, attempt)
        assert answers == [[{"name": "second"}]] * 10 and hits == 10
        if IS_POSTGRES:  # one look at the database's snapshot for all ten
            assert checks == 1
    finally:
        await _done_with(db)


async def test_reads_outside_any_request_see_a_commit_elsewhere_at_their_next_read(tmp_path):
    """A long-lived task (the worker loop, a command) never keeps an old view: on
    PostgreSQL it reads outside any read scope, so from the database; a scope that ended
    (a task a request left behind) reads from the database too."""
    from portal.db import read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT name FROM {ITEMS} WHERE id = {{}}"
    try:
        with read_scope():
            assert await db.fetch(sql, (1,)) == [{"name": "first"}]
            left_behind = asyncio.get_running_loop().create_future()

            async def later() -> list[dict]:
                await left_behind
                return await db.fetch(sql, (1,))

            task = asyncio.create_task(later())  # carries this request's scope with it
        assert await db.fetch(sql, (1,)) == [{"name": "first"}]
        _write_elsewhere(tmp_path, f"UPDATE {ITEMS} SET name = 'changed' WHERE id = 1")
        await asyncio.sleep(0)
        assert await db.fetch(sql, (1,)) == [{"name": "changed"}]
        left_behind.set_result(None)
        assert await task == [{"name": "changed"}]
    finally:
        await _done_with(db)


@pytest.mark.parametrize("early", [False, True], ids=["look-at-first-read", "look-on-arrival"])
async def test_a_request_that_arrives_while_a_check_is_out_sees_what_was_committed_before_it(tmp_path, early):
    """On PostgreSQL a look at the snapshot may already be on its way when a request
    arrives: that request waits for the next look. Here the first look is held after the
    database answered it, while another process commits; the request that comes next
    must see that commit (the one that came first may not), whether its look is asked
    for at its first read or as it arrives."""
    from portal.db import look_early, read_scope

    db = await _engine_with_table(tmp_path, rows=100)
    sql = f"SELECT name FROM {ITEMS} WHERE id = {{}}"
    held, answered = asyncio.Event(), asyncio.Event()
    if IS_POSTGRES:
        read_snapshot = db._read_snapshot

        async def slow_answer() -> str:  # the database's answer, as if it took long to arrive
            snapshot = await read_snapshot()
            answered.set()
            await held.wait()
            return snapshot

        db._read_snapshot = slow_answer
    held.set()

    async def request() -> list[dict]:
        with read_scope() as scope:
            if early and look_early(scope, db):  # as the web app does on arrival
                await asyncio.sleep(0)
            return await db.fetch(sql, (1,))

    try:
        assert await request() == [{"name": "first"}]  # the cache holds the row now
        held.clear()
        answered.clear()
        early = asyncio.create_task(request())
        if IS_POSTGRES:
            await asyncio.wait_for(answered.wait(), 10)  # its look at the snapshot is out
        else:
            await asyncio.sleep(0)
        _write_elsewhere(tmp_path, f"UPDATE {ITEMS} SET name = 'changed' WHERE id = 1")
        late = asyncio.create_task(request())
        await asyncio.sleep(0.05)
        held.set()
        assert await late == [{"name": "changed"}]
        assert await early in ([{"name": "first"}], [{"name": "changed"}])
    finally:
        await _done_with(db)
