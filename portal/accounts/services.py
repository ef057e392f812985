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
from piccolo.query.functions.aggregate import Count

from portal import clock
from portal.accounts.grants import access_state
from portal.accounts.magic import normalise_email
from portal.accounts.sessions import Principal, end_all_sessions, ensure_manager
from portal.accounts.tables import STAFF_ROLES, ClientOrganisation, ClientUser, LoginToken, StaffMember
from portal.accounts.tokens import issue_token
from portal.accounts.views import STATE_LABELS, ClientDetail, ClientRow, Person, client_detail, client_rows, grant_state
from portal.audit.services import record
from portal.db import engine, for_update
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.tables import Project, ProjectAccess
from portal.settings import Settings
from portal.workspaces.tables import Workspace
from portal.workspaces.urls import portal_base_url

# Client access

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


async def staff_project(staff: Principal, project_id: int) -> dict:
    """The project if it belongs to the staff member's workspace; otherwise 404."""
    row = await Project.select(Project.id, Project.name, Project.status, Project.organisation, Project.organisation.name.as_alias("client")).where(
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


def _same_person(rows: list[dict], organisation_id: int) -> dict | None:
    """The one person behind an email: the organisation's own row first, then an active
    one elsewhere, then any (a removed contact)."""
    return (next((r for r in rows if r["organisation"] == organisation_id), None)
            or next((r for r in rows if r["active"]), None) or (rows[0] if rows else None))


async def invite_client(
    settings: Settings, request: Request, staff: Principal, project_id: int, raw_email: str, name: str, raw_expiry: str | None
) -> int:
    """Create or renew a client's access to a project and email the invite; returns the grant id."""
    project = await staff_project(staff, project_id)
    email = normalise_email(raw_email)
    expires_on = parse_expiry(raw_expiry)
    name = (name or "").strip()[:200]
    async with engine().write_transaction():
        user = _same_person(await ClientUser.select(ClientUser.id, ClientUser.organisation, ClientUser.active).where(
            ClientUser.workspace == staff.workspace_id, ClientUser.email == email
        ), project["organisation"])
        if user and user["active"] and user["organisation"] != project["organisation"]:
            raise Invalid({"email": "This person is a contact of another client organisation."})
        if user is None:
            rows = await ClientUser.insert(
                ClientUser(workspace=staff.workspace_id, organisation=project["organisation"], email=email, name=name)
            ).returning(ClientUser.id)
            user_id = rows[0]["id"]
        else:
            user_id = user["id"]
            # The organisation's person (added on its Clients page, or removed and now
            # invited again) is reused; a removed contact of another client moves here.
            await ClientUser.update({
                ClientUser.active: True, ClientUser.organisation: project["organisation"],
                **({ClientUser.name: name} if name else {}),
            }).where(ClientUser.id == user_id)
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


# Clients: the workspace's client organisations and their people (studio, every role)

NAME_MAX = 200


def _clean_client_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise Invalid({"name": "Enter the client's name, e.g. the company or organisation."})
    if len(name) > NAME_MAX:
        raise Invalid({"name": f"Keep the name to {NAME_MAX} characters or fewer."})
    return name


def _clean_person_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if len(name) > NAME_MAX:
        raise Invalid({"name": f"Keep the name to {NAME_MAX} characters or fewer."})
    return name


async def _lock_workspace(workspace_id: int) -> None:
    """Serialise this workspace's client changes (uniqueness checks) until the
    transaction ends; SQLite's IMMEDIATE transaction already does."""
    await for_update(Workspace.select(Workspace.id).where(Workspace.id == workspace_id))


async def _ensure_client_name_free(workspace_id: int, name: str, organisation_id: int | None = None) -> None:
    """Names are unique per workspace, ignoring case and surrounding spaces."""
    rows = await ClientOrganisation.select(ClientOrganisation.id, ClientOrganisation.name).where(
        ClientOrganisation.workspace == workspace_id
    )
    key = name.casefold()
    for row in rows:
        if row["id"] != organisation_id and " ".join(row["name"].split()).casefold() == key:
            raise Invalid({"name": f"There is already a client called “{row['name']}”: choose another name."})


async def _organisation(staff: Principal, organisation_id: int) -> dict:
    """The organisation if it belongs to the staff member's workspace; otherwise 404."""
    row = await ClientOrganisation.select(
        ClientOrganisation.id, ClientOrganisation.name, ClientOrganisation.archived_at
    ).where(ClientOrganisation.id == organisation_id, ClientOrganisation.workspace == staff.workspace_id).first()
    if row is None:
        raise NotFound()
    return row


async def clients(staff: Principal, *, show_archived: bool = False) -> tuple[list[ClientRow], int]:
    """The workspace's client organisations (archived ones only when asked) with how
    many projects and active people each has, and how many are archived."""
    organisations = await ClientOrganisation.select(
        ClientOrganisation.id, ClientOrganisation.name, ClientOrganisation.archived_at
    ).where(ClientOrganisation.workspace == staff.workspace_id)
    archived = sum(1 for o in organisations if o["archived_at"] is not None)
    if not show_archived:
        organisations = [o for o in organisations if o["archived_at"] is None]
    projects = await Project.select(Project.organisation, Count()).where(
        Project.workspace == staff.workspace_id
    ).group_by(Project.organisation)
    people = await ClientUser.select(ClientUser.organisation, Count()).where(
        ClientUser.workspace == staff.workspace_id, ClientUser.active == True  # noqa: E712
    ).group_by(ClientUser.organisation)
    return client_rows(organisations, {r["organisation"]: r["count"] for r in projects},
                       {r["organisation"]: r["count"] for r in people}), archived


async def client(staff: Principal, organisation_id: int) -> ClientDetail:
    """One organisation of the workspace with its projects and people (their access
    state over all their grants and last sign-in); 404 for any other."""
    organisation = await _organisation(staff, organisation_id)
    projects = await Project.select(Project.id, Project.name, Project.status).where(
        Project.organisation == organisation_id, Project.workspace == staff.workspace_id
    )
    people = await ClientUser.select(
        ClientUser.id, ClientUser.name, ClientUser.email, ClientUser.active, ClientUser.last_login_at
    ).where(ClientUser.organisation == organisation_id, ClientUser.workspace == staff.workspace_id)
    grants = []
    if people:
        grants = await ProjectAccess.select(
            ProjectAccess.client_user, ProjectAccess.expires_on, ProjectAccess.revoked_at, ProjectAccess.accepted_at,
            ProjectAccess.client_user.last_login_at,
        ).where(ProjectAccess.workspace == staff.workspace_id,
                ProjectAccess.client_user.is_in([p["id"] for p in people]))
    return client_detail(organisation, projects, people, grants, clock.today())


async def client_person(staff: Principal, organisation_id: int, person_id: int) -> tuple[ClientDetail, Person]:
    """An active person of the organisation, with the organisation; 404 otherwise."""
    detail = await client(staff, organisation_id)
    person = next((p for p in detail.active_people if p.id == person_id), None)
    if person is None:
        raise NotFound()
    return detail, person


async def create_client(request: Request, staff: Principal, raw_name: str | None) -> int:
    """A new client organisation; its name is unique in the workspace. Returns its id."""
    name = _clean_client_name(raw_name)
    async with engine().write_transaction():
        await _lock_workspace(staff.workspace_id)
        await _ensure_client_name_free(staff.workspace_id, name)
        rows = await ClientOrganisation.insert(
            ClientOrganisation(workspace=staff.workspace_id, name=name)
        ).returning(ClientOrganisation.id)
        organisation_id = rows[0]["id"]
        await record("client_organisation_created", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="client_organisation", target_id=organisation_id, name=name)
    return organisation_id


async def rename_client(request: Request, staff: Principal, organisation_id: int, raw_name: str | None) -> None:
    organisation = await _organisation(staff, organisation_id)
    name = _clean_client_name(raw_name)
    if name == organisation["name"]:
        return
    async with engine().write_transaction():
        await _lock_workspace(staff.workspace_id)
        await _ensure_client_name_free(staff.workspace_id, name, organisation_id)
        await ClientOrganisation.update({ClientOrganisation.name: name}).where(
            ClientOrganisation.id == organisation_id, ClientOrganisation.workspace == staff.workspace_id
        )
        await record("client_organisation_renamed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="client_organisation", target_id=organisation_id,
                     old_name=organisation["name"], name=name)


async def set_client_archived(request: Request, staff: Principal, organisation_id: int, archived: bool) -> None:
    """Archive (hide from the list and from new projects) or bring back an organisation.
    Its people and their access are left as they are."""
    organisation = await _organisation(staff, organisation_id)
    if (organisation["archived_at"] is not None) == archived:
        return
    await ClientOrganisation.update({ClientOrganisation.archived_at: clock.now() if archived else None}).where(
        ClientOrganisation.id == organisation_id, ClientOrganisation.workspace == staff.workspace_id
    )
    event = "client_organisation_archived" if archived else "client_organisation_unarchived"
    await record(event, workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="client_organisation", target_id=organisation_id)


async def _clients_with_email(workspace_id: int, email: str) -> list[dict]:
    return await ClientUser.select(
        ClientUser.id, ClientUser.name, ClientUser.active, ClientUser.organisation,
        ClientUser.organisation.name.as_alias("organisation_name"),
    ).where(ClientUser.workspace == workspace_id, ClientUser.email == email)


def _already_a_client(row: dict) -> Invalid:
    who = f"{row['name']} of {row['organisation_name']}" if row["name"] else row["organisation_name"]
    return Invalid({"email": f"Someone with this email is already a client: {who}."})


async def add_person(request: Request, staff: Principal, organisation_id: int, raw_name: str | None,
                     raw_email: str | None) -> int:
    """Add a person to the organisation (no access yet: that is given per project).

    The email is unique among the workspace's active client users; a removed person
    with this email is brought back (the same row, moved here if they were elsewhere).
    """
    await _organisation(staff, organisation_id)
    email = normalise_email(raw_email or "")
    name = _clean_person_name(raw_name)
    async with engine().write_transaction():
        await _lock_workspace(staff.workspace_id)
        rows = await _clients_with_email(staff.workspace_id, email)
        active = next((r for r in rows if r["active"]), None)
        if active:
            raise _already_a_client(active)
        removed = _same_person(rows, organisation_id)
        if removed:
            person_id = removed["id"]
            await ClientUser.update({
                ClientUser.active: True, ClientUser.organisation: organisation_id, ClientUser.name: name,
            }).where(ClientUser.id == person_id)
        else:
            inserted = await ClientUser.insert(
                ClientUser(workspace=staff.workspace_id, organisation=organisation_id, email=email, name=name)
            ).returning(ClientUser.id)
            person_id = inserted[0]["id"]
        await record("client_user_added", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="client_user", target_id=person_id, organisation_id=organisation_id, email=email,
                     reactivated=removed is not None)
    return person_id


async def _active_person(staff: Principal, organisation_id: int, person_id: int) -> dict:
    row = await ClientUser.select(ClientUser.id, ClientUser.name, ClientUser.email).where(
        ClientUser.id == person_id, ClientUser.organisation == organisation_id,
        ClientUser.workspace == staff.workspace_id, ClientUser.active == True,  # noqa: E712
    ).first()
    if row is None:
        raise NotFound()
    return row


async def update_person(request: Request, staff: Principal, organisation_id: int, person_id: int,
                        raw_name: str | None, raw_email: str | None) -> None:
    """Change a person's name or email (same rules as adding). A new email voids the
    sign-in and invite links sent to the old one and unlinks their Google account."""
    await _organisation(staff, organisation_id)
    person = await _active_person(staff, organisation_id, person_id)
    email = normalise_email(raw_email or "")
    name = _clean_person_name(raw_name)
    if (name, email) == (person["name"], person["email"]):
        return
    async with engine().write_transaction():
        await _lock_workspace(staff.workspace_id)
        if email != person["email"]:
            others = [r for r in await _clients_with_email(staff.workspace_id, email) if r["id"] != person_id]
            active = next((r for r in others if r["active"]), None)
            if active:
                raise _already_a_client(active)
            if others:
                raise Invalid({"email": "A removed client had this email: add them again instead of changing this "
                                        "person's email."})
            await LoginToken.update({LoginToken.used_at: clock.now()}).where(
                LoginToken.client_user == person_id, LoginToken.used_at.is_null()
            )
        await ClientUser.update({
            ClientUser.name: name, ClientUser.email: email,
            **({ClientUser.oidc_issuer: None, ClientUser.oidc_subject: None} if email != person["email"] else {}),
        }).where(ClientUser.id == person_id)
        await record("client_user_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="client_user", target_id=person_id,
                     **({"old_name": person["name"], "name": name} if name != person["name"] else {}),
                     **({"old_email": person["email"], "email": email} if email != person["email"] else {}))


async def remove_person(request: Request, staff: Principal, organisation_id: int, person_id: int) -> int:
    """Remove a person: inactive, every live grant revoked, unused links voided, every
    session ended at once. Returns how many grants were revoked."""
    await _organisation(staff, organisation_id)
    person = await _active_person(staff, organisation_id, person_id)
    now = clock.now()
    async with engine().write_transaction():
        await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == person_id)
        revoked = await ProjectAccess.update({ProjectAccess.revoked_at: now}).where(
            ProjectAccess.client_user == person_id, ProjectAccess.workspace == staff.workspace_id,
            ProjectAccess.revoked_at.is_null(),
        ).returning(ProjectAccess.id)
        await LoginToken.update({LoginToken.used_at: now}).where(
            LoginToken.client_user == person_id, LoginToken.used_at.is_null()
        )
        await record("client_user_removed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="client_user", target_id=person_id, organisation_id=organisation_id,
                     email=person["email"], grants_revoked=len(revoked))
    await end_all_sessions(client_user_id=person_id)
    return len(revoked)


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


# A new workspace


async def create_workspace_with_owner(slug: str, name: str, plan: str, owner_email: str, owner_name: str = "") -> int:
    """A new workspace and its first owner, together or not at all (the operator's
    ``portal workspace create``): a workspace nobody can sign in to is of no use."""
    from portal.workspaces.services import create_workspace

    email = normalise_email(owner_email)
    async with engine().write_transaction():
        workspace_id = await create_workspace(slug, name, plan)
        await StaffMember.insert(StaffMember(workspace=workspace_id, email=email, name=owner_name.strip()[:200],
                                             role="owner"))
    await record("workspace_created", workspace_id=workspace_id, target_type="workspace", target_id=workspace_id,
                 owner=email)
    return workspace_id
