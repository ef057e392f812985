"""Upgrades: a database of the previous release, with data in it, brought up to date by two
servers starting at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import ExitStack

import httpx

from tests.conftest import TEST_ENV
from tests.fixtures import query_rows
from tests.servers import ROOT, start_server

#: The newest migration of the previous release (move it forward with each release).
PREVIOUS_RELEASE = "2026-12-03T07:23:55:573160"

#: Builds the previous release's schema: each area's migrations up to that release.
_OLD_SCHEMA = f"""
import asyncio
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.conf.apps import Finder

async def main():
    finder, manager = Finder(), BaseMigrationManager()
    for app in finder.get_sorted_app_names():
        ids = sorted(manager.get_migration_modules(finder.get_app_config(app).migrations_folder_path))
        old = [i for i in ids if i <= "{PREVIOUS_RELEASE}"]
        if old:
            result = await run_forwards(app_name=app, migration_id=old[-1])
            assert result.success, result.message

asyncio.run(main())
"""
#: Data written the way the previous release wrote it (its columns only).
_OLD_DATA = [
    "INSERT INTO workspace (slug, name, plan, portal_enabled, accent_color, welcome_message, support_email,"
    " sender_name, created_at) VALUES ('old', 'Old Studio', 'growth', TRUE, '#2952cc', '', '', '', CURRENT_TIMESTAMP)",
    "INSERT INTO stored_file (workspace, sha256, size, content_type, created_at, thumbnail_sha256)"
    " VALUES ((SELECT id FROM workspace WHERE slug = 'old'), '" + "a" * 64 + "', 9, 'application/pdf', CURRENT_TIMESTAMP, NULL)",
]


def test_two_servers_starting_at_once_on_an_old_database_migrate_it_once(spare):
    env = {**TEST_ENV, "PORTAL_DATA_DIR": str(spare.data_dir), "DATABASE_URL": spare.database_url}
    subprocess.run([sys.executable, "-c", _OLD_SCHEMA], cwd=ROOT, env={**env, "PICCOLO_CONF": "portal.piccolo_conf",
                   "PATH": "/usr/bin:/bin"}, check=True, capture_output=True, timeout=120)
    applied_before = query_rows(spare, 'SELECT COUNT(*) FROM "migration"')[0][0]
    assert "preview_status" not in str(query_rows(
        spare, "SELECT sql FROM sqlite_master WHERE name = 'stored_file'" if spare.is_sqlite else
        "SELECT string_agg(column_name, ',') FROM information_schema.columns WHERE table_name = 'stored_file'"))
    query_rows(spare, *_OLD_DATA)

    servers: list = []
    errors: list[BaseException] = []
    with ExitStack() as stack:
        def start(name: str) -> None:
            try:
                servers.append(stack.enter_context(start_server(name, {"PORTAL_DATA_DIR": str(spare.data_dir),
                                                                         "DATABASE_URL": spare.database_url})))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(f"upgrade-{n}",)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(servers) == 2
        for server in servers:
            assert httpx.get(f"{server.url}/readyz").json()["checks"]["database"] == "ok"

    names = [row[0] for row in query_rows(spare, 'SELECT "name" FROM "migration"')]
    assert len(names) == len(set(names)) > int(applied_before)  # each migration once, the new ones too
    # The old rows are there, with the new columns' defaults.
    assert [tuple(str(v) for v in row) for row in query_rows(
        spare, 'SELECT "sha256", "preview_status" FROM "stored_file"')] == [("a" * 64, "")]
