"""The one scoped lookup for client-side reads: which projects a client may see.

Every portal query starts from ``visible_project_ids``; anything else is a 404, never
a 403 that would confirm the thing exists.

Both lookups run on every portal request: plain SQL in ``portal.projects.queries``.
"""

from __future__ import annotations

from portal import clock
from portal.accounts.sessions import Principal
from portal.errors import NotFound
from portal.projects import queries


async def visible_project_ids(principal: Principal) -> list[int]:
    """Ids of the projects this client has a live (unrevoked, unexpired) grant to."""
    if principal.kind != "client":
        return []
    return await queries.granted_project_ids(principal.user_id, principal.workspace_id, clock.today())


async def get_visible_project(principal: Principal, project_id: int) -> dict:
    """The project row if this client may see it; otherwise 404."""
    if principal.kind != "client":
        raise NotFound()
    row = await queries.granted_project(project_id, principal.workspace_id, principal.user_id, clock.today())
    if row is None:
        raise NotFound()
    return row
