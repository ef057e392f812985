"""View objects for project pages: built for the page, never table rows.

Portal templates receive only these, so an internal column cannot leak into a page
by accident. Pure shaping: no queries here (they are in ``services`` and ``queries``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.projects.progress import Progress

STATUS_LABELS = {
    "planning": "Planning",
    "active": "In progress",
    "on_hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").title())


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


def project_view(row: dict, progress: Progress) -> ProjectView:
    return ProjectView(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        status=row["status"],
        status_label=status_label(row["status"]),
        start_date=row["start_date"],
        due_date=row["due_date"],
        progress=progress,
    )


def project_header(row: dict) -> ProjectView:
    """The project as a tab's page header shows it (name, status): no queries.

    Only the Progress tab and the home page show progress; the other tabs need not pay
    for the two progress queries.
    """
    return project_view(row, Progress())


@dataclass(frozen=True)
class StudioProjectRow:
    """A line of the studio dashboard's project table."""

    id: int
    name: str
    client: str
    status: str
    status_label: str
    due_date: dt.date | None
    progress: Progress


def studio_project_row(row: dict, progress: Progress) -> StudioProjectRow:
    return StudioProjectRow(
        id=row["id"], name=row["name"], client=row["client"], status=row["status"],
        status_label=status_label(row["status"]), due_date=row["due_date"], progress=progress,
    )
