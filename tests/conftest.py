"""Test harness: one test database per run, emptied before every test.

The environment is set here, before any portal module builds its settings:
- ``PORTAL_TEST_DATABASE_URL`` (a ``postgresql://`` URL of a database the suite may
  wipe) runs the whole suite on PostgreSQL; without it, a SQLite file in a temporary
  directory is used.
- Under pytest-xdist (``./dev test`` runs one worker per core) every worker process has
  its own temporary directory, and on PostgreSQL its own database beside the given one
  (``<name>_gw0``, ``<name>_gw1``…, made when missing; the role needs CREATEDB).
- The schema is built once per run by applying the committed migrations; each test
  then starts from empty tables (and the browser tests' server subprocess shares the
  same database).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

TEST_DIR = Path(tempfile.mkdtemp(prefix="portal-tests-"))


def _worker_database(url: str, worker: str) -> str:
    """The database of one xdist worker beside ``url``'s, made when it is missing."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{worker}"
    admin = urlunsplit(parts)
    found = subprocess.run(["psql", admin, "-XAtqc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if not found:
        subprocess.run(["psql", admin, "-Xqc", f'CREATE DATABASE "{name}"'], check=True)
    return urlunsplit(parts._replace(path=f"/{name}"))


TEST_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL") or f"sqlite:///{TEST_DIR / 'test.sqlite3'}"
if TEST_DATABASE_URL.startswith("postgresql://") and os.environ.get("PYTEST_XDIST_WORKER"):
    TEST_DATABASE_URL = _worker_database(TEST_DATABASE_URL, os.environ["PYTEST_XDIST_WORKER"])
TEST_ENV = {
    "PORTAL_DATA_DIR": str(TEST_DIR / "data"),
    "DATABASE_URL": TEST_DATABASE_URL,
    "PORTAL_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "PORTAL_ENV": "development",
    "PORTAL_BASE_URL": "http://127.0.0.1:8000",
    "PORTAL_LOG_LEVEL": "WARNING",
    "PORTAL_BACKUP_HOURS": "0",  # the tests that want scheduled backups turn them on
}
os.environ.update(TEST_ENV)

from portal.db import engine  # noqa: E402  (after the environment is set)
from portal.settings import Settings  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql://")

pytest_plugins = ["tests.fixtures"]


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running afterwards,
    which the async tests cannot share."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if IS_POSTGRES else 'SQLite'} ({TEST_DATABASE_URL.split('@')[-1]})"


async def _build_schema() -> None:
    from portal.migrations import migrate

    db = engine()
    if IS_POSTGRES:
        await db.run_ddl("DROP SCHEMA public CASCADE")
        await db.run_ddl("CREATE SCHEMA public")
    await migrate()
    await db.close_pool()


def run_in_thread(coroutine_function, *args):
    """Run a coroutine to completion on a fresh loop in another thread.

    (Playwright's sync API keeps an event loop running in the test's thread.)
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result()


@pytest.fixture(scope="session")
def schema() -> None:
    """Apply the committed migrations once per run."""
    run_in_thread(_build_schema)


@pytest.fixture(scope="session")
def settings(schema) -> Settings:
    return Settings.from_env()


async def empty_all_tables() -> None:
    """Delete every row of every portal table (the migration records stay)."""
    from piccolo.conf.apps import Finder

    tables = [t._meta.tablename for t in Finder().get_table_classes()]
    db = engine()
    if IS_POSTGRES:
        await db.run_ddl(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        async with db.transaction():
            await db.run_ddl("PRAGMA defer_foreign_keys = ON")
            for table in tables:
                await db.run_ddl(f'DELETE FROM "{table}"')


@pytest.fixture
async def db(settings):
    """Empty tables for this test, and the engine's connections closed after it."""
    database = engine()
    if IS_POSTGRES:
        await database.start_connection_pool(min_size=1, max_size=8)
    await empty_all_tables()
    try:
        yield database
    finally:
        await database.close_pool()
