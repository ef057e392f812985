"""Login links for existing people (the `portal login-link` command and the demo)."""

from __future__ import annotations

import datetime as dt

from portal.accounts.tables import ClientUser, StaffMember
from portal.accounts.tokens import issue_token
from portal.settings import Settings
from portal.workspaces.tables import Workspace


class NoSuchPerson(LookupError):
    """No staff member or client user with that email in that workspace."""


async def resolve_workspace(slug: str | None) -> dict:
    """The workspace named ``slug``, or the only one when no slug is given."""
    if slug:
        row = await Workspace.select(Workspace.id, Workspace.slug).where(Workspace.slug == slug).first()
        if row is None:
            raise NoSuchPerson(f"no workspace with slug {slug!r}")
        return row
    rows = await Workspace.select(Workspace.id, Workspace.slug).limit(2)
    if len(rows) != 1:
        raise NoSuchPerson("several workspaces exist: name one with --workspace SLUG" if rows else "no workspace exists yet")
    return rows[0]


async def login_link(settings: Settings, email: str, workspace_slug: str | None = None) -> str:
    """A one-time login URL for the staff member or client user with ``email``."""
    workspace = await resolve_workspace(workspace_slug)
    email = email.strip().lower()
    lifetime = dt.timedelta(minutes=settings.login_link_minutes)
    staff = await StaffMember.select(StaffMember.id).where(
        StaffMember.workspace == workspace["id"], StaffMember.email == email, StaffMember.active == True  # noqa: E712
    ).first()
    if staff:
        token = await issue_token(workspace_id=workspace["id"], staff_id=staff["id"], lifetime=lifetime)
        return f"{settings.base_url}/studio/login/{token}"
    client = await ClientUser.select(ClientUser.id).where(
        ClientUser.workspace == workspace["id"], ClientUser.email == email, ClientUser.active == True  # noqa: E712
    ).first()
    if client:
        token = await issue_token(workspace_id=workspace["id"], client_user_id=client["id"], lifetime=lifetime)
        return f"{settings.base_url}/p/{workspace['slug']}/login/{token}"
    raise NoSuchPerson(f"nobody with email {email!r} in workspace {workspace['slug']!r}")
