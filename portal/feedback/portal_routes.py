"""The portal's Feedback tab: the client's own messages and the form to send one."""

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
from portal.feedback.views import Draft
from portal.web.forms import FORM
from portal.web.rendering import INVALID, page, see_other
from portal.web.tenancy import PortalSite
from portal.workspaces.plans import require


@dataclass
class FeedbackForm:
    # Defaults, so that missing fields are our validation errors (400 with the form),
    # and an outsider's empty POST still meets the 404 of the project lookup first.
    subject: str = ""
    message: str = ""


def _feedback_url(site: PortalSite, project_id: int) -> str:
    return site.url(f"/projects/{project_id}/feedback")


def _tab(request: Request, site: PortalSite, client: Principal, tab, *, sent: bool = False, status_code: int = 200):
    context = {
        "site": site, "client": client, "project": tab.project, "messages": tab.messages, "draft": tab.draft,
        "tab": "feedback", "feedback_url": _feedback_url(site, tab.project.id), "sent": sent,
        "subject_max": services.SUBJECT_MAX, "message_max": services.MESSAGE_MAX,
    }
    return page(request, "portal/feedback.html", context, fragment="portal/_feedback.html", status_code=status_code)


@get("/projects/{project_id:int}/feedback")
async def feedback_tab(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int]
) -> Template:
    require(site.plan, "feedback")
    tab = await services.feedback_tab(client, project_id)
    return _tab(request, site, client, tab, sent=request.query_params.get("sent") == "1")


@post("/projects/{project_id:int}/feedback")
async def send_feedback(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int],
    data: Annotated[FeedbackForm, FORM],
) -> Template | Redirect:
    require(site.plan, "feedback")
    try:
        await services.send_feedback(request.app.state.settings, client, project_id, data.subject, data.message,
                                     request=request)
    except Invalid as exc:
        tab = await services.feedback_tab(client, project_id, Draft(data.subject, data.message, exc.errors))
        return _tab(request, site, client, tab, status_code=INVALID)
    return see_other(f"{_feedback_url(site, project_id)}?sent=1")


#: Under /p/{workspace_slug}, for a signed-in client.
HANDLERS: list = [feedback_tab, send_feedback]
