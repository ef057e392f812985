"""The studio's projects: the list, a project's overview, its milestones and its work tasks.

Thin handlers: parse the form, call a rule of ``portal.projects.services`` (which scopes
everything by the staff member's workspace), render. A form with bad input is shown
again with its errors and a 400; success answers 303 with a one-time message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.sessions import Principal
from portal.errors import Invalid
from portal.projects import services
from portal.projects.tables import PROJECT_STATUSES, TASK_STATUSES
from portal.projects.views import STATUS_LABELS, TASK_STATUS_LABELS
from portal.web.forms import FORM
from portal.web.rendering import INVALID, page, see_other
from portal.workspaces import services as workspaces

PROJECT = "/projects/{project_id:int}"
MILESTONE = PROJECT + "/milestones/{milestone_id:int}"
#: ``work_task_id``: the studio inbox names its (inbox) tasks ``task_id``; these are work tasks.
TASK = PROJECT + "/tasks/{work_task_id:int}"

PROJECT_STATUS_CHOICES = [(key, STATUS_LABELS[key]) for key in PROJECT_STATUSES]
TASK_STATUS_CHOICES = [(key, TASK_STATUS_LABELS[key]) for key in TASK_STATUSES]


@dataclass
class ProjectForm:
    organisation: str = ""
    name: str = ""
    description: str = ""
    lead: str = ""
    status: str = "planning"
    start_date: str = ""
    due_date: str = ""


@dataclass
class MilestoneForm:
    name: str = ""
    due_date: str = ""


@dataclass
class MoveForm:
    direction: str = ""


@dataclass
class OrderForm:
    order: str = ""


@dataclass
class TaskForm:
    title: str = ""
    details: str = ""
    assignee: str = ""
    status: str = "todo"
    milestone: str = ""
    due_date: str = ""


@dataclass
class StatusForm:
    status: str = ""
    #: "list": back to the task list (with these filters) instead of the task's page.
    back: str = ""
    filter_status: str = ""
    filter_assignee: str = ""
    filter_milestone: str = ""


@dataclass
class CommentForm:
    body: str = ""


def _url(project_id: int, tail: str = "") -> str:
    return f"/studio/projects/{project_id}{tail}"


async def _base(staff: Principal, **context) -> dict:
    return {"staff": staff, "workspace": await workspaces.studio_header(staff.workspace_id), "errors": {}, **context}


# The list and a new project


async def _list_page(request: Request, staff: Principal, *, show_archived: bool = False, form: ProjectForm | None = None,
                     errors: dict | None = None, status_code: int = 200) -> Template:
    overview = await services.studio_overview(staff.workspace_id, include_archived=show_archived)
    context = await _base(
        staff, projects=overview.projects, organisations=overview.organisations, archived_count=overview.archived,
        show_archived=show_archived, form=form or ProjectForm(), errors=errors or {},
        organisation_choices=await services.organisation_choices(staff.workspace_id),
        staff_choices=await services.staff_choices(staff.workspace_id), status_choices=PROJECT_STATUS_CHOICES,
    )
    return page(request, "studio/projects.html", context, status_code=status_code)


@get("/projects")
async def projects(request: Request, staff: NamedDependency[Principal], archived: FromQuery[str] = "") -> Template:
    return await _list_page(request, staff, show_archived=archived == "1")


@post("/projects")
async def create_project(request: Request, staff: NamedDependency[Principal],
                         data: Annotated[ProjectForm, FORM]) -> Template | Redirect:
    try:
        project_id = await services.create_project(staff, **asdict(data), request=request)
    except Invalid as exc:
        return await _list_page(request, staff, form=data, errors=exc.errors, status_code=INVALID)
    return see_other(_url(project_id), flash="Project created.", request=request)


# Overview


async def _overview_page(request: Request, staff: Principal, project_id: int, *, form: ProjectForm | None = None,
                         errors: dict | None = None, status_code: int = 200) -> Template:
    project = await services.studio_project_detail(staff, project_id)
    if form is None:
        form = ProjectForm(
            organisation=str(project.organisation), name=project.name, description=project.description,
            lead=str(project.lead or ""), status=project.status,
            start_date=project.start_date.isoformat() if project.start_date else "",
            due_date=project.due_date.isoformat() if project.due_date else "",
        )
    context = await _base(
        staff, project=project, section="", form=form, errors=errors or {}, status_choices=PROJECT_STATUS_CHOICES,
        organisation_choices=await services.organisation_choices(staff.workspace_id, keep=project.organisation),
        staff_choices=await services.staff_choices(staff.workspace_id, keep=project.lead),
    )
    return page(request, "studio/project.html", context, status_code=status_code)


@get(PROJECT)
async def project_overview(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _overview_page(request, staff, project_id)


@post(PROJECT + "/edit")
async def edit_project(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                       data: Annotated[ProjectForm, FORM]) -> Template | Redirect:
    try:
        await services.update_project(staff, project_id, **asdict(data), request=request)
    except Invalid as exc:
        return await _overview_page(request, staff, project_id, form=data, errors=exc.errors, status_code=INVALID)
    return see_other(_url(project_id), flash="Project saved.", request=request)


@post(PROJECT + "/archive")
async def archive_project(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Redirect:
    await services.set_archived(staff, project_id, True, request=request)
    return see_other(_url(project_id), flash="Project archived. Clients still see it; it is hidden from your list.",
                     request=request)


@post(PROJECT + "/unarchive")
async def unarchive_project(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Redirect:
    await services.set_archived(staff, project_id, False, request=request)
    return see_other(_url(project_id), flash="Project unarchived.", request=request)


# Milestones


async def _milestones_page(request: Request, staff: Principal, project_id: int, *, form: MilestoneForm | None = None,
                           errors: dict | None = None, editing: int | None = None, edit_form: MilestoneForm | None = None,
                           status_code: int = 200) -> Template:
    project = await services.studio_project_detail(staff, project_id)
    context = await _base(
        staff, project=project, section="milestones", milestones=await services.milestones(staff, project_id),
        form=form or MilestoneForm(), errors=errors if editing is None and errors else {},
        editing=editing, edit_form=edit_form, edit_errors=errors if editing is not None and errors else {},
    )
    return page(request, "studio/milestones.html", context, fragment="studio/milestones_list.html",
                status_code=status_code)


@get(PROJECT + "/milestones")
async def milestones(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _milestones_page(request, staff, project_id)


@post(PROJECT + "/milestones")
async def add_milestone(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                        data: Annotated[MilestoneForm, FORM]) -> Template | Redirect:
    try:
        await services.add_milestone(staff, project_id, name=data.name, due_date=data.due_date, request=request)
    except Invalid as exc:
        return await _milestones_page(request, staff, project_id, form=data, errors=exc.errors, status_code=INVALID)
    return see_other(_url(project_id, "/milestones"), flash="Milestone added.", request=request)


@post(PROJECT + "/milestones/order")
async def reorder_milestones(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                             data: Annotated[OrderForm, FORM]) -> Template | Redirect:
    """The order after a drag and drop (``order``: the ids, comma-separated): answers the new list."""
    order = [value for value in data.order.split(",") if value.strip()]
    await services.reorder_milestones(staff, project_id, order, request=request)
    if request.headers.get("hx-request") == "true":
        return await _milestones_page(request, staff, project_id)
    return see_other(_url(project_id, "/milestones"), flash="Order saved.", request=request)


@post(MILESTONE + "/edit")
async def edit_milestone(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                         milestone_id: FromPath[int], data: Annotated[MilestoneForm, FORM]) -> Template | Redirect:
    try:
        await services.edit_milestone(staff, project_id, milestone_id, name=data.name, due_date=data.due_date,
                                      request=request)
    except Invalid as exc:
        return await _milestones_page(request, staff, project_id, errors=exc.errors, editing=milestone_id,
                                      edit_form=data, status_code=INVALID)
    return see_other(_url(project_id, "/milestones"), flash="Milestone saved.", request=request)


@post(MILESTONE + "/complete")
async def complete_milestone(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                             milestone_id: FromPath[int]) -> Redirect:
    await services.set_milestone_done(staff, project_id, milestone_id, True, request=request)
    return see_other(_url(project_id, "/milestones"), flash="Milestone completed.", request=request)


@post(MILESTONE + "/reopen")
async def reopen_milestone(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                           milestone_id: FromPath[int]) -> Redirect:
    await services.set_milestone_done(staff, project_id, milestone_id, False, request=request)
    return see_other(_url(project_id, "/milestones"), flash="Milestone reopened.", request=request)


@post(MILESTONE + "/move")
async def move_milestone(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                         milestone_id: FromPath[int], data: Annotated[MoveForm, FORM]) -> Redirect:
    await services.move_milestone(staff, project_id, milestone_id, data.direction, request=request)
    return see_other(_url(project_id, f"/milestones#milestone-{milestone_id}"), flash="Order saved.", request=request)


@post(MILESTONE + "/delete")
async def delete_milestone(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                           milestone_id: FromPath[int]) -> Redirect:
    name = await services.delete_milestone(staff, project_id, milestone_id, request=request)
    return see_other(_url(project_id, "/milestones"), flash=f"Milestone “{name}” deleted; its tasks were kept.",
                     request=request)


# Tasks


async def _tasks_page(request: Request, staff: Principal, project_id: int, *, form: TaskForm | None = None,
                      errors: dict | None = None, status_code: int = 200) -> Template:
    query = request.query_params
    filters = services.task_filters(query.get("status", ""), query.get("assignee", ""), query.get("milestone", ""))
    project = await services.studio_project_detail(staff, project_id)
    context = await _base(
        staff, project=project, section="tasks", tasks=await services.tasks(staff, project_id, filters),
        filters=filters, form=form or TaskForm(), errors=errors or {}, status_choices=TASK_STATUS_CHOICES,
        staff_choices=await services.staff_choices(staff.workspace_id),
        milestone_choices=await services.milestone_choices(project_id),
    )
    return page(request, "studio/tasks.html", context, status_code=status_code)


@get(PROJECT + "/tasks")
async def tasks(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _tasks_page(request, staff, project_id)


@post(PROJECT + "/tasks")
async def add_task(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                   data: Annotated[TaskForm, FORM]) -> Template | Redirect:
    try:
        task_id = await services.add_task(staff, project_id, **asdict(data), request=request)
    except Invalid as exc:
        return await _tasks_page(request, staff, project_id, form=data, errors=exc.errors, status_code=INVALID)
    return see_other(_url(project_id, f"/tasks#task-{task_id}"), flash="Task added.", request=request)


async def _task_page(request: Request, staff: Principal, project_id: int, task_id: int, *, form: TaskForm | None = None,
                     errors: dict | None = None, comment: str = "", status_code: int = 200) -> Template:
    project = await services.studio_project_detail(staff, project_id)
    detail = await services.task_page(staff, project_id, task_id)
    task = detail.task
    if form is None:
        form = TaskForm(title=task.title, details=detail.details, assignee=str(task.assignee or ""), status=task.status,
                        milestone=str(task.milestone or ""), due_date=task.due_date.isoformat() if task.due_date else "")
    context = await _base(
        staff, project=project, section="tasks", detail=detail, task=task, form=form, errors=errors or {},
        comment=comment, status_choices=TASK_STATUS_CHOICES,
        staff_choices=await services.staff_choices(staff.workspace_id, keep=task.assignee),
        milestone_choices=await services.milestone_choices(project_id),
    )
    return page(request, "studio/task.html", context, status_code=status_code)


@get(TASK)
async def task(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
               work_task_id: FromPath[int]) -> Template:
    return await _task_page(request, staff, project_id, work_task_id)


@post(TASK + "/edit")
async def edit_task(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                    work_task_id: FromPath[int], data: Annotated[TaskForm, FORM]) -> Template | Redirect:
    try:
        await services.edit_task(staff, project_id, work_task_id, **asdict(data), request=request)
    except Invalid as exc:
        return await _task_page(request, staff, project_id, work_task_id, form=data, errors=exc.errors, status_code=INVALID)
    return see_other(_url(project_id, f"/tasks/{work_task_id}"), flash="Task saved.", request=request)


@post(TASK + "/status")
async def set_task_status(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                          work_task_id: FromPath[int], data: Annotated[StatusForm, FORM]) -> Redirect:
    await services.set_task_status(staff, project_id, work_task_id, data.status, request=request)
    label = TASK_STATUS_LABELS.get(data.status, data.status)
    if data.back == "list":
        filters = services.task_filters(data.filter_status, data.filter_assignee, data.filter_milestone)
        query = urlencode({key: value for key, value in (("status", filters.status), ("assignee", filters.assignee),
                                                          ("milestone", filters.milestone)) if value})
        path = _url(project_id, "/tasks" + (f"?{query}" if query else "") + f"#task-{work_task_id}")
        return see_other(path, flash=f"Status set to {label}.", request=request)
    return see_other(_url(project_id, f"/tasks/{work_task_id}"), flash=f"Status set to {label}.", request=request)


@post(TASK + "/comments")
async def add_comment(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                      work_task_id: FromPath[int], data: Annotated[CommentForm, FORM]) -> Template | Redirect:
    try:
        await services.add_comment(staff, project_id, work_task_id, data.body, request=request)
    except Invalid as exc:
        return await _task_page(request, staff, project_id, work_task_id, errors=exc.errors, comment=data.body,
                                status_code=INVALID)
    return see_other(_url(project_id, f"/tasks/{work_task_id}#comments"), flash="Comment added.", request=request)


#: Under /studio, for a signed-in staff member.
HANDLERS = [
    projects, create_project, project_overview, edit_project, archive_project, unarchive_project,
    milestones, add_milestone, reorder_milestones, edit_milestone, complete_milestone, reopen_milestone,
    move_milestone, delete_milestone, tasks, add_task, task, edit_task, set_task_status, add_comment,
]
