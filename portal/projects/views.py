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
    archived: bool = False


def studio_project_row(row: dict, progress: Progress) -> StudioProjectRow:
    return StudioProjectRow(
        id=row["id"], name=row["name"], client=row["client"], status=row["status"],
        status_label=status_label(row["status"]), due_date=row["due_date"], progress=progress,
        archived=row.get("archived_at") is not None,
    )


# The studio's project pages (staff only: these carry internal data and never reach a
# portal template).

TASK_STATUS_LABELS = {
    "todo": "To do",
    "in_progress": "In progress",
    "done": "Done",
    "cancelled": "Cancelled",
}
#: Open work first, then finished, then dropped.
_TASK_ORDER = {"in_progress": 0, "todo": 1, "done": 2, "cancelled": 3}


def task_status_label(status: str) -> str:
    return TASK_STATUS_LABELS.get(status, status.replace("_", " ").title())


def person_label(row: dict, prefix: str) -> str:
    """The name (or else the email) of the staff member joined in as ``prefix_name``/``prefix_email``."""
    return row.get(f"{prefix}_name") or row.get(f"{prefix}_email") or ""


@dataclass(frozen=True)
class StudioProject:
    """A project as the studio's overview shows it."""

    id: int
    name: str
    client: str
    organisation: int
    description: str
    status: str
    status_label: str
    lead: int | None
    lead_name: str
    start_date: dt.date | None
    due_date: dt.date | None
    created_at: dt.datetime | None
    archived_at: dt.datetime | None
    progress: Progress
    open_tasks: int = 0
    tasks_total: int = 0

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def studio_project(row: dict, progress: Progress, *, open_tasks: int = 0, tasks_total: int = 0) -> StudioProject:
    return StudioProject(
        id=row["id"], name=row["name"], client=row["client"], organisation=row["organisation"],
        description=row["description"], status=row["status"], status_label=status_label(row["status"]),
        lead=row["lead"], lead_name=person_label(row, "lead"), start_date=row["start_date"], due_date=row["due_date"],
        created_at=row.get("created_at"), archived_at=row["archived_at"], progress=progress,
        open_tasks=open_tasks, tasks_total=tasks_total,
    )


@dataclass(frozen=True)
class MilestoneRow:
    id: int
    name: str
    due_date: dt.date | None
    completed_at: dt.datetime | None
    position: int
    first: bool
    last: bool
    tasks: int

    @property
    def done(self) -> bool:
        return self.completed_at is not None


def milestone_rows(rows: list[dict], task_counts: dict[int, int]) -> list[MilestoneRow]:
    """``rows`` in position order."""
    last = len(rows) - 1
    return [
        MilestoneRow(row["id"], row["name"], row["due_date"], row["completed_at"], row["position"],
                     first=index == 0, last=index == last, tasks=task_counts.get(row["id"], 0))
        for index, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class TaskRow:
    id: int
    title: str
    status: str
    status_label: str
    assignee: int | None
    assignee_name: str
    milestone: int | None
    milestone_name: str
    due_date: dt.date | None
    completed_at: dt.datetime | None


def task_row(row: dict) -> TaskRow:
    return TaskRow(
        id=row["id"], title=row["title"], status=row["status"], status_label=task_status_label(row["status"]),
        assignee=row["assignee"], assignee_name=person_label(row, "assignee"), milestone=row["milestone"],
        milestone_name=row.get("milestone_name") or "", due_date=row["due_date"], completed_at=row["completed_at"],
    )


def task_rows(rows: list[dict]) -> list[TaskRow]:
    """Open work first (in progress, then to do), by due date (undated last), then oldest first."""
    ordered = sorted(rows, key=lambda r: (_TASK_ORDER.get(r["status"], 9), r["due_date"] is None,
                                          r["due_date"] or dt.date.min, r["id"]))
    return [task_row(row) for row in ordered]


@dataclass(frozen=True)
class CommentView:
    author: str
    body: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TaskDetail:
    task: TaskRow
    details: str
    created_at: dt.datetime
    comments: list[CommentView]


def task_detail(row: dict, comments: list[dict]) -> TaskDetail:
    return TaskDetail(
        task=task_row(row), details=row["details"], created_at=row["created_at"],
        comments=[CommentView(person_label(c, "author") or "Former team member", c["body"], c["created_at"])
                  for c in comments],
    )
