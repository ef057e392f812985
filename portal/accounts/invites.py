"""Giving clients access to a project (and staff to the studio) by invitation.

An invite creates or reuses the client user in the project's client organisation, adds
or renews the access grant, and emails a branded one-click link (single use, 7 days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar import Request

from portal import clock
from portal.accounts.magic import normalise_email
from portal.accounts.sessions import Principal, end_all_sessions
from portal.accounts.tables import ClientUser
from portal.accounts.tokens import issue_token
from portal.audit.services import record
from portal.db import engine
from portal.errors import Conflict, Invalid, NotFound
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.tables import Project, ProjectAccess
from portal.settings import Settings
from portal.workspaces.tables import Workspace
from portal.workspaces.urls import portal_base_url

STATE_LABELS = {"invited": "Invited", "active": "Active", "expired": "Expired", "revoked": "Revoked"}


@dataclass(frozen=True)
class AccessRow:
    grant_id: int
    email: str
    name: str
    state: str
    expires_on: dt.date | None
    invited_at: dt.datetime
    last_login_at: dt.datetime | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def grant_state(row: dict, today: dt.date) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_on"] is not None and row["expires_on"] < today:
        return "expired"
    return "active" if row["accepted_at"] is not None or row["client_user.last_login_at"] else "invited"


async def staff_project(staff: Principal, project_id: int) -> dict:
    """The project if it belongs to the staff member's workspace; otherwise 404."""
    row = await Project.select(Project.id, Project.name, Project.organisation, Project.organisation.name.as_alias("client")).where(
        Project.id == project_id, Project.workspace == staff.workspace_id
    ).first()
    if row is None:
        raise NotFound()
    return row


async def access_list(staff: Principal, project_id: int) -> list[AccessRow]:
    await staff_project(staff, project_id)
    rows = await ProjectAccess.select(
        ProjectAccess.id, ProjectAccess.expires_on, ProjectAccess.revoked_at, ProjectAccess.accepted_at,
        ProjectAccess.invited_at, ProjectAccess.client_user.email, ProjectAccess.client_user.name,
        ProjectAccess.client_user.last_login_at,
    ).where(ProjectAccess.project == project_id, ProjectAccess.workspace == staff.workspace_id).order_by(
        ProjectAccess.client_user.email
    )
    today = clock.today()
    return [
        AccessRow(r["id"], r["client_user.email"], r["client_user.name"], grant_state(r, today), r["expires_on"],
                  r["invited_at"], r["client_user.last_login_at"])
        for r in rows
    ]


def parse_expiry(raw: str | None) -> dt.date | None:
    """An optional YYYY-MM-DD date that is not in the past."""
    if not raw or not raw.strip():
        return None
    try:
        value = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid({"expires_on": "Enter the date as YYYY-MM-DD, or leave it empty for no expiry."}) from None
    if value < clock.today():
        raise Invalid({"expires_on": "The expiry date is in the past."})
    return value


async def _send_invite(settings: Settings, staff: Principal, grant_id: int) -> None:
    row = await ProjectAccess.select(
        ProjectAccess.client_user, ProjectAccess.expires_on, ProjectAccess.client_user.email,
        ProjectAccess.client_user.name, ProjectAccess.project, ProjectAccess.project.name, ProjectAccess.workspace,
    ).where(ProjectAccess.id == grant_id).first()
    workspace = await Workspace.select(Workspace.id, Workspace.slug, Workspace.custom_domain, Workspace.domain_status).where(
        Workspace.id == row["workspace"]
    ).first()
    token = await issue_token(
        workspace_id=row["workspace"], client_user_id=row["client_user"], purpose="invite",
        project_id=row["project"], lifetime=dt.timedelta(days=settings.invite_days),
    )
    await enqueue_email(
        settings, workspace_id=row["workspace"], to=row["client_user.email"], template="invite", to_client=True,
        context={
            "link_url": f"{portal_base_url(settings, workspace)}/login/{token}", "days": settings.invite_days,
            "project_name": row["project.name"], "inviter_name": staff.display_name,
            "recipient_name": row["client_user.name"], "expires_on": row["expires_on"],
        },
    )


async def invite_client(
    settings: Settings, request: Request, staff: Principal, project_id: int, raw_email: str, name: str, raw_expiry: str | None
) -> int:
    """Create or renew a client's access to a project and email the invite; returns the grant id."""
    project = await staff_project(staff, project_id)
    email = normalise_email(raw_email)
    expires_on = parse_expiry(raw_expiry)
    name = (name or "").strip()[:200]
    async with engine().write_transaction():
        user = await ClientUser.select(ClientUser.id, ClientUser.organisation, ClientUser.name).where(
            ClientUser.workspace == staff.workspace_id, ClientUser.email == email
        ).first()
        if user and user["organisation"] != project["organisation"]:
            raise Invalid({"email": "This person is a contact of another client organisation."})
        if user is None:
            rows = await ClientUser.insert(
                ClientUser(workspace=staff.workspace_id, organisation=project["organisation"], email=email, name=name)
            ).returning(ClientUser.id)
            user_id = rows[0]["id"]
        else:
            user_id = user["id"]
            await ClientUser.update({ClientUser.active: True, **({ClientUser.name: name} if name else {})}).where(
                ClientUser.id == user_id
            )
        grant = await ProjectAccess.select(ProjectAccess.id).where(
            ProjectAccess.project == project_id, ProjectAccess.client_user == user_id
        ).first()
        if grant:
            grant_id = grant["id"]
            await ProjectAccess.update({
                ProjectAccess.expires_on: expires_on, ProjectAccess.revoked_at: None,
                ProjectAccess.invited_by: staff.user_id, ProjectAccess.invited_at: clock.now(),
            }).where(ProjectAccess.id == grant_id)
        else:
            rows = await ProjectAccess.insert(ProjectAccess(
                workspace=staff.workspace_id, project=project_id, client_user=user_id, expires_on=expires_on,
                invited_by=staff.user_id, invited_at=clock.now(),
            )).returning(ProjectAccess.id)
            grant_id = rows[0]["id"]
    try:
        await _send_invite(settings, staff, grant_id)
    except PortalDisabled:
        raise Conflict("Access was saved, but no email was sent: the client portal is switched off.") from None
    await record("invite_sent", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="project_access", target_id=grant_id, email=email, expires_on=expires_on)
    return grant_id


async def _staff_grant(staff: Principal, project_id: int, grant_id: int) -> dict:
    row = await ProjectAccess.select(ProjectAccess.id, ProjectAccess.client_user, ProjectAccess.revoked_at).where(
        ProjectAccess.id == grant_id, ProjectAccess.project == project_id, ProjectAccess.workspace == staff.workspace_id
    ).first()
    if row is None:
        raise NotFound()
    return row


async def resend_invite(settings: Settings, request: Request, staff: Principal, project_id: int, grant_id: int) -> None:
    grant = await _staff_grant(staff, project_id, grant_id)
    if grant["revoked_at"] is not None:
        raise Conflict("Access was revoked: invite the person again to restore it.")
    try:
        await _send_invite(settings, staff, grant_id)
    except PortalDisabled:
        raise Conflict("No email was sent: the client portal is switched off.") from None
    await record("invite_sent", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="project_access", target_id=grant_id, resend=True)


async def change_expiry(request: Request, staff: Principal, project_id: int, grant_id: int, raw_expiry: str | None) -> None:
    await _staff_grant(staff, project_id, grant_id)
    expires_on = parse_expiry(raw_expiry)
    await ProjectAccess.update({ProjectAccess.expires_on: expires_on}).where(ProjectAccess.id == grant_id)
    await record("grant_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="project_access", target_id=grant_id, expires_on=expires_on)


async def revoke(request: Request, staff: Principal, project_id: int, grant_id: int) -> None:
    """Revoke one grant; a client left without any live access is signed out at once."""
    from portal.accounts.grants import access_state

    grant = await _staff_grant(staff, project_id, grant_id)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.id == grant_id)
    if not (await access_state(staff.workspace_id, grant["client_user"])).live:
        await end_all_sessions(client_user_id=grant["client_user"])
    await record("grant_revoked", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="project_access", target_id=grant_id)
