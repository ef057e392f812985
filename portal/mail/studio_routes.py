"""Studio routes of the mail area: the outbox list, one message, and sending again.

For owners and admins only: emails name clients and what was sent to them.
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal.accounts.sessions import Principal
from portal.errors import Conflict
from portal.mail import services
from portal.web.auth import owners_and_admins
from portal.web.rendering import page, see_other


def _context(request: Request, staff: Principal, **extra) -> dict:
    settings = request.app.state.settings
    return {"staff": staff, "smtp_configured": settings.smtp_url is not None, "mail_from": settings.mail_from, **extra}


@get("/outbox", guards=[owners_and_admins])
async def outbox_list(request: Request, staff: NamedDependency[Principal]) -> Template:
    """The workspace's recent emails, newest first; ``?status=failed`` and friends filter."""
    current = request.query_params.get("status", "")
    current = current if current in services.FILTERS else ""
    counts = await services.status_counts(staff)
    context = _context(
        request, staff, messages=await services.recent_messages(staff, current), counts=counts,
        tabs=services.filter_tabs(counts), current=current,
    )
    return page(request, "studio/outbox.html", context)


@get("/outbox/{message_id:int}", guards=[owners_and_admins])
async def outbox_message(request: Request, staff: NamedDependency[Principal], message_id: FromPath[int]) -> Template:
    """One email: its details, last error and (unless delivered) its text."""
    detail = await services.message_detail(staff, message_id)
    context = _context(request, staff, message=detail, error=None, notice=request.query_params.get("notice", ""))
    return page(request, "studio/outbox_message.html", context)


@post("/outbox/{message_id:int}/retry", guards=[owners_and_admins])
async def outbox_retry(request: Request, staff: NamedDependency[Principal], message_id: FromPath[int]) -> Response:
    """Send a failed email again (a fresh round of attempts)."""
    try:
        await services.retry(staff, message_id)
    except Conflict as exc:
        detail = await services.message_detail(staff, message_id)
        return page(request, "studio/outbox_message.html", _context(request, staff, message=detail, error=exc, notice=""),
                    status_code=409)
    return see_other(f"/studio/outbox/{message_id}?notice=queued")


#: Routes under /studio that need a signed-in staff member.
HANDLERS = [outbox_list, outbox_message, outbox_retry]
