"""The studio team's rules beyond the first invite: re-inviting a member (a role change,
only theirs), a removed member invited back, the last owner kept, names cleaned, the
messages of a refusal, and the audit events of each change."""

from __future__ import annotations

import httpx

from portal.accounts.services import team
from portal.accounts.sessions import Principal
from portal.accounts.tables import StaffMember
from portal.mail.tables import OutboxMessage
from tests.audit import events, only_event, who
from tests.factories import make_staff, make_workspace
from tests.fixtures import post_form, sign_in_staff


async def roles() -> dict[str, tuple[str, bool]]:
    return {row["email"]: (row["role"], row["active"]) for row in await StaffMember.select()}


async def invite(http, email: str, role: str, name: str = ""):
    return await post_form(http, "/studio/team", {"email": email, "name": name, "role": role})


async def test_a_new_member_is_added_with_a_clean_name_and_the_invite_is_audited(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await invite(http, "Max@Acme.example", "admin", "  Max Power  ")).status_code == 303
    member = await StaffMember.select().where(StaffMember.email == "max@acme.example").first()
    assert (member["name"], member["role"], member["active"]) == ("Max Power", "admin", True)
    event = await only_event("invite_sent")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("staff", member["id"])
    assert event["detail"] == {"email": "max@acme.example", "role": "admin"}
    mail = await OutboxMessage.select().where(OutboxMessage.to_address == "max@acme.example").first()
    assert mail["workspace"] == world.workspace and "/studio/login/" in mail["text_body"]
    assert await events("staff_role_changed") == []


async def test_a_long_name_is_cut_at_200_characters(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    await invite(http, "long@acme.example", "member", "n" * 250)
    member = await StaffMember.select(StaffMember.name).where(StaffMember.email == "long@acme.example").first()
    assert member["name"] == "n" * 200


async def test_re_inviting_a_member_changes_their_role_only_and_is_audited(http, world):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member")
    await make_staff(world.workspace, "kim@acme.example", role="member")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await invite(http, "sam@acme.example", "admin")).status_code == 303
    assert await roles() == {"olivia@acme.example": ("owner", True), "sam@acme.example": ("admin", True),
                             "kim@acme.example": ("member", True)}
    changed = await only_event("staff_role_changed")
    assert who(changed) == (world.workspace, "staff", world.staff, True)
    assert (changed["target_type"], changed["target_id"]) == ("staff", sam)
    assert changed["detail"] == {"old_role": "member", "role": "admin"}
    assert (await only_event("invite_sent"))["target_id"] == sam
    # the same role again: a new invite, no role change
    await invite(http, "sam@acme.example", "admin")
    assert len(await events("staff_role_changed")) == 1 and len(await events("invite_sent")) == 2


async def test_a_removed_member_invited_again_is_active_with_the_new_role_and_no_role_change(http, world):
    await make_staff(world.workspace, "sam@acme.example", role="admin")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.email == "sam@acme.example")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await invite(http, "sam@acme.example", "member")).status_code == 303
    assert (await roles())["sam@acme.example"] == ("member", True)
    assert await events("staff_role_changed") == []


async def test_the_last_owner_cannot_be_re_invited_as_something_else(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    refused = await invite(http, "olivia@acme.example", "member")
    assert refused.status_code == 409
    assert "The workspace needs at least one owner: make someone else owner first." in refused.text
    assert (await roles())["olivia@acme.example"] == ("owner", True)


async def test_an_owner_re_invited_as_admin_while_another_owner_remains(http, world):
    await make_staff(world.workspace, "otto@acme.example", role="owner")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await invite(http, "otto@acme.example", "admin")).status_code == 303
    assert (await roles())["otto@acme.example"] == ("admin", True)
    assert (await only_event("staff_role_changed"))["detail"] == {"old_role": "owner", "role": "admin"}


async def test_refusals_name_what_is_refused(http, world):
    mia = await make_staff(world.workspace, "mia@acme.example", role="member")
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin")
    await sign_in_staff(http, world.workspace, mia)
    assert "Only owners and admins can invite team members." in (await invite(http, "z@acme.example", "member")).text
    refused = await post_form(http, f"/studio/team/{admin}/role", {"role": "member"})
    assert refused.status_code == 403 and "Only owners and admins can change roles." in refused.text
    refused = await post_form(http, f"/studio/team/{admin}/remove")
    assert refused.status_code == 403 and "Only owners and admins can remove team members." in refused.text
    other = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_staff(other, world.workspace, admin)
    refused = await invite(other, "boss@acme.example", "owner")
    assert refused.status_code == 403 and "Only an owner can give, change or take the owner role." in refused.text
    refused = await invite(other, "x@acme.example", "superuser")
    assert refused.status_code == 422 and "Choose a role: owner, admin or member." in refused.text
    assert await StaffMember.count() == 3


async def test_a_role_change_is_audited(http, world):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"/studio/team/{sam}/role", {"role": "admin"})).status_code == 303
    event = await only_event("staff_role_changed")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == ("staff", sam, {"old_role": "member", "role": "admin"})


async def test_the_team_list_is_the_workspace_s_members_by_email(db):
    mine = await make_workspace("acme")
    other = await make_workspace("globex", "Globex")
    zed = await make_staff(mine, "zed@acme.example", role="member", name="Zed")
    amy = await make_staff(mine, "amy@acme.example", role="owner", name="Amy")
    await make_staff(other, "bob@globex.example")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == zed)
    viewer = Principal(kind="staff", user_id=amy, workspace_id=mine, email="amy@acme.example", name="Amy", session_id=0,
                       role="owner")
    rows = await team(viewer)
    assert [(r["id"], r["email"], r["name"], r["role"], r["active"]) for r in rows] == [
        (amy, "amy@acme.example", "Amy", "owner", True), (zed, "zed@acme.example", "Zed", "member", False)]
    assert all("last_login_at" in r for r in rows)
