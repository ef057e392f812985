"""Client access and the studio team: who may see a project, who works in the studio.

Client access: an invite creates or reuses the client user in the project's client
organisation, adds or renews the access grant, and emails a branded one-click link
(single use, 7 days); a grant can be given an expiry, resent or revoked, and a client
left without any live grant is signed out at once (``grants.access_state`` tells).

The studio team, for every way in (studio, CLI, API later):
- only owners and admins manage the team;
- only an owner gives, changes or takes the owner role, and only an owner removes one;
- a workspace always keeps at least one active owner: the last one can be neither
  demoted nor removed (checked under a lock, so two concurrent demotions cannot both
  pass);
- every role change and removal is audited with who, whom, and from/to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar import Request

from portal import clock
from portal.accounts.grants import access_state
from portal.accounts.magic import normalise_email
from portal.accounts.sessions import Principal, end_all_sessions, ensure_manager
from portal.accounts.tables import STAFF_ROLES, ClientUser, StaffMember
from portal.accounts.tokens import issue_token
from portal.audit.services import record
from portal.db import engine, for_update
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.tables import Project, ProjectAccess
from portal.settings import Settings
from portal.workspaces.tables import Workspace
from portal.workspaces.urls import portal_base_url

# Client access

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
    client_user_id: int = 0

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
        ProjectAccess.client_user.last_login_at, ProjectAccess.client_user,
    ).where(ProjectAccess.project == project_id, ProjectAccess.workspace == staff.workspace_id).order_by(
        ProjectAccess.client_user.email
    )
    today = clock.today()
    return [
        AccessRow(r["id"], r["client_user.email"], r["client_user.name"], grant_state(r, today), r["expires_on"],
                  r["invited_at"], r["client_user.last_login_at"], r["client_user"])
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
    grant = await _staff_grant(staff, project_id, grant_id)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.id == grant_id)
    if not (await access_state(staff.workspace_id, grant["client_user"])).live:
        await end_all_sessions(client_user_id=grant["client_user"])
    await record("grant_revoked", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="project_access", target_id=grant_id)


async def accept_invite(request: Request, workspace_id: int, client_user_id: int) -> None:
    """The client opened an invite link: their pending grants count as accepted."""
    await ProjectAccess.update({ProjectAccess.accepted_at: clock.now()}).where(
        ProjectAccess.workspace == workspace_id, ProjectAccess.client_user == client_user_id,
        ProjectAccess.accepted_at.is_null(),
    )
    await record("invite_accepted", workspace_id=workspace_id, request=request, target_type="client_user",
                 target_id=client_user_id)


# The studio team

LAST_OWNER = "The workspace needs at least one owner: make someone else owner first."


def _ensure_may_set(staff: Principal, current_role: str | None, new_role: str) -> None:
    """An owner's role, or the owner role itself, is an owner's to give or take."""
    if new_role not in STAFF_ROLES:
        raise Invalid({"role": "Choose a role: owner, admin or member."})
    if staff.role != "owner" and "owner" in (current_role, new_role):
        raise Forbidden("Only an owner can give, change or take the owner role.")


async def _locked_team(workspace_id: int) -> list[dict]:
    """The active members with their roles, locked until the transaction ends."""
    query = StaffMember.select(StaffMember.id, StaffMember.role).where(
        StaffMember.workspace == workspace_id, StaffMember.active == True  # noqa: E712
    )
    return await for_update(query)


def _ensure_an_owner_remains(team: list[dict], member_id: int) -> None:
    if not any(m["role"] == "owner" and m["id"] != member_id for m in team):
        raise Conflict(LAST_OWNER)


async def invite_staff(settings: Settings, request: Request, staff: Principal, raw_email: str, name: str, role: str) -> int:
    """Add a team member (or re-invite one, with the given role) and email a studio link."""
    ensure_manager(staff, "invite team members")
    _ensure_may_set(staff, None, role)
    email = normalise_email(raw_email)
    async with engine().write_transaction():
        team = await _locked_team(staff.workspace_id)
        existing = await StaffMember.select(StaffMember.id, StaffMember.role, StaffMember.active).where(
            StaffMember.workspace == staff.workspace_id, StaffMember.email == email
        ).first()
        if existing:
            member_id = existing["id"]
            old_role = existing["role"] if existing["active"] else None
            _ensure_may_set(staff, old_role, role)
            if old_role == "owner" and role != "owner":
                _ensure_an_owner_remains(team, member_id)
            await StaffMember.update({StaffMember.active: True, StaffMember.role: role}).where(StaffMember.id == member_id)
        else:
            old_role = None
            rows = await StaffMember.insert(
                StaffMember(workspace=staff.workspace_id, email=email, name=(name or "").strip()[:200], role=role)
            ).returning(StaffMember.id)
            member_id = rows[0]["id"]
        if old_role is not None and old_role != role:
            await record("staff_role_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                         target_type="staff", target_id=member_id, old_role=old_role, role=role)
    token = await issue_token(workspace_id=staff.workspace_id, staff_id=member_id, purpose="invite",
                              lifetime=dt.timedelta(days=settings.invite_days))
    await enqueue_email(
        settings, workspace_id=staff.workspace_id, to=email, template="staff_invite",
        context={"link_url": f"{settings.base_url}/studio/login/{token}", "days": settings.invite_days,
                 "inviter_name": staff.display_name, "recipient_name": name, "role": role},
    )
    await record("invite_sent", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="staff", target_id=member_id, email=email, role=role)
    return member_id


async def team(staff: Principal) -> list[dict]:
    return await StaffMember.select(
        StaffMember.id, StaffMember.email, StaffMember.name, StaffMember.role, StaffMember.active, StaffMember.last_login_at
    ).where(StaffMember.workspace == staff.workspace_id).order_by(StaffMember.email)


async def _active_member(workspace_id: int, member_id: int) -> dict:
    row = await StaffMember.select(StaffMember.id, StaffMember.role).where(
        StaffMember.id == member_id, StaffMember.workspace == workspace_id, StaffMember.active == True  # noqa: E712
    ).first()
    if row is None:
        raise NotFound()
    return row


async def change_role(request: Request, staff: Principal, member_id: int, role: str) -> None:
    """Give an active team member another role (the rules are in the module docstring)."""
    ensure_manager(staff, "change roles")
    async with engine().write_transaction():
        team = await _locked_team(staff.workspace_id)
        member = await _active_member(staff.workspace_id, member_id)
        _ensure_may_set(staff, member["role"], role)
        if member["role"] == role:
            return
        if member["role"] == "owner":
            _ensure_an_owner_remains(team, member_id)
        await StaffMember.update({StaffMember.role: role}).where(StaffMember.id == member_id)
        await record("staff_role_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="staff", target_id=member_id, old_role=member["role"], role=role)
    # Sessions read the role at every request: the change holds from the next one.


async def remove_staff(request: Request, staff: Principal, member_id: int) -> None:
    """Deactivate a team member and end their sessions (never yourself, never the last owner)."""
    ensure_manager(staff, "remove team members")
    if member_id == staff.user_id:
        raise Conflict("You cannot remove yourself: ask another owner or admin.")
    async with engine().write_transaction():
        team = await _locked_team(staff.workspace_id)
        member = await _active_member(staff.workspace_id, member_id)
        if member["role"] == "owner":
            if staff.role != "owner":
                raise Forbidden("Only an owner can remove an owner.")
            _ensure_an_owner_remains(team, member_id)
        await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == member_id)
        await record("staff_removed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="staff", target_id=member_id, role=member["role"])
    await end_all_sessions(staff_id=member_id)
