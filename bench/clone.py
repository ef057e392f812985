"""Grow the demo workspace N times: clone its client organisations with everything under them.

``python bench/clone.py 99`` (with ``PORTAL_DATA_DIR`` / ``DATABASE_URL`` of a database
holding only the demo) adds 99 copies of every client organisation, its client users
(new emails), projects, access grants, milestones, tasks, task comments, deliverables
with versions, decisions and comments, project files, invoices with lines, payments and
feedback messages, all INTO THE SAME workspace. Staff, stored files and the workspace
are shared. A copy's ids are the original's plus ``n * OFFSET``, so every reference
inside a copy points into the same copy; alice still sees only her own projects.

One ``INSERT ... SELECT`` per table (a cross join with the copy numbers) in one
transaction: a few seconds on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.settings import Settings  # noqa: E402

#: table -> (columns that reference rows of the copy, columns with a per-copy suffix)
#: in insertion order. Every other column is copied as is.
CLONED = {
    "client_organisation": ((), ("name",)),
    "client_user": (("organisation",), ("email",)),
    "project": (("organisation",), ()),
    "project_access": (("project", "client_user"), ()),
    "milestone": (("project",), ()),
    "task": (("project", "milestone"), ()),
    "task_comment": (("task",), ()),
    "deliverable": (("project",), ()),
    "deliverable_version": (("deliverable",), ()),
    "review_decision": (("deliverable", "version", "client_user"), ()),
    "deliverable_comment": (("deliverable", "version", "client_user"), ()),
    "project_file": (("project",), ()),
    "invoice": (("project",), ("number",)),
    "invoice_line": (("invoice",), ()),
    "payment": (("invoice",), ("checkout_session_id", "payment_intent_id")),
    "feedback_message": (("project", "client_user", "task"), ()),
}


def _tables() -> dict[str, list[str]]:
    """Column names of every cloned table, from the Piccolo table classes."""
    from piccolo.conf.apps import Finder

    by_name = {t._meta.tablename: t for t in Finder().get_table_classes()}
    return {name: [c._meta.db_column_name for c in by_name[name]._meta.columns] for name in CLONED}


def _suffixed(column: str) -> str:
    # Emails stay valid addresses: "c7.alice@northwind.example"; others get " #7".
    if column == "email":
        return "'c' || CAST(k.n AS TEXT) || '.' || t.email"
    if column == "name":
        return "t.name || ' #' || CAST(k.n AS TEXT)"
    return f"t.{column} || '-c' || CAST(k.n AS TEXT)"


async def clone(copies: int) -> dict[str, int]:
    """Add ``copies`` copies of the demo's client side; row counts per table afterwards."""
    from portal.db import engine

    db = engine()
    columns = _tables()
    await db.run_ddl("DROP TABLE IF EXISTS bench_copy")
    await db.run_ddl("CREATE TABLE bench_copy (n INTEGER NOT NULL)")
    async with db.transaction():
        await db.run_ddl("INSERT INTO bench_copy (n) VALUES " + ", ".join(f"({n})" for n in range(1, copies + 1)))
        top = 0
        for table in CLONED:
            rows = await db.run_ddl(f'SELECT max(id) AS m FROM "{table}"')
            top = max(top, rows[0]["m"] or 0)
        offset = 10 ** len(str(top))  # > every original id
        for table, (refs, suffixed) in CLONED.items():
            exprs = []
            for column in columns[table]:
                if column == "id" or column in refs:
                    exprs.append(f"t.{column} + k.n * {offset}")
                elif column in suffixed:
                    exprs.append(_suffixed(column))
                else:
                    exprs.append(f"t.{column}")
            names = ", ".join(f'"{c}"' for c in columns[table])
            await db.run_ddl(
                f'INSERT INTO "{table}" ({names}) SELECT {", ".join(exprs)} '
                f'FROM "{table}" t CROSS JOIN bench_copy k WHERE t.id < {offset}'
            )
    await db.run_ddl("DROP TABLE bench_copy")
    counts = {}
    for table in CLONED:
        if db.engine_type == "postgres":  # explicit ids: move the sequences past them
            await db.run_ddl(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
            )
        counts[table] = (await db.run_ddl(f'SELECT count(*) AS n FROM "{table}"'))[0]["n"]
    if db.engine_type == "postgres":
        await db.run_ddl("ANALYZE")
    return counts


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 99
    settings = Settings.from_env()

    async def run():
        from portal.db import engine

        db = engine()
        if not settings.is_sqlite:
            await db.start_connection_pool()
        try:
            return await clone(copies)
        finally:
            await db.close_pool()

    started = time.perf_counter()
    counts = asyncio.run(run())
    summary = ", ".join(f"{t} {n}" for t, n in counts.items())
    print(f"cloned {copies}x in {time.perf_counter() - started:.1f}s: {summary}")


if __name__ == "__main__":
    main()
