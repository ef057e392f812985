"""Asking for a sign-in link by email: the same answer, after the same work, whatever the email.

The sign-in forms only record the request (``request_portal_link``,
``request_studio_link``); looking the email up, issuing a token and queueing the email
happen in the background (``process_sign_in_requests``, run by every process's outbox
worker loop), so a known email is not answered more slowly than an unknown one.

That step runs in the same process, so its few milliseconds of work could slow whatever
request the process handles next (measured: a request sent right after a known email's
was slower). So it does not run right after the request: the worker is woken at a random
moment 0.2-1.5 s later (or finds the request at its next poll), and the link still
arrives within seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets

from litestar import Request

from portal import clock
from portal.accounts import queries, ratelimit
from portal.accounts.grants import access_state
from portal.accounts.tables import ClientUser, SignInRequest, StaffMember
from portal.accounts.tokens import issue_token
from portal.audit.services import client_ip, record
from portal.db import engine
from portal.errors import Invalid
from portal.mail import outbox
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.settings import Settings
from portal.workspaces.tables import Workspace
from portal.workspaces.urls import portal_base_url

log = logging.getLogger("portal.accounts")

EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,190}\.[^@\s<>\"']{2,63}$")


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not EMAIL.match(email):
        raise Invalid({"email": "Enter an email address like name@company.com."})
    return email


async def _limit(settings: Settings, request: Request, scope: str, email: str) -> None:
    await ratelimit.check(
        [
            (f"link-email:{scope}:{email}", settings.rate_limit_per_email),
            (f"link-ip:{client_ip(request)}", settings.rate_limit_per_ip),
        ]
    )


# The request: the same work, in the same time, whatever the email.


async def _queue(request: Request, area: str, workspace_id: int | None, email: str, audit: dict) -> None:
    """Write the audit row and store the request (one commit), then wake this process's worker."""
    async with engine().write_transaction():
        await record("login_link_requested", workspace_id=workspace_id, actor_email=email, request=request, **audit)
        await SignInRequest.insert(SignInRequest(area=area, workspace=workspace_id, email=email, created_at=clock.now()))
    asyncio.get_running_loop().call_later(_RANDOM.uniform(*WAKE_DELAY), _wake_workers)


#: Seconds after a request when the worker is woken for it (see the module docstring).
WAKE_DELAY = (0.2, 1.5)
_RANDOM = secrets.SystemRandom()


def _wake_workers() -> None:
    for hook in outbox.ENQUEUE_HOOKS:
        hook()


async def request_portal_link(settings: Settings, request: Request, workspace_id: int, raw_email: str) -> None:
    """Ask for a sign-in link to the portal of ``workspace_id``.

    Nothing here depends on whether the email belongs to anyone: the format check, the
    rate limit, the audit row and one ``SignInRequest`` row. The worker then emails a link
    to a client of the workspace with live access, or does nothing
    (``process_sign_in_requests``).
    """
    email = normalise_email(raw_email)
    await _limit(settings, request, f"ws{workspace_id}", email)
    await _queue(request, "portal", workspace_id, email, audit={})


async def request_studio_link(settings: Settings, request: Request, raw_email: str) -> None:
    """Ask for a studio sign-in link: the same work whatever the email (see above)."""
    email = normalise_email(raw_email)
    await _limit(settings, request, "studio", email)
    await _queue(request, "studio", None, email, audit={"area": "studio"})


# The background step: pending requests become tokens and outbox emails.

#: Processed requests are kept this long (for support questions), then pruned.
KEEP_PROCESSED = dt.timedelta(days=1)

#: One request at a time. ``id = (scalar sub-select)`` is evaluated once (an InitPlan on
#: PostgreSQL); ``id IN (SELECT ... LIMIT 1 FOR UPDATE SKIP LOCKED)`` may be planned as a
#: semi-join that runs the sub-select again per row and claims more rows than asked.
async def process_sign_in_requests(settings: Settings, batch: int = 20) -> int:
    """Turn up to ``batch`` pending sign-in requests into links; returns how many were claimed.

    Each request is claimed and handled in one write transaction (IMMEDIATE on SQLite,
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL): the claim, the token and the outbox row
    commit together, so however many worker processes run this, a request is handled
    once, and a crash half-way leaves it pending rather than half done. A request whose
    handling fails is marked processed anyway (and logged), so it cannot block the queue.
    """
    claimed = 0
    while claimed < batch:
        request_id = None
        try:
            async with engine().write_transaction():
                row = await queries.claim_sign_in_request(clock.now(), skip_locked=not settings.is_sqlite)
                if row is None:
                    break
                request_id = row["id"]
                claimed += 1
                await _handle(settings, row)
        except Exception:
            if request_id is None:
                raise
            log.exception("Sign-in request #%s could not be handled; it is dropped", request_id)
            await SignInRequest.update({SignInRequest.processed_at: clock.now()}).where(
                SignInRequest.id == request_id, SignInRequest.processed_at.is_null()
            )
    return claimed


async def _handle(settings: Settings, row: dict) -> None:
    if row["area"] == "portal":
        await _send_portal_link(settings, row["workspace"], row["email"])
    elif row["area"] == "studio":
        await _send_studio_links(settings, row["email"])
    else:
        log.warning("Sign-in request #%s has an unknown area %r", row["id"], row["area"])


async def _send_portal_link(settings: Settings, workspace_id: int | None, email: str) -> None:
    """Email a sign-in link to a client of the workspace with live access; otherwise nothing."""
    workspace = await Workspace.select(
        Workspace.id, Workspace.slug, Workspace.custom_domain, Workspace.domain_status
    ).where(Workspace.id == workspace_id).first()
    if workspace is None:
        return
    person = await ClientUser.select(ClientUser.id, ClientUser.name).where(
        ClientUser.workspace == workspace["id"], ClientUser.email == email, ClientUser.active == True  # noqa: E712
    ).first()
    if person is None or not (await access_state(workspace["id"], person["id"])).live:
        return
    token = await issue_token(
        workspace_id=workspace["id"], client_user_id=person["id"],
        lifetime=dt.timedelta(minutes=settings.login_link_minutes),
    )
    try:
        await enqueue_email(
            settings, workspace_id=workspace["id"], to=email, template="login_link", to_client=True,
            context={"link_url": f"{portal_base_url(settings, workspace)}/login/{token}",
                     "minutes": settings.login_link_minutes, "recipient_name": person["name"]},
        )
    except PortalDisabled:
        return


async def _send_studio_links(settings: Settings, email: str) -> None:
    """Email a studio sign-in link to every active staff membership of this email."""
    members = await StaffMember.select(StaffMember.id, StaffMember.workspace, StaffMember.name).where(
        StaffMember.email == email, StaffMember.active == True  # noqa: E712
    ).order_by(StaffMember.id)
    for member in members:
        token = await issue_token(
            workspace_id=member["workspace"], staff_id=member["id"],
            lifetime=dt.timedelta(minutes=settings.login_link_minutes),
        )
        await enqueue_email(
            settings, workspace_id=member["workspace"], to=email, template="login_link",
            context={"link_url": f"{settings.base_url}/studio/login/{token}",
                     "minutes": settings.login_link_minutes, "recipient_name": member["name"]},
        )


async def prune_sign_in_requests() -> None:
    """Forget requests processed more than a day ago (housekeeping of the worker loop)."""
    await SignInRequest.delete().where(SignInRequest.processed_at < clock.now() - KEEP_PROCESSED)
