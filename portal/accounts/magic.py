"""Asking for a sign-in link by email: same answer whether or not the email exists."""

from __future__ import annotations

import datetime as dt
import re

from litestar import Request

from portal.accounts import ratelimit
from portal.accounts.grants import access_state
from portal.accounts.tables import ClientUser, StaffMember
from portal.accounts.tokens import issue_token
from portal.audit.services import client_ip, record
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.settings import Settings
from portal.workspaces.tables import Workspace
from portal.workspaces.urls import portal_base_url

EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,190}\.[^@\s<>\"']{2,63}$")


class InvalidEmail(ValueError):
    """Not an email address: the form says so (this reveals nothing about accounts)."""


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not EMAIL.match(email):
        raise InvalidEmail("Enter an email address like name@company.com.")
    return email


async def _limit(settings: Settings, request: Request, scope: str, email: str) -> None:
    await ratelimit.check(
        [
            (f"link-email:{scope}:{email}", settings.rate_limit_per_email),
            (f"link-ip:{client_ip(request)}", settings.rate_limit_per_ip),
        ]
    )


async def request_portal_link(settings: Settings, request: Request, workspace_id: int, raw_email: str) -> None:
    """Email a sign-in link to a client of the workspace with live access; otherwise nothing."""
    email = normalise_email(raw_email)
    workspace = await Workspace.select(
        Workspace.id, Workspace.slug, Workspace.custom_domain, Workspace.domain_status
    ).where(Workspace.id == workspace_id).first()
    await _limit(settings, request, f"ws{workspace['id']}", email)
    await record("login_link_requested", workspace_id=workspace["id"], actor_email=email, request=request)
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


async def request_studio_link(settings: Settings, request: Request, raw_email: str) -> None:
    """Email a studio sign-in link to every active staff membership of this email."""
    email = normalise_email(raw_email)
    await _limit(settings, request, "studio", email)
    await record("login_link_requested", workspace_id=None, actor_email=email, request=request, area="studio")
    members = await StaffMember.select(StaffMember.id, StaffMember.workspace, StaffMember.name).where(
        StaffMember.email == email, StaffMember.active == True  # noqa: E712
    )
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
