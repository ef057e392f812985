"""The studio inbox: feedback from clients, as tasks with a status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from portal.accounts.sessions import Principal
from portal.feedback import services
from portal.feedback.views import INBOX_STATUSES
from portal.web.rendering import page, see_other


@dataclass
class StatusForm:
    status: str = ""


@get("/inbox")
async def inbox(request: Request, staff: NamedDependency[Principal]) -> Template:
    items = await services.inbox(staff)
    context = {
        "staff": staff, "items": items,
        "statuses": INBOX_STATUSES,
    }
    return page(request, "studio/inbox.html", context)


@post("/inbox/{task_id:int}/status")
async def set_inbox_status(
    request: Request, staff: NamedDependency[Principal], task_id: FromPath[int],
    data: Annotated[StatusForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    await services.set_inbox_status(staff, task_id, data.status)
    return see_other("/studio/inbox", flash="Status updated.", request=request)


#: Under /studio, for a signed-in staff member.
HANDLERS: list = [inbox, set_inbox_status]
