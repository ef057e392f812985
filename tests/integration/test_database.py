"""The database engine: PRAGMAs on every connection, migrations on both engines, concurrency."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest

from portal.db import count_queries, engine
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


async def test_every_sqlite_connection_is_configured(db):
    if IS_POSTGRES:
        # PostgreSQL needs no per-connection PRAGMAs; what matters there is that queries
        # run through the pool opened for the app (not a connection per query).
        assert engine().pool is not None
        rows = await Workspace.raw("SELECT current_setting('default_transaction_isolation') AS isolation")
        assert rows == [{"isolation": "read committed"}]
        assert engine().pool.get_size() >= 1
        return

    async def read_pragmas():
        # SELECTs go to the reader connections, PRAGMA statements to the writer.
        return await Workspace.raw(
            "SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode, "
            "(SELECT synchronous FROM pragma_synchronous) AS synchronous, "
            "(SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys, "
            "(SELECT timeout FROM pragma_busy_timeout) AS busy_timeout"
        )

    results = await asyncio.gather(*(read_pragmas() for _ in range(12)))
    assert len(engine().pool().all) >= 2, "concurrent reads should have used several reader connections"
    for rows in results:
        assert rows == [{"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 5000}]
    writer = await Workspace.raw("PRAGMA busy_timeout")
    assert writer == [{"timeout": 5000}]
    async with engine().write_transaction():
        rows = await Workspace.raw("SELECT (SELECT foreign_keys FROM pragma_foreign_keys) AS fk")
        assert rows == [{"fk": 1}]


async def test_foreign_keys_are_enforced(db):
    from portal.accounts.tables import ClientOrganisation

    with pytest.raises(Exception, match="(?i)foreign key"):
        await ClientOrganisation.insert(ClientOrganisation(workspace=987654, name="Orphan"))


async def test_a_page_worth_of_queries_is_counted(db):
    with count_queries() as statements:
        await Workspace.select().where(Workspace.slug == "x")
        await Workspace.count()
    assert len(statements) == 2


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
            [sys.executable, "-m", "portal.cli", "workspace", "create", "fresh", "Fresh Agency"],
            env=env, capture_output=True, text=True,
        )
        assert created.returncode == 0, created.stderr
        listed = subprocess.run([sys.executable, "-m", "portal.cli", "workspace", "list"], env=env, capture_output=True, text=True)
        assert "fresh" in listed.stdout and "Fresh Agency" in listed.stdout
    finally:
        if IS_POSTGRES:
            _postgres_admin(f"DROP DATABASE IF EXISTS {name}")
