"""Preview as client, on the web side: the portal's GET pages under
/studio/preview/{client_user_id}, for signed-in staff of the same workspace.

The site's base URL is the preview's, so every link on those pages (tabs, deliverables,
files) stays inside the preview; POST routes are not mounted, and the page wraps its
content in a disabled fieldset, so nothing in it can change anything.
"""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import FromPath

from portal.accounts.preview import preview_principal, previewable_client
from portal.accounts.sessions import Principal
from portal.errors import NotFound
from portal.projects.access import visible_project_ids
from portal.web.tenancy import PortalSite, site_from_row
from portal.workspaces import queries as workspace_queries

PREFIX = "/studio/preview/{client_user_id:int}"


async def provide_preview_site(request: Request, staff: NamedDependency[Principal],
                               client_user_id: FromPath[int]) -> PortalSite:
    # Every preview URL names a client of this workspace, the theme and logo included.
    await previewable_client(staff, client_user_id)
    row = await workspace_queries.site_by_slug(staff.workspace_slug)
    if row is None:
        raise NotFound()
    site = site_from_row(row, f"/studio/preview/{client_user_id}")
    request.state.site = site
    return site


async def provide_preview_client(request: Request, staff: NamedDependency[Principal],
                                 client_user_id: FromPath[int]) -> Principal:
    client = await preview_principal(request, staff, client_user_id)
    request.state.visible_project_ids = await visible_project_ids(client)
    request.state.preview = {"client": client, "staff": staff}
    return client

