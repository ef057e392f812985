"""The one scoped lookup for client-side reads: which projects a client may see.

Every portal query starts from ``visible_project_ids``; anything else is a 404, never
a 403 that would confirm the thing exists.

Both lookups run on every portal request, so they are plain SQL: Piccolo spends more
CPU building these selects (about 0.2-0.4 ms each) than SQLite spends running them
(bench/profile_tab.py).
"""

from __future__ import annotations

from portal import clock
from portal.accounts.sessions import Principal
from portal.db import column_list, fetch
from portal.errors import NotFound
from portal.projects.tables import Project

#: A live grant: not revoked and not expired (arguments: client user, workspace, today).
_LIVE_GRANT = (
    'SELECT "project" FROM "project_access" WHERE "client_user" = {} AND "workspace" = {}'
    ' AND "revoked_at" IS NULL AND ("expires_on" IS NULL OR "expires_on" >= {})'
)
_PROJECT_COLUMNS = column_list(Project._meta.columns)
_VISIBLE_PROJECT = (
    f'SELECT {_PROJECT_COLUMNS} FROM "project" WHERE "id" = {{}} AND "workspace" = {{}}'
    f' AND "id" IN ({_LIVE_GRANT})'
)


async def visible_project_ids(principal: Principal) -> list[int]:
    """Ids of the projects this client has a live (unrevoked, unexpired) grant to."""
    if principal.kind != "client":
        return []
    rows = await fetch(_LIVE_GRANT, principal.user_id, principal.workspace_id, clock.today())
    return [row["project"] for row in rows]


async def get_visible_project(principal: Principal, project_id: int) -> dict:
    """The project row if this client may see it; otherwise 404."""
    if principal.kind != "client":
        raise NotFound()
    rows = await fetch(
        _VISIBLE_PROJECT, project_id, principal.workspace_id, principal.user_id, principal.workspace_id, clock.today()
    )
    if not rows:
        raise NotFound()
    return rows[0]
