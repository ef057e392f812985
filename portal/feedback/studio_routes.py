"""The studio inbox: feedback from clients, as tasks with a status, an assignee and replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.sessions import Principal
from portal.errors import Invalid
from portal.feedback import services
from portal.feedback.views import INBOX_STATUSES, STATUS_FILTERS, ReplyDraft
from portal.web.forms import FORM
from portal.web.rendering import INVALID, page, see_other


@dataclass
class StatusForm:
    status: str = ""
    back: str = ""


@dataclass
class AssignForm:
    assignee: str = ""


@dataclass
class ReplyForm:
    body: str = ""


async def _back(staff: Principal, task_id: int, back: str) -> str:
    """Where a status change returns: the task's page, its project's Feedback tab, or the inbox (the default)."""
    if back == "task":
        return f"/studio/inbox/{task_id}"
    if back == "project":
        return f"/studio/projects/{(await services.inbox_task(staff, task_id)).project_id}/feedback"
    return "/studio/inbox"


@get("/inbox")
async def inbox(request: Request, staff: NamedDependency[Principal]) -> Template:
    query = request.query_params
    listing = await services.inbox(staff, query.get("status", "open"), query.get("project", ""),
                                   query.get("assignee", ""))
    context = {
        "staff": staff, "items": listing.items, "filters": listing.filters, "projects": listing.projects,
        "statuses": INBOX_STATUSES,
        "status_options": [(key, spec[0]) for key, spec in STATUS_FILTERS.items()],
        "project_options": [("", "All projects"), *listing.projects],
        "assignee_options": [("", "Anyone"), ("me", "Assigned to me"), ("none", "Not assigned"),
                             *[(str(i), name) for i, name in listing.team if i != staff.user_id]],
    }
    return page(request, "studio/inbox.html", context)


async def _task_page(request: Request, staff: Principal, task_id: int, draft: ReplyDraft | None = None,
                     status_code: int = 200) -> Template:
    item = await services.inbox_task(staff, task_id)
    draft = draft or ReplyDraft(assignee=str(item.assignee_id or ""))
    context = {"staff": staff, "item": item, "team": await services.team(staff), "statuses": INBOX_STATUSES,
               "draft": draft, "errors": draft.errors, "reply_max": services.REPLY_MAX}
    return page(request, "studio/inbox_task.html", context, status_code=status_code)


@get("/inbox/{task_id:int}")
async def inbox_task(request: Request, staff: NamedDependency[Principal], task_id: FromPath[int]) -> Template:
    return await _task_page(request, staff, task_id)


@post("/inbox/{task_id:int}/status")
async def set_inbox_status(
    request: Request, staff: NamedDependency[Principal], task_id: FromPath[int],
    data: Annotated[StatusForm, FORM],
) -> Redirect:
    await services.set_inbox_status(staff, task_id, data.status, request=request)
    return see_other(await _back(staff, task_id, data.back), flash="Status updated.", request=request)


@post("/inbox/{task_id:int}/assign")
async def assign(
    request: Request, staff: NamedDependency[Principal], task_id: FromPath[int],
    data: Annotated[AssignForm, FORM],
) -> Template | Redirect:
    try:
        await services.assign(staff, task_id, data.assignee, request=request)
    except Invalid as exc:
        return await _task_page(request, staff, task_id, ReplyDraft(assignee=data.assignee, errors=exc.errors),
                                status_code=INVALID)
    return see_other(f"/studio/inbox/{task_id}", flash="Assignee saved.", request=request)


@post("/inbox/{task_id:int}/reply")
async def reply(
    request: Request, staff: NamedDependency[Principal], task_id: FromPath[int],
    data: Annotated[ReplyForm, FORM],
) -> Template | Redirect:
    try:
        await services.reply(request.app.state.settings, staff, task_id, data.body, request=request)
    except Invalid as exc:
        item = await services.inbox_task(staff, task_id)
        draft = ReplyDraft(body=data.body, assignee=str(item.assignee_id or ""), errors=exc.errors)
        return await _task_page(request, staff, task_id, draft, status_code=INVALID)
    return see_other(f"/studio/inbox/{task_id}", flash="Reply sent to the client.", request=request)


@get("/projects/{project_id:int}/feedback")
async def project_feedback(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    project, items = await services.project_feedback(staff, project_id)
    context = {"staff": staff, "project": project, "items": items, "statuses": INBOX_STATUSES}
    return page(request, "studio/project_feedback.html", context)


#: Under /studio, for a signed-in staff member.
HANDLERS: list = [inbox, inbox_task, set_inbox_status, assign, reply, project_feedback]
