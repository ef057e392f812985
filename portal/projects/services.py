"""The projects area's rules: what a client's home and Progress tab show, and the studio's
projects, milestones and work tasks.

Studio rules take the acting staff ``Principal`` and scope every lookup by its workspace:
another workspace's project, milestone, task, organisation or staff member is a 404 (in a
path) or ``Invalid`` (in a form), never a change. Every change is audited in the same
transaction. An archived project is read-only in the studio (``Conflict``) until it is
unarchived; clients' pages do not change with archiving.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar import Request
from piccolo.query.functions.aggregate import Count

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientOrganisation, StaffMember
from portal.audit.services import record
from portal.db import engine, for_update
from portal.errors import Conflict, Invalid, NotFound
from portal.projects import queries
from portal.projects.progress import progress_for
from portal.projects.tables import PROJECT_STATUSES, TASK_STATUSES, Milestone, Project, Task, TaskComment
from portal.projects.views import (
    STATUS_LABELS,
    TASK_STATUS_LABELS,
    MilestoneRow,
    ProjectView,
    StudioProject,
    StudioProjectRow,
    TaskDetail,
    TaskRow,
    milestone_rows,
    project_view,
    studio_project,
    studio_project_row,
    task_detail,
    task_rows,
)

NAME_MAX = 200  # Project.name and Milestone.name are varchar(200)
TITLE_MAX = 300  # Task.title is varchar(300)
TEXT_MAX = 10000
COMMENT_MAX = 5000
ARCHIVED = "This project is archived. Unarchive it to make changes."


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
    archived: int = 0


async def studio_overview(workspace_id: int, *, include_archived: bool = False) -> Overview:
    """The workspace's projects with their progress, by client then name.

    Archived projects are left out unless ``include_archived``; ``archived`` counts them.
    """
    query = Project.select(
        Project.id, Project.name, Project.status, Project.due_date, Project.archived_at,
        Project.organisation.name.as_alias("client"),
    ).where(Project.workspace == workspace_id)
    if not include_archived:
        query = query.where(Project.archived_at.is_null())
    rows = await query.order_by(Project.organisation.name).order_by(Project.name)
    progress = await progress_for(rows)
    organisations = await ClientOrganisation.count().where(ClientOrganisation.workspace == workspace_id)
    archived = await Project.count().where((Project.workspace == workspace_id) & Project.archived_at.is_not_null())
    return Overview([studio_project_row(row, progress[row["id"]]) for row in rows], organisations, archived)


# Choices offered by the studio's forms (and the only ones the rules accept).


async def organisation_choices(workspace_id: int, *, keep: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the workspace's live client organisations (and ``keep``, the current one)."""
    rows = await ClientOrganisation.select(
        ClientOrganisation.id, ClientOrganisation.name, ClientOrganisation.archived_at
    ).where(ClientOrganisation.workspace == workspace_id).order_by(ClientOrganisation.name)
    return [(r["id"], r["name"]) for r in rows if r["archived_at"] is None or r["id"] == keep]


async def staff_choices(workspace_id: int, *, keep: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the workspace's active staff (and ``keep``, e.g. a removed lead still set)."""
    rows = await StaffMember.select(StaffMember.id, StaffMember.name, StaffMember.email, StaffMember.active).where(
        StaffMember.workspace == workspace_id
    ).order_by(StaffMember.name).order_by(StaffMember.email)
    return [(r["id"], r["name"] or r["email"]) for r in rows if r["active"] or r["id"] == keep]


async def milestone_choices(project_id: int) -> list[tuple[int, str]]:
    rows = await Milestone.select(Milestone.id, Milestone.name).where(Milestone.project == project_id).order_by(
        Milestone.position).order_by(Milestone.id)
    return [(r["id"], r["name"]) for r in rows]


# Parsing form values (strings) into what the tables hold.


def _id(value: str | int | None) -> int | None:
    """An id from a form ("" for none); a value that is no id at all is -1 (never a row)."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def _date(value: str, field: str, errors: dict) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = "Enter the date as YYYY-MM-DD, e.g. 2026-12-31."
        return None


def _one_line(value: str) -> str:
    return " ".join((value or "").split())


def _text(value: str) -> str:
    return (value or "").replace("\r\n", "\n").strip()


def _choice(value: int | None, choices: list[tuple[int, str]]) -> bool:
    return value in {key for key, _ in choices}


# Projects


PROJECT_COLUMNS = (
    Project.id, Project.name, Project.organisation, Project.description, Project.status, Project.lead,
    Project.start_date, Project.due_date, Project.created_at, Project.archived_at,
)


async def staff_project_row(staff: Principal, project_id: int, *, lock: bool = False) -> dict:
    """A project of the staff member's workspace (with its client's and lead's names unless ``lock``), or 404."""
    scope = (Project.id == project_id) & (Project.workspace == staff.workspace_id)
    if lock:  # the project's own row only: PostgreSQL locks no row of an outer join's nullable side
        row = await for_update(Project.select(*PROJECT_COLUMNS).where(scope)).first()
    else:
        row = await Project.select(
            *PROJECT_COLUMNS, Project.organisation.name.as_alias("client"),
            Project.lead.name.as_alias("lead_name"), Project.lead.email.as_alias("lead_email"),
        ).where(scope).first()
    if row is None:
        raise NotFound()
    return row


async def _writable(staff: Principal, project_id: int) -> dict:
    """Inside a write transaction: the project, locked; 404 outside the workspace, 409 when archived."""
    row = await staff_project_row(staff, project_id, lock=True)
    if row["archived_at"] is not None:
        raise Conflict(ARCHIVED)
    return row


async def _clean_project(staff: Principal, *, organisation: str, name: str, description: str, lead: str,
                         status: str, start_date: str, due_date: str, current: dict | None = None) -> dict:
    """The project's columns from the form; ``Invalid`` with a message per bad field."""
    errors: dict[str, str] = {}
    values: dict = {}
    org = _id(organisation)
    if org is None:
        errors["organisation"] = "Choose the client organisation."
    elif not _choice(org, await organisation_choices(staff.workspace_id, keep=current and current["organisation"])):
        errors["organisation"] = "Choose one of this workspace's client organisations."
    values["organisation"] = org
    values["name"] = _one_line(name)
    if not values["name"]:
        errors["name"] = "Enter the project's name."
    elif len(values["name"]) > NAME_MAX:
        errors["name"] = f"Keep the name to {NAME_MAX} characters or fewer."
    values["description"] = _text(description)
    if len(values["description"]) > TEXT_MAX:
        errors["description"] = f"Keep the description to {TEXT_MAX} characters or fewer."
    lead_id = _id(lead)
    if lead_id is not None and not _choice(lead_id, await staff_choices(
            staff.workspace_id, keep=current and current["lead"])):
        errors["lead"] = "Choose the lead among this workspace's active team members."
    values["lead"] = lead_id
    if status not in PROJECT_STATUSES:
        errors["status"] = "Choose one of the statuses: " + ", ".join(STATUS_LABELS.values()) + "."
    values["status"] = status
    values["start_date"] = _date(start_date, "start_date", errors)
    values["due_date"] = _date(due_date, "due_date", errors)
    if values["start_date"] and values["due_date"] and values["due_date"] < values["start_date"]:
        errors["due_date"] = "The due date is before the start date."
    if errors:
        raise Invalid(errors)
    return values


async def create_project(staff: Principal, *, organisation: str, name: str, description: str = "", lead: str = "",
                         status: str = "planning", start_date: str = "", due_date: str = "",
                         request: Request | None = None) -> int:
    """A new project of the staff member's workspace; its id. ``Invalid`` (nothing written) for bad input."""
    values = await _clean_project(staff, organisation=organisation, name=name, description=description, lead=lead,
                                  status=status, start_date=start_date, due_date=due_date)
    async with engine().write_transaction():
        inserted = await Project.insert(Project(workspace=staff.workspace_id, **values)).returning(Project.id)
        project_id = inserted[0]["id"]
        await record("project_created", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="project", target_id=project_id, name=values["name"])
    return project_id


async def update_project(staff: Principal, project_id: int, *, organisation: str, name: str, description: str,
                         lead: str, status: str, start_date: str, due_date: str,
                         request: Request | None = None) -> None:
    """Change a project's details: the same rules as ``create_project``; 409 while archived."""
    current = await staff_project_row(staff, project_id)
    values = await _clean_project(staff, organisation=organisation, name=name, description=description, lead=lead,
                                  status=status, start_date=start_date, due_date=due_date, current=current)
    async with engine().write_transaction():
        current = await _writable(staff, project_id)
        changed = sorted(key for key, value in values.items() if current[key] != value)
        if changed:
            await Project.update({getattr(Project, key): values[key] for key in changed}).where(
                Project.id == project_id)
            await record("project_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                         target_type="project", target_id=project_id, changed=changed)


async def set_archived(staff: Principal, project_id: int, archived: bool, *, request: Request | None = None) -> None:
    """Archive (hide from the studio's list, read-only) or unarchive a project; a repeat changes nothing."""
    async with engine().write_transaction():
        row = await staff_project_row(staff, project_id, lock=True)
        if (row["archived_at"] is not None) == archived:
            return
        await Project.update({Project.archived_at: clock.now() if archived else None}).where(Project.id == project_id)
        await record("project_archived" if archived else "project_unarchived", workspace_id=staff.workspace_id,
                     actor=staff, request=request, target_type="project", target_id=project_id)


async def studio_project_detail(staff: Principal, project_id: int) -> StudioProject:
    """The overview: details, the clients' progress, open work tasks."""
    row = await staff_project_row(staff, project_id)
    progress = (await progress_for([row]))[row["id"]]
    counts = await Task.select(Task.status, Count(alias="n")).where(
        (Task.project == project_id) & (Task.workspace == staff.workspace_id) & (Task.kind == "work")
    ).group_by(Task.status)
    by_status = {c["status"]: c["n"] for c in counts}
    open_tasks = by_status.get("todo", 0) + by_status.get("in_progress", 0)
    return studio_project(row, progress, open_tasks=open_tasks, tasks_total=sum(by_status.values()))


# Milestones: a dense 0..n-1 ``position`` sequence per project.


async def _milestone_ids(project_id: int) -> list[int]:
    rows = await Milestone.select(Milestone.id).where(Milestone.project == project_id).order_by(
        Milestone.position).order_by(Milestone.id)
    return [r["id"] for r in rows]


async def _renumber(project_id: int, ordered: list[int]) -> None:
    """Positions 0..n-1 in ``ordered``'s order (only rows whose position changes are written)."""
    rows = await Milestone.select(Milestone.id, Milestone.position).where(Milestone.project == project_id)
    current = {r["id"]: r["position"] for r in rows}
    for position, milestone_id in enumerate(ordered):
        if current.get(milestone_id) != position:
            await Milestone.update({Milestone.position: position}).where(Milestone.id == milestone_id)


async def _milestone(project_id: int, milestone_id: int) -> dict:
    row = await Milestone.select().where((Milestone.id == milestone_id) & (Milestone.project == project_id)).first()
    if row is None:
        raise NotFound()
    return row


def _clean_milestone(name: str, due_date: str) -> dict:
    errors: dict[str, str] = {}
    name = _one_line(name)
    if not name:
        errors["name"] = "Enter the milestone's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Keep the name to {NAME_MAX} characters or fewer."
    due = _date(due_date, "due_date", errors)
    if errors:
        raise Invalid(errors)
    return {"name": name, "due_date": due}


async def milestones(staff: Principal, project_id: int) -> list[MilestoneRow]:
    """The project's milestones in position order, with how many work tasks each has."""
    await staff_project_row(staff, project_id)
    rows = await Milestone.select().where(Milestone.project == project_id).order_by(Milestone.position).order_by(
        Milestone.id)
    counts = await Task.select(Task.milestone, Count(alias="n")).where(
        (Task.project == project_id) & (Task.kind == "work") & Task.milestone.is_not_null()
    ).group_by(Task.milestone)
    return milestone_rows(rows, {c["milestone"]: c["n"] for c in counts})


async def add_milestone(staff: Principal, project_id: int, *, name: str, due_date: str = "",
                        request: Request | None = None) -> int:
    await staff_project_row(staff, project_id)
    values = _clean_milestone(name, due_date)
    async with engine().write_transaction():
        await _writable(staff, project_id)
        position = await Milestone.count().where(Milestone.project == project_id)
        inserted = await Milestone.insert(Milestone(project=project_id, position=position, **values)).returning(
            Milestone.id)
        milestone_id = inserted[0]["id"]
        await _renumber(project_id, await _milestone_ids(project_id))
        await record("milestone_created", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="milestone", target_id=milestone_id, project=project_id, name=values["name"])
    return milestone_id


async def edit_milestone(staff: Principal, project_id: int, milestone_id: int, *, name: str, due_date: str = "",
                         request: Request | None = None) -> None:
    await staff_project_row(staff, project_id)
    await _milestone(project_id, milestone_id)
    values = _clean_milestone(name, due_date)
    async with engine().write_transaction():
        await _writable(staff, project_id)
        current = await _milestone(project_id, milestone_id)
        changed = sorted(key for key, value in values.items() if current[key] != value)
        if changed:
            await Milestone.update({getattr(Milestone, key): values[key] for key in changed}).where(
                Milestone.id == milestone_id)
            await record("milestone_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                         target_type="milestone", target_id=milestone_id, project=project_id, changed=changed)


async def set_milestone_done(staff: Principal, project_id: int, milestone_id: int, done: bool, *,
                             request: Request | None = None) -> None:
    """Complete (``completed_at`` now) or reopen a milestone; a repeat changes nothing."""
    async with engine().write_transaction():
        await _writable(staff, project_id)
        current = await _milestone(project_id, milestone_id)
        if (current["completed_at"] is not None) == done:
            return
        await Milestone.update({Milestone.completed_at: clock.now() if done else None}).where(
            Milestone.id == milestone_id)
        await record("milestone_completed" if done else "milestone_reopened", workspace_id=staff.workspace_id,
                     actor=staff, request=request, target_type="milestone", target_id=milestone_id, project=project_id)


async def delete_milestone(staff: Principal, project_id: int, milestone_id: int, *,
                           request: Request | None = None) -> str:
    """Delete a milestone; its tasks stay, without a milestone. Returns its name."""
    async with engine().write_transaction():
        await _writable(staff, project_id)
        current = await _milestone(project_id, milestone_id)
        await Task.update({Task.milestone: None}).where((Task.milestone == milestone_id) & (Task.project == project_id))
        await Milestone.delete().where(Milestone.id == milestone_id)
        await _renumber(project_id, await _milestone_ids(project_id))
        await record("milestone_deleted", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="milestone", target_id=milestone_id, project=project_id, name=current["name"])
    return current["name"]


async def move_milestone(staff: Principal, project_id: int, milestone_id: int, direction: str, *,
                         request: Request | None = None) -> None:
    """One place up or down (the first cannot go up, the last not down: nothing changes)."""
    await staff_project_row(staff, project_id)  # outsiders get 404 whatever they send
    await _milestone(project_id, milestone_id)
    if direction not in ("up", "down"):
        raise Invalid({"direction": "Move a milestone up or down."})
    async with engine().write_transaction():
        await _writable(staff, project_id)
        await _milestone(project_id, milestone_id)
        ordered = await _milestone_ids(project_id)
        index = ordered.index(milestone_id)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
            await _renumber(project_id, ordered)
            await record("milestone_order_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                         target_type="project", target_id=project_id, order=ordered)
        else:
            await _renumber(project_id, ordered)


async def reorder_milestones(staff: Principal, project_id: int, order: list[int | str], *,
                             request: Request | None = None) -> None:
    """Put the project's milestones in ``order`` (ids): exactly its milestones, each once; else ``Invalid``."""
    ids = [_id(value) for value in order]
    async with engine().write_transaction():
        await _writable(staff, project_id)
        current = await _milestone_ids(project_id)
        if len(ids) != len(current) or set(ids) != set(current):
            raise Invalid({"order": "The list of milestones changed meanwhile. Reload the page and try again."})
        if ids != current:
            await _renumber(project_id, ids)
            await record("milestone_order_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                         target_type="project", target_id=project_id, order=ids)


# Work tasks (``kind='work'``; inbox tasks belong to the feedback inbox and are never touched here).


TASK_COLUMNS = (
    Task.id, Task.title, Task.details, Task.status, Task.assignee, Task.milestone, Task.due_date, Task.created_at,
    Task.completed_at, Task.assignee.name.as_alias("assignee_name"), Task.assignee.email.as_alias("assignee_email"),
    Task.milestone.name.as_alias("milestone_name"),
)


def _work(staff: Principal, project_id: int):
    return (Task.project == project_id) & (Task.workspace == staff.workspace_id) & (Task.kind == "work")


async def _task(staff: Principal, project_id: int, task_id: int) -> dict:
    row = await Task.select(*TASK_COLUMNS).where(_work(staff, project_id) & (Task.id == task_id)).first()
    if row is None:
        raise NotFound()
    return row


@dataclass(frozen=True)
class TaskFilters:
    status: str = ""
    assignee: int | None = None
    milestone: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.status or self.assignee or self.milestone)


def task_filters(status: str = "", assignee: str = "", milestone: str = "") -> TaskFilters:
    """Filters from the query string; an unknown value filters nothing."""
    assignee_id, milestone_id = _id(assignee), _id(milestone)
    return TaskFilters(status if status in TASK_STATUSES else "", assignee_id if assignee_id and assignee_id > 0 else None,
                       milestone_id if milestone_id and milestone_id > 0 else None)


async def tasks(staff: Principal, project_id: int, filters: TaskFilters = TaskFilters()) -> list[TaskRow]:
    await staff_project_row(staff, project_id)
    where = _work(staff, project_id)
    if filters.status:
        where &= Task.status == filters.status
    if filters.assignee:
        where &= Task.assignee == filters.assignee
    if filters.milestone:
        where &= Task.milestone == filters.milestone
    return task_rows(await Task.select(*TASK_COLUMNS).where(where))


async def _clean_task(staff: Principal, project_id: int, *, title: str, details: str, assignee: str, status: str,
                      milestone: str, due_date: str, current: dict | None = None) -> dict:
    errors: dict[str, str] = {}
    values: dict = {"title": _one_line(title), "details": _text(details), "status": status}
    if not values["title"]:
        errors["title"] = "Enter the task's title."
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters or fewer."
    if len(values["details"]) > TEXT_MAX:
        errors["details"] = f"Keep the details to {TEXT_MAX} characters or fewer."
    values["assignee"] = _id(assignee)
    if values["assignee"] is not None and not _choice(values["assignee"], await staff_choices(
            staff.workspace_id, keep=current and current["assignee"])):
        errors["assignee"] = "Choose the assignee among this workspace's active team members."
    if status not in TASK_STATUSES:
        errors["status"] = "Choose one of the statuses: " + ", ".join(TASK_STATUS_LABELS.values()) + "."
    values["milestone"] = _id(milestone)
    if values["milestone"] is not None and not _choice(values["milestone"], await milestone_choices(project_id)):
        errors["milestone"] = "Choose one of this project's milestones."
    values["due_date"] = _date(due_date, "due_date", errors)
    if errors:
        raise Invalid(errors)
    return values


def _completion(status: str, current: dict | None) -> dt.datetime | None:
    """Done sets ``completed_at`` (kept while it stays done); any other status clears it."""
    if status != "done":
        return None
    if current and current["status"] == "done" and current["completed_at"]:
        return current["completed_at"]
    return clock.now()


async def add_task(staff: Principal, project_id: int, *, title: str, details: str = "", assignee: str = "",
                   status: str = "todo", milestone: str = "", due_date: str = "",
                   request: Request | None = None) -> int:
    await staff_project_row(staff, project_id)
    values = await _clean_task(staff, project_id, title=title, details=details, assignee=assignee, status=status,
                               milestone=milestone, due_date=due_date)
    async with engine().write_transaction():
        await _writable(staff, project_id)
        inserted = await Task.insert(Task(
            workspace=staff.workspace_id, project=project_id, kind="work", completed_at=_completion(status, None),
            **values,
        )).returning(Task.id)
        task_id = inserted[0]["id"]
        await record("task_created", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="task", target_id=task_id, project=project_id, status=status)
    return task_id


async def edit_task(staff: Principal, project_id: int, task_id: int, *, title: str, details: str, assignee: str,
                    status: str, milestone: str, due_date: str, request: Request | None = None) -> None:
    await staff_project_row(staff, project_id)
    current = await _task(staff, project_id, task_id)
    values = await _clean_task(staff, project_id, title=title, details=details, assignee=assignee, status=status,
                               milestone=milestone, due_date=due_date, current=current)
    async with engine().write_transaction():
        await _writable(staff, project_id)
        current = await _task(staff, project_id, task_id)
        changed = sorted(key for key, value in values.items() if current[key] != value)
        if not changed:
            return
        changes = {getattr(Task, key): values[key] for key in changed}
        changes[Task.completed_at] = _completion(values["status"], current)
        await Task.update(changes).where(Task.id == task_id)
        await record("task_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="task", target_id=task_id, project=project_id, changed=changed)


async def set_task_status(staff: Principal, project_id: int, task_id: int, status: str, *,
                          request: Request | None = None) -> None:
    await staff_project_row(staff, project_id)  # outsiders get 404 whatever they send
    await _task(staff, project_id, task_id)
    if status not in TASK_STATUSES:
        raise Invalid({"status": "Choose one of the statuses: " + ", ".join(TASK_STATUS_LABELS.values()) + "."})
    async with engine().write_transaction():
        await _writable(staff, project_id)
        current = await _task(staff, project_id, task_id)
        if current["status"] == status:
            return
        await Task.update({Task.status: status, Task.completed_at: _completion(status, current)}).where(
            Task.id == task_id)
        await record("task_status_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="task", target_id=task_id, project=project_id, status=status,
                     previous=current["status"])


async def task_page(staff: Principal, project_id: int, task_id: int) -> TaskDetail:
    """A work task with its internal comments, oldest first."""
    row = await _task(staff, project_id, task_id)
    comments = await TaskComment.select(
        TaskComment.body, TaskComment.created_at, TaskComment.author.name.as_alias("author_name"),
        TaskComment.author.email.as_alias("author_email"),
    ).where(TaskComment.task == task_id).order_by(TaskComment.created_at).order_by(TaskComment.id)
    return task_detail(row, comments)


async def add_comment(staff: Principal, project_id: int, task_id: int, body: str, *,
                      request: Request | None = None) -> None:
    """An internal comment by the staff member; ``Invalid`` when empty or too long."""
    await _task(staff, project_id, task_id)
    body = _text(body)
    if not body:
        raise Invalid({"body": "Write your comment."})
    if len(body) > COMMENT_MAX:
        raise Invalid({"body": f"Keep the comment to {COMMENT_MAX} characters or fewer (it has {len(body)})."})
    async with engine().write_transaction():
        await _writable(staff, project_id)
        await _task(staff, project_id, task_id)
        inserted = await TaskComment.insert(TaskComment(task=task_id, author=staff.user_id, body=body)).returning(
            TaskComment.id)
        await record("task_comment_added", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="task", target_id=task_id, project=project_id, comment=inserted[0]["id"])
