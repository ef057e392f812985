"""Accounts, rule by rule: sessions (what they store, when they end, whose they are),
one-time tokens, rate limits, login links of the CLI, a client's access state, client
access and the clients pages' services, and the studio team, with every field of
their audit events and the exact words of each refusal."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from portal import clock
from portal.accounts import links, ratelimit, services, sessions, tokens
from portal.accounts.grants import AccessState, access_state
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientOrganisation, ClientUser, LoginToken, RateLimitHit, StaffMember, UserSession
from portal.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from portal.mail.tables import OutboxMessage
from portal.projects.tables import ProjectAccess
from tests.audit import events, only_event
from tests.factories import grant, make_client, make_project, make_staff, make_workspace


def staff_of(world, role: str = "owner", user_id: int | None = None, email: str = "olivia@acme.example",
             name: str = "Olivia Owner") -> Principal:
    return Principal(kind="staff", user_id=user_id or world.staff, workspace_id=world.workspace, email=email,
                     name=name, session_id=0, role=role)


def freeze(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(clock, "now", lambda: moment)


# Principals and managers


def test_only_staff_owners_and_admins_are_managers():
    def principal(kind: str, role: str) -> Principal:
        return Principal(kind, 1, 1, "x@y.example", "", 0, role)

    assert principal("staff", "owner").is_manager and principal("staff", "admin").is_manager
    assert not principal("staff", "member").is_manager
    assert not principal("client", "owner").is_manager  # a role on a client counts for nothing


def test_a_refusal_to_a_member_names_the_action():
    member = Principal("staff", 1, 1, "m@acme.example", "", 0, "member")
    with pytest.raises(Forbidden) as refused:
        sessions.ensure_manager(member, "change roles")
    assert refused.value.message == "Only owners and admins can change roles."
    sessions.ensure_manager(dataclasses.replace(member, role="admin"), "change roles")  # no refusal


def test_the_session_cookie_is_host_only_under_https(settings):
    assert sessions.cookie_name(dataclasses.replace(settings, base_url="https://portal.example.com")) == \
        "__Host-portal_session"
    assert sessions.cookie_name(dataclasses.replace(settings, base_url="http://127.0.0.1:8000")) == "portal_session"


# Sessions


async def test_a_new_session_stores_only_a_hash_its_limits_and_the_cut_address_and_agent(settings, world, monkeypatch):
    moment = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    freeze(monkeypatch, moment)
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice,
                                        ip="1" * 60, user_agent="a" * 600)

    row = await UserSession.select().first()
    assert row["id_hash"] == tokens.hash_secret(raw) and raw not in str(row)
    assert (row["workspace"], row["staff"], row["client_user"]) == (world.workspace, None, world.alice)
    assert row["created_at"] == row["last_seen_at"] == moment
    assert row["expires_at"] == moment + dt.timedelta(days=settings.session_max_days)
    assert (row["ip"], row["user_agent"]) == ("1" * 45, "a" * 500)
    people = {r["id"]: r["last_login_at"] for r in await ClientUser.select(ClientUser.id, ClientUser.last_login_at)}
    assert people == {world.alice: moment, world.carol: None}
    assert (await StaffMember.select(StaffMember.last_login_at).first())["last_login_at"] is None


async def test_a_staff_session_marks_the_staff_member_signed_in_and_no_client(settings, world, monkeypatch):
    moment = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    freeze(monkeypatch, moment)
    await sessions.create_session(settings, workspace_id=world.workspace, staff_id=world.staff)

    assert (await StaffMember.select(StaffMember.last_login_at).first())["last_login_at"] == moment
    assert {r["last_login_at"] for r in await ClientUser.select(ClientUser.last_login_at)} == {None}
    row = await UserSession.select(UserSession.staff, UserSession.client_user, UserSession.ip,
                                   UserSession.user_agent).first()
    assert row == {"staff": world.staff, "client_user": None, "ip": "", "user_agent": ""}


async def test_a_session_loads_as_its_staff_member_with_role_and_workspace(settings, world):
    raw = await sessions.create_session(settings, workspace_id=world.workspace, staff_id=world.staff)
    session_id = (await UserSession.select(UserSession.id).first())["id"]

    principal = await sessions.load_session(settings, raw)

    assert principal == Principal("staff", world.staff, world.workspace, "olivia@acme.example", "Olivia Owner",
                                  session_id, "owner", "Acme Agency", "acme")


async def test_a_session_loads_as_its_client_without_a_role(settings, world):
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    session_id = (await UserSession.select(UserSession.id).first())["id"]

    principal = await sessions.load_session(settings, raw)

    assert principal == Principal("client", world.alice, world.workspace, "alice@northwind.example", "Alice Andrews",
                                  session_id, "", "Acme Agency", "acme")


async def test_no_session_for_nothing_an_unknown_id_or_an_overlong_one(settings, world):
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    assert await sessions.load_session(settings, None) is None
    assert await sessions.load_session(settings, "") is None
    assert await sessions.load_session(settings, raw + "x") is None
    assert await sessions.load_session(settings, "x" * 101) is None
    assert await sessions.load_session(settings, raw) is not None


async def test_a_session_ends_at_the_exact_moment_it_expires_and_is_deleted(settings, world, monkeypatch):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    freeze(monkeypatch, start)
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    end = start + dt.timedelta(days=settings.session_max_days)
    # Kept in use: seen a minute before the end.
    await UserSession.update({UserSession.last_seen_at: end - dt.timedelta(minutes=1)}).where(UserSession.id > 0)

    freeze(monkeypatch, end - dt.timedelta(seconds=1))
    assert await sessions.load_session(settings, raw) is not None
    freeze(monkeypatch, end)
    assert await sessions.load_session(settings, raw) is None
    assert await UserSession.count() == 0


async def test_a_session_ends_at_the_exact_end_of_the_idle_window(settings, world, monkeypatch):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    freeze(monkeypatch, start)
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)

    freeze(monkeypatch, start + idle - dt.timedelta(seconds=1))
    assert await sessions.load_session(settings, raw) is not None
    seen = (await UserSession.select(UserSession.last_seen_at).first())["last_seen_at"]
    assert seen == start + idle - dt.timedelta(seconds=1)  # touched
    freeze(monkeypatch, seen + idle)
    assert await sessions.load_session(settings, raw) is None
    assert await UserSession.count() == 0


async def test_last_seen_is_written_only_after_more_than_a_minute(settings, world, monkeypatch):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    freeze(monkeypatch, start)
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)

    freeze(monkeypatch, start + sessions.TOUCH_EVERY)
    await sessions.load_session(settings, raw)
    assert (await UserSession.select(UserSession.last_seen_at).first())["last_seen_at"] == start
    later = start + sessions.TOUCH_EVERY + dt.timedelta(seconds=1)
    freeze(monkeypatch, later)
    await sessions.load_session(settings, raw)
    assert (await UserSession.select(UserSession.last_seen_at).first())["last_seen_at"] == later


async def test_a_session_of_someone_deactivated_loads_as_nobody(settings, world):
    staff_raw = await sessions.create_session(settings, workspace_id=world.workspace, staff_id=world.staff)
    client_raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    assert await sessions.load_session(settings, staff_raw) is None
    assert await sessions.load_session(settings, client_raw) is not None
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.alice)
    assert await sessions.load_session(settings, client_raw) is None


async def test_ending_sessions_ends_only_the_ones_named(settings, world):
    alice_one = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    carol = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.carol)
    olivia = await sessions.create_session(settings, workspace_id=world.workspace, staff_id=world.staff)

    await sessions.end_session(None)
    await sessions.end_session("")
    assert await UserSession.count() == 4
    await sessions.end_session(alice_one)
    assert await sessions.load_session(settings, alice_one) is None and await UserSession.count() == 3

    await sessions.end_all_sessions(client_user_id=world.alice)
    assert {r["client_user"] for r in await UserSession.select(UserSession.client_user)} == {world.carol, None}
    await sessions.end_all_sessions(staff_id=world.staff)
    assert await sessions.load_session(settings, olivia) is None
    assert await sessions.load_session(settings, carol) is not None
    await sessions.end_all_sessions()
    assert await UserSession.count() == 1


# One-time tokens


async def test_a_token_is_usable_until_the_exact_moment_it_expires(world, monkeypatch):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    freeze(monkeypatch, start)
    raw = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice,
                                   lifetime=dt.timedelta(minutes=15))
    row = await LoginToken.select().first()
    assert (row["created_at"], row["expires_at"], row["purpose"], row["project_id"]) == (
        start, start + dt.timedelta(minutes=15), "login", None)

    freeze(monkeypatch, start + dt.timedelta(minutes=15))
    assert await tokens.peek_token(raw, world.workspace) is None
    assert await tokens.consume_token(raw, world.workspace) is None
    freeze(monkeypatch, start + dt.timedelta(minutes=15) - dt.timedelta(microseconds=1))
    owner = tokens.TokenOwner(world.workspace, None, world.alice, "login")
    assert await tokens.peek_token(raw, world.workspace) == owner
    assert await tokens.consume_token(raw, world.workspace) == owner
    assert await tokens.peek_token(raw, world.workspace) is None  # used


async def test_a_token_is_only_good_in_its_own_workspace_or_with_none_named(world):
    other = await make_workspace("globex-studio", "Other studio")
    raw = await tokens.issue_token(workspace_id=world.workspace, staff_id=world.staff, purpose="invite",
                                   lifetime=dt.timedelta(days=1))
    owner = tokens.TokenOwner(world.workspace, world.staff, None, "invite")

    assert await tokens.peek_token(raw, other) is None
    assert await tokens.consume_token(raw, other) is None
    assert await tokens.peek_token(raw, None) == owner
    assert await tokens.consume_token(raw, None) == owner
    assert await tokens.consume_token(raw, None) is None


async def test_a_token_of_one_person_leaves_other_peoples_tokens_alone(world):
    alice = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice,
                                     lifetime=dt.timedelta(minutes=15))
    carol = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.carol,
                                     lifetime=dt.timedelta(minutes=15))
    olivia = await tokens.issue_token(workspace_id=world.workspace, staff_id=world.staff,
                                      lifetime=dt.timedelta(minutes=15))
    assert await tokens.peek_token(alice, world.workspace) is not None
    assert await tokens.peek_token(carol, world.workspace) is not None
    await tokens.issue_token(workspace_id=world.workspace, staff_id=world.staff, lifetime=dt.timedelta(minutes=15))
    assert await tokens.peek_token(olivia, world.workspace) is None
    assert await tokens.peek_token(alice, world.workspace) is not None


async def test_a_projectless_invite_is_voided_only_by_another_projectless_invite(world):
    old = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice, purpose="invite",
                                   lifetime=dt.timedelta(days=7))
    await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice, purpose="invite",
                             project_id=world.project_a, lifetime=dt.timedelta(days=7))
    assert await tokens.peek_token(old, world.workspace) is not None
    await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice, purpose="invite",
                             lifetime=dt.timedelta(days=7))
    assert await tokens.peek_token(old, world.workspace) is None


async def test_issue_token_names_the_bad_purpose_and_the_project_rule(world):
    with pytest.raises(ValueError) as bad:
        await tokens.issue_token(workspace_id=world.workspace, staff_id=world.staff, purpose="reset",
                                 lifetime=dt.timedelta(days=1))
    assert str(bad.value) == "unknown token purpose 'reset'"
    with pytest.raises(ValueError) as both:
        await tokens.issue_token(workspace_id=world.workspace, staff_id=world.staff, client_user_id=world.alice,
                                 lifetime=dt.timedelta(days=1))
    assert str(both.value) == "a token belongs to exactly one person: give staff_id or client_user_id"
    for kwargs in ({"staff_id": world.staff, "purpose": "invite"}, {"client_user_id": world.alice}):
        with pytest.raises(ValueError) as named:
            await tokens.issue_token(workspace_id=world.workspace, project_id=world.project_a,
                                     lifetime=dt.timedelta(days=1), **kwargs)
        assert str(named.value) == "only a client's invite names a project"
    assert await LoginToken.count() == 0


# Rate limits


def test_too_many_attempts_says_how_long_to_wait():
    refusal = ratelimit.too_many_attempts()
    assert isinstance(refusal, RateLimited)
    assert refusal.message == "Too many attempts. Please wait 15 minutes and try again."
    assert refusal.retry_after == 900


async def test_a_limit_allows_exactly_that_many_attempts_per_key_within_the_window(world, monkeypatch):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    freeze(monkeypatch, start)
    assert [await ratelimit.hit("k", 2) for _ in range(3)] == [True, True, False]
    assert await ratelimit.hit("other", 2)  # another key counts on its own
    assert await RateLimitHit.count().where(RateLimitHit.key == "k") == 2  # a refused attempt is not stored

    freeze(monkeypatch, start + ratelimit.WINDOW)  # the first hits are exactly one window old: gone
    assert await ratelimit.hit("k", 2)


async def test_check_counts_every_key_and_refuses_if_any_is_over(world):
    await ratelimit.check([("a", 1), ("b", 5)])
    with pytest.raises(RateLimited) as refused:
        await ratelimit.check([("a", 1), ("b", 5)])
    assert refused.value.retry_after == 900
    assert await RateLimitHit.count().where(RateLimitHit.key == "b") == 2  # counted although "a" refused


async def test_pruning_keeps_hits_of_the_window_exactly(world, monkeypatch):
    now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    for age in (ratelimit.WINDOW + dt.timedelta(seconds=1), ratelimit.WINDOW, dt.timedelta(0)):
        await RateLimitHit.insert(RateLimitHit(key=str(age), created_at=now - age))
    freeze(monkeypatch, now)
    await ratelimit.prune()
    assert sorted(r["key"] for r in await RateLimitHit.select(RateLimitHit.key)) == ["0:00:00", "0:15:00"]


# Login links (the CLI)


async def test_login_links_go_to_the_studio_or_the_portal_and_ignore_case(settings, world):
    staff_link = await links.login_link(settings, "  OLIVIA@acme.example ")
    assert staff_link.startswith(f"{settings.base_url}/studio/login/")
    token = staff_link.rsplit("/", 1)[1]
    assert await tokens.peek_token(token, world.workspace) == tokens.TokenOwner(world.workspace, world.staff, None,
                                                                                "login")
    row = await LoginToken.select(LoginToken.created_at, LoginToken.expires_at).first()
    assert row["expires_at"] - row["created_at"] == dt.timedelta(minutes=settings.login_link_minutes)

    client_link = await links.login_link(settings, "alice@northwind.example", "acme")
    assert client_link.startswith(f"{settings.base_url}/p/acme/login/")
    owner = await tokens.peek_token(client_link.rsplit("/", 1)[1], world.workspace)
    assert owner == tokens.TokenOwner(world.workspace, None, world.alice, "login")


async def test_no_login_link_for_the_inactive_or_unknown_and_the_message_says_who(settings, world):
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.alice)
    for email in ("olivia@acme.example", "alice@northwind.example"):
        with pytest.raises(links.NoSuchPerson) as nobody:
            await links.login_link(settings, email)
        assert str(nobody.value) == f"nobody with email {email!r} in workspace 'acme'"
    assert await LoginToken.count() == 0


async def test_the_workspace_of_a_login_link_is_named_or_the_only_one(settings, db):
    with pytest.raises(links.NoSuchPerson) as none:
        await links.resolve_workspace(None)
    assert str(none.value) == "no workspace exists yet"
    first = await make_workspace("acme")
    assert await links.resolve_workspace(None) == {"id": first, "slug": "acme"}
    second = await make_workspace("beta", "Beta")
    with pytest.raises(links.NoSuchPerson) as several:
        await links.resolve_workspace(None)
    assert str(several.value) == "several workspaces exist: name one with --workspace SLUG"
    assert await links.resolve_workspace("beta") == {"id": second, "slug": "beta"}
    with pytest.raises(links.NoSuchPerson) as unknown:
        await links.resolve_workspace("gamma")
    assert str(unknown.value) == "no workspace with slug 'gamma'"


async def test_a_login_link_is_for_the_named_workspace_only(settings, world):
    beta = await make_workspace("beta", "Beta")
    beta_olivia = await make_staff(beta, "olivia@acme.example")
    link = await links.login_link(settings, "olivia@acme.example", "beta")
    owner = await tokens.peek_token(link.rsplit("/", 1)[1], None)
    assert (owner.workspace_id, owner.staff_id) == (beta, beta_olivia)
    org = await ClientOrganisation.insert(ClientOrganisation(workspace=beta, name="Beta client")).returning(
        ClientOrganisation.id)
    beta_alice = await make_client(beta, org[0]["id"], "alice@northwind.example")
    link = await links.login_link(settings, "alice@northwind.example", "beta")
    assert link.startswith(f"{settings.base_url}/p/beta/login/")
    owner = await tokens.peek_token(link.rsplit("/", 1)[1], None)
    assert (owner.workspace_id, owner.client_user_id) == (beta, beta_alice)


# A client's access state


async def test_access_is_live_while_any_grant_is_unrevoked_and_unexpired(world, monkeypatch):
    today = clock.today()
    assert await access_state(world.workspace, world.alice) == AccessState(True, None)
    await ProjectAccess.update({ProjectAccess.expires_on: today}).where(ProjectAccess.client_user == world.alice)
    assert await access_state(world.workspace, world.alice) == AccessState(True, None)  # the last day counts
    await ProjectAccess.update({ProjectAccess.expires_on: today - dt.timedelta(days=1)}).where(
        ProjectAccess.client_user == world.alice)
    assert await access_state(world.workspace, world.alice) == AccessState(False, today - dt.timedelta(days=1))


async def test_access_ended_on_is_the_latest_expiry_of_the_unrevoked_grants(world):
    today = clock.today()
    second = await make_project(world.workspace, world.org_a, "Second")
    third = await make_project(world.workspace, world.org_a, "Third")
    await ProjectAccess.update({ProjectAccess.expires_on: today - dt.timedelta(days=9)}).where(
        ProjectAccess.client_user == world.alice)
    await grant(world.workspace, second, world.alice, expires_on=today - dt.timedelta(days=3))
    revoked = await grant(world.workspace, third, world.alice, expires_on=today - dt.timedelta(days=1))
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.id == revoked)
    assert await access_state(world.workspace, world.alice) == AccessState(False, today - dt.timedelta(days=3))
    # A revoked grant without expiry is no live access either, and has no end date.
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now(), ProjectAccess.expires_on: None}).where(
        ProjectAccess.client_user == world.carol)
    assert await access_state(world.workspace, world.carol) == AccessState(False, None)
    # Grants are counted in their own workspace only.
    assert await access_state(world.workspace + 1000, world.alice) == AccessState(False, None)


async def test_a_revoked_grant_without_expiry_beside_a_live_one_keeps_access(world):
    second = await make_project(world.workspace, world.org_a, "Second")
    revoked = await grant(world.workspace, second, world.alice)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.id == revoked)
    assert (await access_state(world.workspace, world.alice)).live


# Client access: invites, expiry, revocation


async def grant_of(project: int, client_user: int) -> dict:
    return await ProjectAccess.select().where(ProjectAccess.project == project,
                                              ProjectAccess.client_user == client_user).first()


def test_an_expiry_is_a_date_from_today_on_or_nothing():
    today = clock.today()
    assert services.parse_expiry(None) is None and services.parse_expiry("") is None
    assert services.parse_expiry("   ") is None
    assert services.parse_expiry(f" {today.isoformat()} ") == today
    with pytest.raises(Invalid) as past:
        services.parse_expiry((today - dt.timedelta(days=1)).isoformat())
    assert past.value.errors == {"expires_on": "The expiry date is in the past."}
    with pytest.raises(Invalid) as bad:
        services.parse_expiry("31/12/2030")
    assert bad.value.errors == {"expires_on": "Enter the date as YYYY-MM-DD, or leave it empty for no expiry."}


async def test_an_invite_creates_the_person_in_the_projects_organisation_and_audits_it(settings, world, monkeypatch):
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    freeze(monkeypatch, moment)
    expiry = (moment.date() + dt.timedelta(days=30))

    grant_id = await services.invite_client(settings, None, staff_of(world), world.project_a, " Dan@Northwind.example ",
                                            "  " + "D" * 210, expiry.isoformat())

    person = await ClientUser.select().where(ClientUser.email == "dan@northwind.example").first()
    assert (person["organisation"], person["workspace"], person["name"], person["active"]) == (
        world.org_a, world.workspace, "D" * 200, True)
    row = await grant_of(world.project_a, person["id"])
    assert row["id"] == grant_id
    assert (row["workspace"], row["expires_on"], row["invited_by"], row["invited_at"], row["revoked_at"]) == (
        world.workspace, expiry, world.staff, moment, None)
    event = await only_event("invite_sent")
    assert (event["actor_kind"], event["actor_id"], event["workspace"]) == ("staff", world.staff, world.workspace)
    assert (event["target_type"], event["target_id"]) == ("project_access", grant_id)
    assert event["detail"] == {"email": "dan@northwind.example", "expires_on": expiry.isoformat()}
    token = await LoginToken.select().where(LoginToken.client_user == person["id"]).first()
    assert (token["purpose"], token["project_id"], token["expires_at"]) == (
        "invite", world.project_a, moment + dt.timedelta(days=settings.invite_days))
    mail = await OutboxMessage.select().where(OutboxMessage.to_address == "dan@northwind.example").first()
    assert mail["kind"] == "invite" and mail["workspace"] == world.workspace
    assert mail["subject"] == "Olivia Owner invited you to Northwind website"
    assert f"{settings.base_url}/p/acme/login/" in mail["text_body"]
    assert f"valid for {settings.invite_days} days" in mail["text_body"]
    assert f"runs until {expiry.day} {expiry:%B %Y}" in mail["text_body"]
    assert f"Hi {'D' * 200}," in mail["text_body"]


async def test_inviting_someone_with_access_renews_the_same_grant_and_keeps_their_name(settings, world, monkeypatch):
    first = await grant_of(world.project_a, world.alice)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now(), ProjectAccess.expires_on: clock.today()}).where(
        ProjectAccess.id == first["id"])
    admin = await make_staff(world.workspace, "adam@acme.example", role="admin", name="Adam Admin")
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)
    freeze(monkeypatch, moment)

    grant_id = await services.invite_client(settings, None, staff_of(world, "admin", admin, "adam@acme.example", ""),
                                            world.project_a, "alice@northwind.example", "", "")

    assert grant_id == first["id"] and await ProjectAccess.count() == 2
    row = await grant_of(world.project_a, world.alice)
    assert (row["revoked_at"], row["expires_on"], row["invited_by"], row["invited_at"]) == (None, None, admin, moment)
    person = await ClientUser.select(ClientUser.name, ClientUser.organisation).where(ClientUser.id == world.alice).first()
    assert person == {"name": "Alice Andrews", "organisation": world.org_a}
    assert (await only_event("invite_sent"))["detail"] == {"email": "alice@northwind.example", "expires_on": None}
    mail = await OutboxMessage.select(OutboxMessage.subject).first()
    assert mail["subject"] == "adam@acme.example invited you to Northwind website"  # no name: the email


async def test_a_renamed_invitee_gets_the_new_name(settings, world):
    await services.invite_client(settings, None, staff_of(world), world.project_a, "alice@northwind.example",
                                 " Alice A. ", None)
    assert (await ClientUser.select(ClientUser.name).where(ClientUser.id == world.alice).first())["name"] == "Alice A."


async def test_another_organisations_contact_cannot_be_invited(settings, world):
    with pytest.raises(Invalid) as refused:
        await services.invite_client(settings, None, staff_of(world), world.project_a, "carol@globex.example", "", "")
    assert refused.value.errors == {"email": "This person is a contact of another client organisation."}
    assert await grant_of(world.project_a, world.carol) is None
    assert (await ClientUser.select(ClientUser.organisation).where(ClientUser.id == world.carol).first())[
        "organisation"] == world.org_b
    assert await events("invite_sent") == []


async def test_an_invite_while_the_portal_is_off_saves_access_but_says_no_email_went(settings, world):
    from portal.workspaces.tables import Workspace

    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    with pytest.raises(Conflict) as refused:
        await services.invite_client(settings, None, staff_of(world), world.project_a, "dan@northwind.example", "", "")
    assert refused.value.message == "Access was saved, but no email was sent: the client portal is switched off."
    person = await ClientUser.select(ClientUser.id).where(ClientUser.email == "dan@northwind.example").first()
    assert await grant_of(world.project_a, person["id"]) is not None
    assert await OutboxMessage.count() == 0 and await events("invite_sent") == []

    grant_id = (await grant_of(world.project_a, world.alice))["id"]
    with pytest.raises(Conflict) as resend:
        await services.resend_invite(settings, None, staff_of(world), world.project_a, grant_id)
    assert resend.value.message == "No email was sent: the client portal is switched off."


async def test_client_access_is_managed_in_the_staff_members_own_workspace_only(settings, world):
    other = await make_workspace("other", "Other")
    outsider = Principal("staff", await make_staff(other, "eve@other.example"), other, "eve@other.example", "", 0,
                         "owner")
    grant_id = (await grant_of(world.project_a, world.alice))["id"]
    with pytest.raises(NotFound):
        await services.access_list(outsider, world.project_a)
    with pytest.raises(NotFound):
        await services.invite_client(settings, None, outsider, world.project_a, "x@y.example", "", "")
    for call in (services.resend_invite(settings, None, outsider, world.project_a, grant_id),
                 services.change_expiry(None, outsider, world.project_a, grant_id, ""),
                 services.revoke(None, outsider, world.project_a, grant_id)):
        with pytest.raises(NotFound):
            await call
    # Within the workspace, a grant is only reached through its own project.
    with pytest.raises(NotFound):
        await services.revoke(None, staff_of(world), world.project_b, grant_id)
    assert (await grant_of(world.project_a, world.alice))["revoked_at"] is None


async def test_the_access_list_is_by_email_with_each_grants_state(world):
    today = clock.today()
    dan = await make_client(world.workspace, world.org_a, "dan@northwind.example", "Dan")
    bea = await make_client(world.workspace, world.org_a, "bea@northwind.example")
    dan_grant = await grant(world.workspace, world.project_a, dan, expires_on=today - dt.timedelta(days=1))
    bea_grant = await grant(world.workspace, world.project_a, bea)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.id == bea_grant)
    alice_grant = (await grant_of(world.project_a, world.alice))["id"]
    await ProjectAccess.update({ProjectAccess.accepted_at: clock.now()}).where(ProjectAccess.id == alice_grant)

    rows = await services.access_list(staff_of(world), world.project_a)

    assert [(r.email, r.name, r.state, r.state_label, r.grant_id, r.client_user_id, r.expires_on) for r in rows] == [
        ("alice@northwind.example", "Alice Andrews", "active", "Active", alice_grant, world.alice, None),
        ("bea@northwind.example", "", "revoked", "Revoked", bea_grant, bea, None),
        ("dan@northwind.example", "Dan", "expired", "Expired", dan_grant, dan, today - dt.timedelta(days=1)),
    ]


async def test_a_resend_is_audited_as_one_and_refused_once_revoked(settings, world):
    grant_id = (await grant_of(world.project_a, world.alice))["id"]
    await services.resend_invite(settings, None, staff_of(world), world.project_a, grant_id)
    event = await only_event("invite_sent")
    assert (event["actor_id"], event["target_type"], event["target_id"], event["detail"]) == (
        world.staff, "project_access", grant_id, {"resend": True})
    assert await OutboxMessage.count() == 1

    await services.revoke(None, staff_of(world), world.project_a, grant_id)
    with pytest.raises(Conflict) as refused:
        await services.resend_invite(settings, None, staff_of(world), world.project_a, grant_id)
    assert refused.value.message == "Access was revoked: invite the person again to restore it."
    assert await OutboxMessage.count() == 1


async def test_a_changed_expiry_is_stored_and_audited(world):
    grant_id = (await grant_of(world.project_a, world.alice))["id"]
    day = clock.today() + dt.timedelta(days=3)
    await services.change_expiry(None, staff_of(world), world.project_a, grant_id, day.isoformat())
    assert (await grant_of(world.project_a, world.alice))["expires_on"] == day
    event = await only_event("grant_changed")
    assert (event["actor_id"], event["target_type"], event["target_id"], event["detail"]) == (
        world.staff, "project_access", grant_id, {"expires_on": day.isoformat()})
    with pytest.raises(Invalid):
        await services.change_expiry(None, staff_of(world), world.project_a, grant_id, "soon")
    assert (await grant_of(world.project_a, world.alice))["expires_on"] == day


async def test_revoking_the_last_live_grant_signs_the_client_out_and_audits(settings, world):
    second = await make_project(world.workspace, world.org_a, "Second")
    second_grant = await grant(world.workspace, second, world.alice)
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    carol = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.carol)
    first = (await grant_of(world.project_a, world.alice))["id"]

    await services.revoke(None, staff_of(world), world.project_a, first)
    assert await sessions.load_session(settings, raw) is not None  # still sees the second project
    await services.revoke(None, staff_of(world), second, second_grant)
    assert await sessions.load_session(settings, raw) is None
    assert await sessions.load_session(settings, carol) is not None
    revoked = await events("grant_revoked")
    assert [(e["actor_id"], e["target_type"], e["target_id"], e["detail"]) for e in revoked] == [
        (world.staff, "project_access", first, {}), (world.staff, "project_access", second_grant, {})]


async def test_accepting_an_invite_marks_only_that_clients_pending_grants(world, monkeypatch):
    earlier = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    second = await make_project(world.workspace, world.org_a, "Second")
    accepted = await grant(world.workspace, second, world.alice)
    await ProjectAccess.update({ProjectAccess.accepted_at: earlier}).where(ProjectAccess.id == accepted)
    moment = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    freeze(monkeypatch, moment)

    await services.accept_invite(None, world.workspace, world.alice)

    rows = {r["id"]: r["accepted_at"] for r in await ProjectAccess.select(ProjectAccess.id, ProjectAccess.accepted_at)}
    assert rows == {(await grant_of(world.project_a, world.alice))["id"]: moment, accepted: earlier,
                    (await grant_of(world.project_b, world.carol))["id"]: None}
    event = await only_event("invite_accepted")
    assert (event["workspace"], event["actor_kind"], event["target_type"], event["target_id"]) == (
        world.workspace, "system", "client_user", world.alice)


# Clients and their people


async def test_client_names_are_cleaned_and_their_refusals_worded(world):
    assert await services.create_client(None, staff_of(world), "  Initech \t Ltd  ") > 0
    assert await ClientOrganisation.select(ClientOrganisation.name).where(
        ClientOrganisation.name == "Initech Ltd").first()
    for raw, message in ((None, "Enter the client's name, e.g. the company or organisation."),
                         ("   ", "Enter the client's name, e.g. the company or organisation."),
                         ("x" * 201, "Keep the name to 200 characters or fewer."),
                         (" northwind ", "There is already a client called “Northwind”: choose another name.")):
        with pytest.raises(Invalid) as refused:
            await services.create_client(None, staff_of(world), raw)
        assert refused.value.errors == {"name": message}
    assert await ClientOrganisation.count() == 3


async def test_a_client_name_taken_in_another_workspace_is_free_here(world):
    other = await make_workspace("other", "Other")
    await ClientOrganisation.insert(ClientOrganisation(workspace=other, name="Initech"))
    organisation = await services.create_client(None, staff_of(world), "Initech")
    event = await only_event("client_organisation_created")
    assert (event["actor_id"], event["target_type"], event["target_id"], event["detail"]) == (
        world.staff, "client_organisation", organisation, {"name": "Initech"})


async def test_renaming_to_the_same_name_writes_nothing_and_to_a_taken_one_is_refused(world):
    await services.rename_client(None, staff_of(world), world.org_a, " Northwind ")
    assert await events("client_organisation_renamed") == []
    with pytest.raises(Invalid) as taken:
        await services.rename_client(None, staff_of(world), world.org_a, "GLOBEX")
    assert taken.value.errors == {"name": "There is already a client called “Globex”: choose another name."}
    with pytest.raises(Invalid):
        await services.rename_client(None, staff_of(world), world.org_a, "")
    names = {r["id"]: r["name"] for r in await ClientOrganisation.select()}
    assert names == {world.org_a: "Northwind", world.org_b: "Globex"}


async def test_archiving_twice_or_unarchiving_a_live_client_writes_nothing(world, monkeypatch):
    await services.set_client_archived(None, staff_of(world), world.org_a, False)
    assert await events("client_organisation_unarchived") == []
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    freeze(monkeypatch, moment)
    await services.set_client_archived(None, staff_of(world), world.org_a, True)
    await services.set_client_archived(None, staff_of(world), world.org_a, True)
    archived = {r["id"]: r["archived_at"] for r in await ClientOrganisation.select()}
    assert archived == {world.org_a: moment, world.org_b: None}
    event = await only_event("client_organisation_archived")
    assert (event["actor_id"], event["target_type"], event["target_id"]) == (
        world.staff, "client_organisation", world.org_a)
    rows, count = await services.clients(staff_of(world))
    assert [r.name for r in rows] == ["Globex"] and count == 1
    rows, count = await services.clients(staff_of(world), show_archived=True)
    assert sorted(r.name for r in rows) == ["Globex", "Northwind"] and count == 1

    await services.set_client_archived(None, staff_of(world), world.org_a, False)
    assert (await ClientOrganisation.select().where(ClientOrganisation.id == world.org_a).first())["archived_at"] is None
    assert (await only_event("client_organisation_unarchived"))["target_id"] == world.org_a


async def test_the_clients_list_counts_projects_and_active_people_of_this_workspace(world):
    await make_client(world.workspace, world.org_a, "dan@northwind.example")
    gone = await make_client(world.workspace, world.org_a, "gone@northwind.example")
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == gone)
    await make_project(world.workspace, world.org_a, "Second")
    rows, archived = await services.clients(staff_of(world))
    assert {r.name: (r.projects, r.people) for r in rows} == {"Northwind": (2, 2), "Globex": (1, 1)}
    assert archived == 0


async def test_a_client_page_shows_its_own_projects_and_people_only(world):
    detail = await services.client(staff_of(world), world.org_a)
    assert detail.name == "Northwind"
    assert [p.name for p in detail.projects] == ["Northwind website"]
    # Never signed in and never accepted: invited.
    assert [(p.id, p.email, p.state) for p in detail.active_people] == [(world.alice, "alice@northwind.example",
                                                                         "invited")]
    with pytest.raises(NotFound):
        await services.client_person(staff_of(world), world.org_a, world.carol)
    detail, person = await services.client_person(staff_of(world), world.org_b, world.carol)
    assert (detail.name, person.email) == ("Globex", "carol@globex.example")
    other = await make_workspace("other", "Other")
    outsider = Principal("staff", await make_staff(other, "eve@other.example"), other, "eve@other.example", "", 0,
                         "owner")
    for call in (services.client(outsider, world.org_a), services.rename_client(None, outsider, world.org_a, "X"),
                 services.set_client_archived(None, outsider, world.org_a, True),
                 services.add_person(None, outsider, world.org_a, "", "x@y.example"),
                 services.update_person(None, outsider, world.org_a, world.alice, "", "x@y.example"),
                 services.remove_person(None, outsider, world.org_a, world.alice)):
        with pytest.raises(NotFound):
            await call


async def test_an_added_person_is_audited_and_a_taken_email_names_who_has_it(world):
    person = await services.add_person(None, staff_of(world), world.org_a, "  Dan   Dale ", "Dan@Northwind.example")
    row = await ClientUser.select().where(ClientUser.id == person).first()
    assert (row["name"], row["email"], row["organisation"], row["active"]) == (
        "Dan Dale", "dan@northwind.example", world.org_a, True)
    event = await only_event("client_user_added")
    assert (event["actor_id"], event["target_type"], event["target_id"]) == (world.staff, "client_user", person)
    assert event["detail"] == {"organisation_id": world.org_a, "email": "dan@northwind.example", "reactivated": False}

    with pytest.raises(Invalid) as named:
        await services.add_person(None, staff_of(world), world.org_b, "", "alice@northwind.example")
    assert named.value.errors == {"email": "Someone with this email is already a client: Alice Andrews of Northwind."}
    await ClientUser.update({ClientUser.name: ""}).where(ClientUser.id == world.alice)
    with pytest.raises(Invalid) as unnamed:
        await services.add_person(None, staff_of(world), world.org_b, "", "alice@northwind.example")
    assert unnamed.value.errors == {"email": "Someone with this email is already a client: Northwind."}
    with pytest.raises(Invalid) as long_name:
        await services.add_person(None, staff_of(world), world.org_a, "n" * 201, "eve@northwind.example")
    assert long_name.value.errors == {"name": "Keep the name to 200 characters or fewer."}
    assert await ClientUser.count() == 3


async def test_a_removed_person_added_again_is_the_same_row_renamed_and_audited_as_reactivated(world):
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.carol)
    person = await services.add_person(None, staff_of(world), world.org_a, "Carol New", "carol@globex.example")
    assert person == world.carol
    row = await ClientUser.select().where(ClientUser.id == world.carol).first()
    assert (row["name"], row["organisation"], row["active"]) == ("Carol New", world.org_a, True)
    assert (await only_event("client_user_added"))["detail"]["reactivated"] is True


async def test_editing_a_person_audits_only_what_changed(world):
    await services.update_person(None, staff_of(world), world.org_a, world.alice, "Alice Andrews",
                                 "alice@northwind.example")
    assert await events("client_user_updated") == []
    await services.update_person(None, staff_of(world), world.org_a, world.alice, " Alice  B ",
                                 "alice@northwind.example")
    await services.update_person(None, staff_of(world), world.org_a, world.alice, "Alice B", "ALICE@new.example")
    renamed, moved = await events("client_user_updated")
    assert (renamed["actor_id"], renamed["target_type"], renamed["target_id"]) == (world.staff, "client_user",
                                                                                   world.alice)
    assert renamed["detail"] == {"old_name": "Alice Andrews", "name": "Alice B"}
    assert moved["detail"] == {"old_email": "alice@northwind.example", "email": "alice@new.example"}


async def test_a_name_change_keeps_links_and_google_an_email_change_voids_them(world):
    await ClientUser.update({ClientUser.oidc_issuer: "https://accounts.google.com", ClientUser.oidc_subject: "42"}).where(
        ClientUser.id == world.alice)
    link = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice,
                                    lifetime=dt.timedelta(minutes=15))
    carol_link = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.carol,
                                          lifetime=dt.timedelta(minutes=15))
    await services.update_person(None, staff_of(world), world.org_a, world.alice, "Alice B", "alice@northwind.example")
    assert await tokens.peek_token(link, world.workspace) is not None
    row = await ClientUser.select().where(ClientUser.id == world.alice).first()
    assert (row["oidc_issuer"], row["oidc_subject"]) == ("https://accounts.google.com", "42")

    await services.update_person(None, staff_of(world), world.org_a, world.alice, "Alice B", "alice@new.example")
    assert await tokens.peek_token(link, world.workspace) is None
    assert await tokens.peek_token(carol_link, world.workspace) is not None
    row = await ClientUser.select().where(ClientUser.id == world.alice).first()
    assert (row["email"], row["oidc_issuer"], row["oidc_subject"]) == ("alice@new.example", None, None)


async def test_an_email_of_another_person_is_refused_on_edit_with_the_reason(world):
    with pytest.raises(Invalid) as active:
        await services.update_person(None, staff_of(world), world.org_a, world.alice, "", "carol@globex.example")
    assert active.value.errors == {"email": "Someone with this email is already a client: Carol Chen of Globex."}
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.carol)
    with pytest.raises(Invalid) as removed:
        await services.update_person(None, staff_of(world), world.org_a, world.alice, "", "carol@globex.example")
    assert removed.value.errors == {"email": "A removed client had this email: add them again instead of changing "
                                             "this person's email."}
    with pytest.raises(NotFound):  # a removed person cannot be edited
        await services.update_person(None, staff_of(world), world.org_b, world.carol, "", "c@globex.example")
    assert (await ClientUser.select(ClientUser.email).where(ClientUser.id == world.alice).first())["email"] == \
        "alice@northwind.example"


async def test_removing_a_person_revokes_live_grants_voids_links_ends_sessions_and_audits(settings, world, monkeypatch):
    second = await make_project(world.workspace, world.org_a, "Second")
    old_grant = await grant(world.workspace, second, world.alice)
    earlier = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await ProjectAccess.update({ProjectAccess.revoked_at: earlier}).where(ProjectAccess.id == old_grant)
    link = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.alice,
                                    lifetime=dt.timedelta(minutes=15))
    carol_link = await tokens.issue_token(workspace_id=world.workspace, client_user_id=world.carol,
                                          lifetime=dt.timedelta(minutes=15))
    raw = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.alice)
    carol = await sessions.create_session(settings, workspace_id=world.workspace, client_user_id=world.carol)
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    freeze(monkeypatch, moment)

    assert await services.remove_person(None, staff_of(world), world.org_a, world.alice) == 1

    grants = {r["id"]: r["revoked_at"] for r in await ProjectAccess.select()}
    assert grants == {(await grant_of(world.project_a, world.alice))["id"]: moment, old_grant: earlier,
                      (await grant_of(world.project_b, world.carol))["id"]: None}
    assert (await ClientUser.select(ClientUser.active).where(ClientUser.id == world.alice).first())["active"] is False
    monkeypatch.undo()
    assert await tokens.peek_token(link, world.workspace) is None
    assert await tokens.peek_token(carol_link, world.workspace) is not None
    assert await sessions.load_session(settings, raw) is None
    assert await sessions.load_session(settings, carol) is not None
    event = await only_event("client_user_removed")
    assert (event["actor_id"], event["target_type"], event["target_id"]) == (world.staff, "client_user", world.alice)
    assert event["detail"] == {"organisation_id": world.org_a, "email": "alice@northwind.example",
                               "grants_revoked": 1}
    with pytest.raises(NotFound):
        await services.remove_person(None, staff_of(world), world.org_a, world.alice)


# The studio team


async def test_role_refusals_are_worded(world):
    admin = staff_of(world, "admin", await make_staff(world.workspace, "adam@acme.example", role="admin"))
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    with pytest.raises(Invalid) as bad:
        await services.change_role(None, staff_of(world), member, "boss")
    assert bad.value.errors == {"role": "Choose a role: owner, admin or member."}
    for target, role in ((member, "owner"), (world.staff, "admin")):
        with pytest.raises(Forbidden) as refused:
            await services.change_role(None, admin, target, role)
        assert refused.value.message == "Only an owner can give, change or take the owner role."
    with pytest.raises(Forbidden) as not_manager:
        await services.change_role(None, staff_of(world, "member", member), member, "admin")
    assert not_manager.value.message == "Only owners and admins can change roles."
    await services.change_role(None, admin, member, "admin")  # an admin may make an admin
    assert await StaffMember.select(StaffMember.role).where(StaffMember.id == member).first() == {"role": "admin"}


async def test_the_last_owner_keeps_the_role_and_another_owner_can_step_down(world):
    with pytest.raises(Conflict) as last:
        await services.change_role(None, staff_of(world), world.staff, "admin")
    assert last.value.message == services.LAST_OWNER == (
        "The workspace needs at least one owner: make someone else owner first.")
    # Another workspace's owner does not count, nor a removed owner of this one.
    other = await make_workspace("other", "Other")
    await make_staff(other, "owner@other.example")
    gone = await make_staff(world.workspace, "gone@acme.example")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    with pytest.raises(Conflict):
        await services.change_role(None, staff_of(world), world.staff, "admin")

    second = await make_staff(world.workspace, "otto@acme.example", role="owner")
    await services.change_role(None, staff_of(world), world.staff, "admin")
    event = await only_event("staff_role_changed")
    assert (event["actor_id"], event["target_type"], event["target_id"], event["detail"]) == (
        world.staff, "staff", world.staff, {"old_role": "owner", "role": "admin"})
    assert await StaffMember.select(StaffMember.role).where(StaffMember.id == second).first() == {"role": "owner"}


async def test_the_same_role_again_writes_nothing_and_an_inactive_member_is_not_found(world):
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await services.change_role(None, staff_of(world), member, "member")
    assert await events("staff_role_changed") == []
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == member)
    with pytest.raises(NotFound):
        await services.change_role(None, staff_of(world), member, "admin")
    other = await make_workspace("other", "Other")
    stranger = await make_staff(other, "sam@other.example", role="member")
    with pytest.raises(NotFound):
        await services.change_role(None, staff_of(world), stranger, "admin")
    with pytest.raises(NotFound):
        await services.remove_staff(None, staff_of(world), stranger)


async def test_removal_rules_are_worded_and_a_removal_is_audited_and_signs_out(settings, world):
    admin_id = await make_staff(world.workspace, "adam@acme.example", role="admin")
    admin = staff_of(world, "admin", admin_id, "adam@acme.example")
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    with pytest.raises(Conflict) as yourself:
        await services.remove_staff(None, admin, admin_id)
    assert yourself.value.message == "You cannot remove yourself: ask another owner or admin."
    with pytest.raises(Forbidden) as owner:
        await services.remove_staff(None, admin, world.staff)
    assert owner.value.message == "Only an owner can remove an owner."
    with pytest.raises(Forbidden) as not_manager:
        await services.remove_staff(None, staff_of(world, "member", member), admin_id)
    assert not_manager.value.message == "Only owners and admins can remove team members."
    raw = await sessions.create_session(settings, workspace_id=world.workspace, staff_id=member)
    mine = await sessions.create_session(settings, workspace_id=world.workspace, staff_id=admin_id)

    await services.remove_staff(None, admin, member)

    assert await sessions.load_session(settings, raw) is None
    assert await sessions.load_session(settings, mine) is not None
    event = await only_event("staff_removed")
    assert (event["actor_id"], event["target_type"], event["target_id"], event["detail"]) == (
        admin_id, "staff", member, {"role": "member"})
    active = {r["id"]: r["active"] for r in await StaffMember.select(StaffMember.id, StaffMember.active)}
    assert active == {world.staff: True, admin_id: True, member: False}


async def test_an_owner_removes_another_owner_but_never_the_last(world):
    second = await make_staff(world.workspace, "otto@acme.example", role="owner")
    await services.remove_staff(None, staff_of(world), second)
    assert (await only_event("staff_removed"))["detail"] == {"role": "owner"}
    third = await make_staff(world.workspace, "tina@acme.example", role="owner")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    with pytest.raises(Conflict) as last:
        await services.remove_staff(None, staff_of(world, user_id=second), third)
    assert last.value.message == services.LAST_OWNER


async def test_a_staff_invite_emails_a_studio_link_with_the_role_and_lifetime(settings, world, monkeypatch):
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    freeze(monkeypatch, moment)
    member = await services.invite_staff(settings, None, staff_of(world), "Max@Acme.example", "Max", "member")
    token = await LoginToken.select().where(LoginToken.staff == member).first()
    assert (token["purpose"], token["workspace"], token["expires_at"]) == (
        "invite", world.workspace, moment + dt.timedelta(days=settings.invite_days))
    mail = await OutboxMessage.select().where(OutboxMessage.to_address == "max@acme.example").first()
    assert (mail["kind"], mail["workspace"]) == ("staff_invite", world.workspace)
    assert mail["subject"] == "Olivia Owner invited you to Acme Agency's studio"
    assert "Hello Max," in mail["text_body"] and "as member in the studio" in mail["text_body"]
    assert f"for {settings.invite_days} days" in mail["text_body"]
    assert f"{settings.base_url}/studio/login/" in mail["text_body"]
    with pytest.raises(Forbidden) as refused:
        await services.invite_staff(settings, None, staff_of(world, "member", member), "x@acme.example", "", "member")
    assert refused.value.message == "Only owners and admins can invite team members."
    with pytest.raises(Forbidden):
        await services.invite_staff(settings, None, staff_of(world, "admin", member), "x@acme.example", "", "owner")
    with pytest.raises(Invalid):
        await services.invite_staff(settings, None, staff_of(world), "x@acme.example", "", "chief")


async def test_an_admin_cannot_re_invite_an_owner_as_anything(settings, world):
    admin = staff_of(world, "admin", await make_staff(world.workspace, "adam@acme.example", role="admin"))
    with pytest.raises(Forbidden):
        await services.invite_staff(settings, None, admin, "olivia@acme.example", "", "admin")
    gone = await make_staff(world.workspace, "gone@acme.example", role="owner")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    # A removed owner is no owner any more: an admin may bring them back as a member.
    await services.invite_staff(settings, None, admin, "gone@acme.example", "", "member")
    assert await StaffMember.select(StaffMember.role, StaffMember.active).where(StaffMember.id == gone).first() == {
        "role": "member", "active": True}
    assert await events("staff_role_changed") == []


async def test_a_new_workspace_gets_its_owner_and_is_audited(db):
    workspace = await services.create_workspace_with_owner("beta", "Beta", "growth", " Boss@Beta.example ",
                                                           "  " + "B" * 210)
    owner = await StaffMember.select().first()
    assert (owner["workspace"], owner["email"], owner["name"], owner["role"]) == (
        workspace, "boss@beta.example", "B" * 200, "owner")
    event = await only_event("workspace_created")
    assert (event["workspace"], event["actor_kind"], event["target_type"], event["target_id"], event["detail"]) == (
        workspace, "system", "workspace", workspace, {"owner": "boss@beta.example"})
