"""The studio's dashboard: what needs the team's attention now."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from portal.accounts.sessions import Principal
from portal.projects import services as projects
from portal.web.rendering import page
from portal.workspaces import services as workspaces


@get("/")
async def dashboard(request: Request, staff: NamedDependency[Principal]) -> Template:
    overview = await projects.studio_overview(staff.workspace_id)
    context = {"staff": staff, "workspace": await workspaces.studio_header(staff.workspace_id),
               "projects": overview.projects, "organisations": overview.organisations}
    return page(request, "studio/dashboard.html", context)


#: Under /studio, for a signed-in staff member.
HANDLERS = [dashboard]
