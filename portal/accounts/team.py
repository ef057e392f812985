"""The studio team: inviting staff, changing roles, removing members.

The rules, for every way in (studio, CLI, API later):
- only owners and admins manage the team;
- only an owner gives, changes or takes the owner role, and only an owner removes one;
- a workspace always keeps at least one active owner: the last one can be neither
  demoted nor removed (checked under a lock, so two concurrent demotions cannot both
  pass);
- every role change and removal is audited with who, whom, and from/to.
"""

from __future__ import annotations

import datetime as dt

from litestar import Request

from portal.accounts.magic import normalise_email
from portal.accounts.sessions import Principal, end_all_sessions
from portal.accounts.tables import MANAGERS, STAFF_ROLES, StaffMember
from portal.accounts.tokens import issue_token
from portal.audit.services import record
from portal.db import engine, for_update
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.mail.outbox import enqueue_email
from portal.settings import Settings

LAST_OWNER = "The workspace needs at least one owner: make someone else owner first."


def _ensure_manager(staff: Principal, action: str) -> None:
    if staff.role not in MANAGERS:
        raise Forbidden(f"Only owners and admins can {action}.")


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
    _ensure_manager(staff, "invite team members")
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
    _ensure_manager(staff, "change roles")
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
    _ensure_manager(staff, "remove team members")
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
