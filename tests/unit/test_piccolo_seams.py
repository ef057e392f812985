"""The engine relies on private parts of Piccolo (portal/db.py, "Piccolo seams"): this
fails when an upgrade changes one of them, before a query goes the wrong way silently.

Checked against the Piccolo version in ``SEAMS_CHECKED_WITH``; after an upgrade, read the
new Piccolo code for each seam below, adapt ``portal/db.py`` and then the expectations.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType

from portal.db import SEAMS_CHECKED_WITH, PooledTransaction, PortalPostgresEngine, PortalSQLiteEngine


def params(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_seams_were_checked_against_the_installed_piccolo():
    assert version("piccolo") == SEAMS_CHECKED_WITH


def test_sqlite_statement_seams_keep_their_signatures_and_callers():
    assert params(SQLiteEngine._run_in_new_connection) == ["self", "query", "args", "query_type", "table"]
    assert params(SQLiteEngine._run_in_existing_connection) == [
        "self", "connection", "query", "args", "query_type", "table",
    ]
    # Our overrides take the same arguments...
    assert params(PortalSQLiteEngine._run_in_new_connection) == params(SQLiteEngine._run_in_new_connection)
    assert params(PortalSQLiteEngine._run_in_existing_connection) == params(SQLiteEngine._run_in_existing_connection)
    # ...and Piccolo still sends every statement through them.
    for method in (SQLiteEngine.run_querystring, SQLiteEngine.run_ddl):
        source = inspect.getsource(method)
        assert "self._run_in_new_connection(" in source
        assert "self._run_in_existing_connection(" in source


def test_sqlite_transaction_seams():
    assert params(SQLiteEngine.transaction) == ["self", "transaction_type", "allow_nested"]
    assert params(SQLiteTransaction.__init__) == ["self", "engine", "transaction_type", "allow_nested"]
    # PooledTransaction replaces __aenter__/__aexit__ and reads these attributes.
    for attribute in ("_parent", "_committed", "_rolled_back", "connection", "context", "engine", "transaction_type"):
        assert attribute in SQLiteTransaction.__slots__, attribute
    assert {t.value for t in TransactionType} >= {"DEFERRED", "IMMEDIATE"}
    for name in ("commit", "rollback", "get_connection", "begin"):
        assert name in vars(SQLiteTransaction), name
    assert issubclass(PooledTransaction, SQLiteTransaction)


def test_postgres_seams():
    assert params(PostgresEngine.run_querystring) == ["self", "querystring", "in_pool"]
    assert params(PostgresEngine.run_ddl) == ["self", "ddl", "in_pool"]
    assert params(PortalPostgresEngine.run_querystring) == params(PostgresEngine.run_querystring)
    assert params(PortalPostgresEngine.run_ddl) == params(PostgresEngine.run_ddl)
    assert params(PostgresEngine.get_new_connection) == ["self"]
    assert "current_transaction" in inspect.getsource(PostgresEngine.__init__)
