"""A pytest plugin for mutation runs only (``-p tests.mutmut_isolation``, set in pyproject's
``[tool.mutmut]``): each process gets a SQLite database and a data folder of its own.

mutmut 3 forks one child per mutant from the process that ran the test suite first, and
runs two of them at once; they inherit the conftest's one test database, and each test
empties every table before it starts, so two children sharing it would fail each other's
tests and count as kills. A forked child works on a copy of the database that the first
run built (the migrations applied), so it does not build the schema again.
Outside mutmut (no ``MUTANT_UNDER_TEST`` in the environment) it does nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

_FIRST_PID = os.getpid()


def pytest_configure(config) -> None:
    if "MUTANT_UNDER_TEST" not in os.environ or os.getpid() == _FIRST_PID:
        return
    from tests.conftest import IS_POSTGRES, TEST_DIR

    if IS_POSTGRES:
        raise RuntimeError("mutation runs use SQLite: unset PORTAL_TEST_DATABASE_URL")
    from portal.db import engine

    pid = os.getpid()
    base = TEST_DIR / "test.sqlite3"
    target = TEST_DIR / f"mutant-{pid}.sqlite3"
    if base.exists():
        source = sqlite3.connect(base)
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        source.close()
        copy.close()
    data_dir = TEST_DIR / f"data-{pid}"
    os.environ["DATABASE_URL"] = f"sqlite:///{target}"
    os.environ["PORTAL_DATA_DIR"] = str(data_dir)
    engine().path = str(target)
    config.add_cleanup(lambda: _remove(target, data_dir))


def _remove(target, data_dir) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{target}{suffix}")
        except FileNotFoundError:
            pass
    shutil.rmtree(data_dir, ignore_errors=True)
