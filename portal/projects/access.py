"""The one scoped lookup for client-side reads: which projects a client may see.

Every portal query starts from ``visible_project_ids``; anything else is a 404, never
a 403 that would confirm the thing exists.
"""

from __future__ import annotations

from litestar.exceptions import NotFoundException
from piccolo.columns.combination import Or

from portal import clock
from portal.accounts.sessions import Principal
from portal.projects.tables import Project, ProjectAccess


def _live_grant(principal: Principal):
    today = clock.today()
    return (
        (ProjectAccess.client_user == principal.user_id)
        & (ProjectAccess.workspace == principal.workspace_id)
        & ProjectAccess.revoked_at.is_null()
        & Or(ProjectAccess.expires_on.is_null(), ProjectAccess.expires_on >= today)
    )


async def visible_project_ids(principal: Principal) -> list[int]:
    """Ids of the projects this client has a live (unrevoked, unexpired) grant to."""
    if principal.kind != "client":
        return []
    rows = await ProjectAccess.select(ProjectAccess.project).where(_live_grant(principal))
    return [row["project"] for row in rows]


async def get_visible_project(principal: Principal, project_id: int) -> dict:
    """The project row if this client may see it; otherwise 404."""
    if principal.kind != "client":
        raise NotFoundException()
    row = await Project.select().where(
        Project.id == project_id,
        Project.workspace == principal.workspace_id,
        Project.id.is_in(ProjectAccess.select(ProjectAccess.project).where(_live_grant(principal))),
    ).first()
    if row is None:
        raise NotFoundException()
    return row
