"""The studio's dashboard (what needs the team's attention now) and the Activity page (the audit trail)."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from portal import backup
from portal.accounts.sessions import Principal
from portal.audit import services
from portal.audit.views import ACTORS, kind_options
from portal.projects import services as projects
from portal.web.rendering import page
from portal.workspaces import services as workspaces


def _routes(request: Request) -> frozenset[str]:
    return frozenset(route.path for route in request.app.routes)


@get("/")
async def dashboard(request: Request, staff: NamedDependency[Principal]) -> Template:
    overview = await projects.studio_overview(staff.workspace_id)
    context = {"staff": staff, "workspace": await workspaces.studio_header(staff.workspace_id),
               "projects": overview.projects, "organisations": overview.organisations,
               "dashboard": await services.dashboard(staff, _routes(request))}
    if staff.role == "owner":  # the installation's backups: the owners' concern
        settings = request.app.state.settings
        context |= {"last_backup": backup.latest(settings.backup_dir), "backup_hours": settings.backup_hours,
                    "shows_backup": True}
    return page(request, "studio/dashboard.html", context)


@get("/activity")
async def activity(request: Request, staff: NamedDependency[Principal]) -> Template:
    query = request.query_params
    listing = await services.activity(
        staff, _routes(request), kind=query.get("kind", ""), actor=query.get("actor", "all"),
        project=query.get("project", ""), before=query.get("before", ""),
    )
    context = {
        "staff": staff, "rows": listing.rows, "filters": listing.filters, "older": listing.older,
        "kind_options": kind_options(), "actor_options": list(ACTORS.items()),
        "project_options": [("", "All projects"), *listing.projects],
    }
    return page(request, "studio/activity.html", context)


#: Under /studio, for a signed-in staff member.
HANDLERS = [dashboard, activity]
