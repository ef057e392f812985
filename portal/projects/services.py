"""The projects area's rules: what a client's home and Progress tab show, the studio's
overview of a workspace's projects."""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.tables import ClientOrganisation
from portal.projects import queries
from portal.projects.progress import progress_for
from portal.projects.tables import Project
from portal.projects.views import ProjectView, StudioProjectRow, project_view, studio_project_row


async def project_list(project_ids: list[int]) -> list[ProjectView]:
    """Cards for the portal home, in name order (three queries, whatever the count)."""
    rows = await queries.project_cards(project_ids)
    progress = await progress_for(rows)
    return [project_view(row, progress[row["id"]]) for row in rows]


async def project_detail(row: dict) -> ProjectView:
    """``row``: a project already fetched through a scoped lookup."""
    progress = await progress_for([row])
    return project_view(row, progress[row["id"]])


@dataclass(frozen=True)
class Overview:
    projects: list[StudioProjectRow]
    organisations: int


async def studio_overview(workspace_id: int) -> Overview:
    """Every project of the workspace with its progress, by client then name."""
    rows = await Project.select(
        Project.id, Project.name, Project.status, Project.due_date, Project.organisation.name.as_alias("client")
    ).where(Project.workspace == workspace_id).order_by(Project.organisation.name).order_by(Project.name)
    progress = await progress_for(rows)
    organisations = await ClientOrganisation.count().where(ClientOrganisation.workspace == workspace_id)
    return Overview([studio_project_row(row, progress[row["id"]]) for row in rows], organisations)
