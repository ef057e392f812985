"""View objects for portal templates: built for clients, never table rows.

Portal templates receive only these, so an internal column cannot leak into a page
by accident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.db import column_list, fetch
from portal.projects.progress import Progress, progress_for
from portal.projects.tables import Project

STATUS_LABELS = {
    "planning": "Planning",
    "active": "In progress",
    "on_hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
}

PROJECT_COLUMNS = (Project.id, Project.name, Project.description, Project.status, Project.start_date, Project.due_date)
_PROJECTS_SQL = (
    "SELECT " + column_list(PROJECT_COLUMNS) + ' FROM "project" WHERE "id"'
)


@dataclass(frozen=True)
class ProjectView:
    id: int
    name: str
    description: str
    status: str
    status_label: str
    start_date: dt.date | None
    due_date: dt.date | None
    progress: Progress


def _view(row: dict, progress: Progress) -> ProjectView:
    return ProjectView(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        status=row["status"],
        status_label=STATUS_LABELS.get(row["status"], row["status"].title()),
        start_date=row["start_date"],
        due_date=row["due_date"],
        progress=progress,
    )


async def project_list(project_ids: list[int]) -> list[ProjectView]:
    """Cards for the portal home, in name order (three queries, whatever the count)."""
    if not project_ids:
        return []
    # Plain SQL, like the other per-request lookups: Piccolo's select costs more CPU to
    # build than to run (bench/profile_tab.py).
    marks = ", ".join("{}" for _ in project_ids)
    rows = await fetch(f"{_PROJECTS_SQL} IN ({marks}) ORDER BY \"name\"", *project_ids)
    progress = await progress_for(rows)
    return [_view(row, progress[row["id"]]) for row in rows]


def project_header(row: dict) -> ProjectView:
    """The project as a tab's page header shows it (name, status): no queries.

    Only the Progress tab and the home page show progress; the other tabs need not pay
    ``project_detail``'s two progress queries.
    """
    return _view(row, Progress())


async def project_detail(row: dict) -> ProjectView:
    progress = await progress_for([row])
    return _view(row, progress[row["id"]])
