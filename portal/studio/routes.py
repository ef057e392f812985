"""The studio (agency staff): the dashboard of the signed-in member's workspace."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from portal.accounts import access_routes
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientOrganisation
from portal.billing import routes as billing
from portal.clientarea.views import STATUS_LABELS
from portal.deliverables import routes as deliverables
from portal.feedback import routes as feedback
from portal.files import routes as files
from portal.mail import routes as mail
from portal.projects.progress import progress_for
from portal.projects.tables import Project
from portal.web.auth import provide_staff
from portal.web.rendering import page
from portal.workspaces import routes as workspace_routes
from portal.workspaces.tables import Workspace


@get("/")
async def dashboard(request: Request, staff: NamedDependency[Principal]) -> Template:
    workspace = await Workspace.select(Workspace.name, Workspace.slug, Workspace.plan).where(
        Workspace.id == staff.workspace_id
    ).first()
    rows = await Project.select(
        Project.id, Project.name, Project.status, Project.due_date, Project.organisation.name.as_alias("client")
    ).where(Project.workspace == staff.workspace_id).order_by(Project.organisation.name).order_by(Project.name)
    progress = await progress_for(rows)
    organisations = await ClientOrganisation.count().where(ClientOrganisation.workspace == staff.workspace_id)
    projects = [
        {**row, "status_label": STATUS_LABELS.get(row["status"], row["status"]), "progress": progress[row["id"]]}
        for row in rows
    ]
    context = {"staff": staff, "workspace": workspace, "projects": projects, "organisations": organisations}
    return page(request, "studio/dashboard.html", context)


@get("/patterns")
async def patterns(staff: NamedDependency[Principal]) -> Template:
    """Every UI component on one page, to keep the look consistent."""
    return Template("patterns.html", context={"staff": staff})


def studio_router() -> Router:
    return Router(
        path="/studio",
        route_handlers=[
            dashboard,
            patterns,
            *access_routes.STUDIO_HANDLERS,
            *workspace_routes.STUDIO_HANDLERS,
            *deliverables.STUDIO_HANDLERS,
            *files.STUDIO_HANDLERS,
            *billing.STUDIO_HANDLERS,
            *feedback.STUDIO_HANDLERS,
            *mail.STUDIO_HANDLERS,
        ],
        dependencies={"staff": Provide(provide_staff)},
    )
