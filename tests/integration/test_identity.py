"""Identity: links, sessions, revocation, expiry, rate limits, invites."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import httpx
import pytest

from portal import clock
from portal.accounts.magic import process_sign_in_requests
from portal.accounts.sessions import TOUCH_EVERY, Principal
from portal.accounts.tables import ClientUser, LoginToken, SignInRequest, UserSession
from portal.accounts.tokens import issue_token
from portal.app import create_app
from portal.audit.tables import AuditEvent
from portal.mail.tables import OutboxMessage
from portal.projects.tables import ProjectAccess
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff


def move_clock(monkeypatch, delta: dt.timedelta) -> None:
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + delta)


@pytest.fixture
async def roomy_http(settings, db):
    """A client against an app whose rate limits do not get in the way."""
    app = create_app(dataclasses.replace(settings, rate_limit_per_ip=1000, rate_limit_per_email=1000))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


async def test_a_planted_session_cookie_is_not_adopted(http, world):
    http.cookies.set("portal_session", "attacker-chosen-session-id", domain="127.0.0.1")
    await sign_in_client(http, world.workspace, world.alice)
    assert http.cookies.get("portal_session", domain="127.0.0.1") not in (None, "attacker-chosen-session-id")
    attacker = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    attacker.cookies.set("portal_session", "attacker-chosen-session-id", domain="127.0.0.1")
    assert (await attacker.get("/p/acme/")).status_code == 303
    assert (await http.get("/p/acme/")).status_code == 200


async def test_twenty_concurrent_redemptions_make_one_session(roomy_http, world):
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=5))
    await roomy_http.get("/healthz")
    csrf = csrf_token(roomy_http)
    responses = await asyncio.gather(*(
        roomy_http.post(f"/p/acme/login/{token}", data={"_csrf_token": csrf}) for _ in range(20)
    ))
    assert sorted(r.status_code for r in responses) == [303] + [410] * 19
    assert await UserSession.count() == 1


async def test_an_expired_link_is_refused(http, world, monkeypatch):
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
    move_clock(monkeypatch, dt.timedelta(minutes=16))
    assert (await http.get(f"/p/acme/login/{token}")).status_code == 410
    assert (await post_form(http, f"/p/acme/login/{token}")).status_code == 410
    assert await UserSession.count() == 0


async def test_a_new_link_voids_the_older_ones(http, world):
    old = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
    await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
    assert (await post_form(http, f"/p/acme/login/{old}")).status_code == 410


async def test_tokens_are_stored_only_as_hashes(world):
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
    stored = await LoginToken.select(LoginToken.token_hash)
    assert token not in str(stored) and len(stored[0]["token_hash"]) == 64
    assert len(token) >= 43  # 256 random bits, url-safe


async def test_known_and_unknown_emails_get_identical_answers(http, world, settings):
    known = await post_form(http, "/p/acme/login", {"email": "alice@northwind.example"})
    unknown = await post_form(http, "/p/acme/login", {"email": "mallory@evil.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert 'data-testid="link-sent"' in known.text
    await process_sign_in_requests(settings)
    outbox = await OutboxMessage.select(OutboxMessage.to_address, OutboxMessage.text_body)
    assert [row["to_address"] for row in outbox] == ["alice@northwind.example"]
    assert "http://127.0.0.1:8000/p/acme/login/" in outbox[0]["text_body"]
    assert await AuditEvent.count().where(AuditEvent.action == "login_link_requested") == 2


async def test_a_bad_email_is_explained_and_sends_nothing(http, world, settings):
    response = await post_form(http, "/p/acme/login", {"email": "not an email"})
    assert response.status_code == 422
    assert "Enter an email address" in response.text and 'value="not an email"' in response.text
    assert await SignInRequest.count() == 0
    await process_sign_in_requests(settings)
    assert await OutboxMessage.count() == 0


async def test_the_emailed_link_signs_the_client_in(http, world, settings):
    await post_form(http, "/p/acme/login", {"email": "Alice@Northwind.example "})
    await process_sign_in_requests(settings)
    body = (await OutboxMessage.select(OutboxMessage.text_body).first())["text_body"]
    link = next(word for word in body.split() if "/p/acme/login/" in word)
    path = link.removeprefix("http://127.0.0.1:8000")
    assert (await http.get(path)).status_code == 200
    assert (await post_form(http, path)).status_code == 303
    assert (await http.get("/p/acme/")).status_code == 200


async def test_too_many_link_requests_get_429_and_no_email(http, world, settings):
    for _ in range(settings.rate_limit_per_email):
        assert (await post_form(http, "/p/acme/login", {"email": "alice@northwind.example"})).status_code == 200
    await process_sign_in_requests(settings)
    sent = await OutboxMessage.count()
    assert sent == settings.rate_limit_per_email
    response = await post_form(http, "/p/acme/login", {"email": "alice@northwind.example"})
    assert response.status_code == 429
    assert "Too many attempts" in response.text and response.headers["retry-after"]
    await process_sign_in_requests(settings)
    assert await OutboxMessage.count() == sent


async def test_too_many_redemptions_from_one_ip_get_429(http, world, settings):
    await http.get("/healthz")
    for _ in range(settings.rate_limit_per_ip):
        assert (await post_form(http, "/p/acme/login/not-a-real-token")).status_code == 410
    assert (await post_form(http, "/p/acme/login/not-a-real-token")).status_code == 429


async def test_revocation_ends_the_session_at_once(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    assert (await http.get("/p/acme/")).status_code == 200
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.client_user == world.alice)
    response = await http.get("/p/acme/")
    assert response.status_code == 303 and response.headers["location"] == "/p/acme/login"
    assert await UserSession.count().where(UserSession.client_user == world.alice) == 0


async def test_expired_access_shows_when_it_ended(http, world, settings):
    await sign_in_client(http, world.workspace, world.alice)
    yesterday = clock.today() - dt.timedelta(days=1)
    await ProjectAccess.update({ProjectAccess.expires_on: yesterday}).where(ProjectAccess.client_user == world.alice)
    response = await http.get(f"/p/acme/projects/{world.project_a}")
    assert response.status_code == 403
    assert 'data-testid="access-ended"' in response.text
    assert yesterday.strftime("%-d %b %Y") in response.text and "help@acme.example" in response.text
    assert "Northwind website" not in response.text
    # and no link is sent to them
    await post_form(http, "/p/acme/login", {"email": "alice@northwind.example"})
    assert await process_sign_in_requests(settings) == 1
    assert await OutboxMessage.count() == 0


async def test_a_session_unused_for_the_idle_limit_ends(http, world, monkeypatch, settings):
    await sign_in_client(http, world.workspace, world.alice)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    move_clock(monkeypatch, idle - dt.timedelta(minutes=1))  # just inside the window: alive, and touched
    assert (await http.get("/p/acme/")).status_code == 200
    monkeypatch.undo()
    move_clock(monkeypatch, 2 * idle)  # idle + 1 minute after that last request
    assert (await http.get("/p/acme/")).status_code == 303
    assert await UserSession.count() == 0


async def test_a_session_in_constant_use_still_ends_at_its_absolute_limit(world, monkeypatch, settings):
    # Two days' lifetime keeps the loop short; requests every half idle window (far more
    # than TOUCH_EVERY apart, so each one moves last_seen_at) keep the idle check passing.
    short = dataclasses.replace(settings, session_max_days=2)
    transport = httpx.ASGITransport(app=create_app(short), client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        await sign_in_client(client, world.workspace, world.alice)
        step = dt.timedelta(minutes=short.session_idle_minutes) / 2
        lifetime = dt.timedelta(days=short.session_max_days)
        assert step > TOUCH_EVERY
        elapsed = step
        while elapsed < lifetime:
            move_clock(monkeypatch, elapsed)
            assert (await client.get("/p/acme/")).status_code == 200, f"ended early, after {elapsed}"
            monkeypatch.undo()
            elapsed += step
        session = await UserSession.select(UserSession.created_at, UserSession.last_seen_at).first()
        assert session["last_seen_at"] - session["created_at"] >= lifetime - step  # really in use until now

        move_clock(monkeypatch, lifetime + dt.timedelta(minutes=1))  # inside the idle window, past the end
        assert (await client.get("/p/acme/")).status_code == 303
        assert await UserSession.count() == 0


async def test_sign_out_everywhere_ends_every_session(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    other = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_client(other, world.workspace, world.alice)
    assert await UserSession.count() == 2
    await post_form(http, "/p/acme/logout-everywhere")
    assert await UserSession.count() == 0
    assert (await other.get("/p/acme/")).status_code == 303


async def test_invite_creates_access_and_its_link_signs_in(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"/studio/projects/{world.project_a}/access",
                               {"email": "dave@northwind.example", "name": "Dave", "expires_on": ""})
    assert response.status_code == 303
    page = await http.get(f"/studio/projects/{world.project_a}/access")
    assert "dave@northwind.example" in page.text and "Invited" in page.text
    message = await OutboxMessage.select().where(OutboxMessage.to_address == "dave@northwind.example").first()
    assert message["kind"] == "invite" and "Northwind website" in message["text_body"]
    link = next(w for w in message["text_body"].split() if "/p/acme/login/" in w).removeprefix("http://127.0.0.1:8000")
    client = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    assert (await post_form(client, link)).status_code == 303
    home = await client.get("/p/acme/")
    assert "Northwind website" in home.text
    page = await http.get(f"/studio/projects/{world.project_a}/access")
    assert "Active" in page.text
    dave = await ClientUser.select().where(ClientUser.email == "dave@northwind.example").first()
    assert dave["organisation"] == world.org_a
    assert await AuditEvent.count().where(AuditEvent.action == "invite_accepted") == 1


async def test_invite_form_errors_change_nothing(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    before = await ProjectAccess.count()
    past = (clock.today() - dt.timedelta(days=3)).isoformat()
    for data, message in (
        ({"email": "nope", "name": "", "expires_on": ""}, "Enter an email address"),
        ({"email": "x@northwind.example", "name": "", "expires_on": past}, "in the past"),
        ({"email": "x@northwind.example", "name": "", "expires_on": "31/12/2030"}, "YYYY-MM-DD"),
        ({"email": "carol@globex.example", "name": "", "expires_on": ""}, "another client organisation"),
    ):
        response = await post_form(http, f"/studio/projects/{world.project_a}/access", data)
        assert response.status_code == 422 and message in response.text, message
    assert await ProjectAccess.count() == before
    assert await OutboxMessage.count() == 0


async def test_revoking_in_the_studio_signs_the_client_out(http, world):
    client = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_client(client, world.workspace, world.alice)
    await sign_in_staff(http, world.workspace, world.staff)
    grant = await ProjectAccess.select(ProjectAccess.id).where(ProjectAccess.client_user == world.alice).first()
    assert await UserSession.count().where(UserSession.client_user == world.alice) == 1
    response = await post_form(http, f"/studio/projects/{world.project_a}/access/{grant['id']}/revoke")
    assert response.status_code == 303
    revoked = await ProjectAccess.select(ProjectAccess.revoked_at).where(ProjectAccess.id == grant["id"]).first()
    assert revoked["revoked_at"] is not None
    # Counted: a client without live access is refused on every request anyway, so the
    # old cookie failing does not prove the session was ended.
    assert await UserSession.count().where(UserSession.client_user == world.alice) == 0
    assert (await client.get("/p/acme/")).status_code == 303
    assert await AuditEvent.count().where(AuditEvent.action == "grant_revoked") == 1


async def test_revoking_one_of_two_projects_keeps_the_client_signed_in_to_the_other(http, world):
    from tests.factories import grant, make_project

    second = await make_project(world.workspace, world.org_a, "Northwind app", status="active")
    await grant(world.workspace, second, world.alice)
    client = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_client(client, world.workspace, world.alice)
    await sign_in_staff(http, world.workspace, world.staff)
    website = await ProjectAccess.select(ProjectAccess.id).where(
        ProjectAccess.client_user == world.alice, ProjectAccess.project == world.project_a).first()
    response = await post_form(http, f"/studio/projects/{world.project_a}/access/{website['id']}/revoke")
    assert response.status_code == 303
    assert await UserSession.count().where(UserSession.client_user == world.alice) == 1
    home = await client.get("/p/acme/")
    assert home.status_code == 200 and "Northwind app" in home.text and "Northwind website" not in home.text


async def test_staff_of_another_workspace_cannot_manage_access(http, world):
    from tests.factories import make_staff, make_workspace

    other_ws = await make_workspace("other", "Other")
    outsider = await make_staff(other_ws, "eve@other.example")
    await sign_in_staff(http, other_ws, outsider)
    assert (await http.get(f"/studio/projects/{world.project_a}/access")).status_code == 404
    tables = (ClientUser, ProjectAccess, LoginToken, OutboxMessage)
    before = {table.__name__: await table.count() for table in tables}
    for email in ("x@y.example", "alice@northwind.example"):  # a newcomer, and Alice renewed by an outsider
        response = await post_form(http, f"/studio/projects/{world.project_a}/access",
                                   {"email": email, "name": "Eve's pick", "expires_on": ""})
        assert response.status_code == 404, email
    # A 404 after the writes would still have leaked a user, a grant and a link into acme.
    assert {table.__name__: await table.count() for table in tables} == before
    alice = await ClientUser.select(ClientUser.name).where(ClientUser.id == world.alice).first()
    assert alice["name"] == "Alice Andrews"


def test_principal_display_name_falls_back_to_email():
    assert Principal("client", 1, 1, "a@b.example", "", 1).display_name == "a@b.example"


async def test_old_rate_limit_hits_are_forgotten(world, monkeypatch, settings):
    from portal.accounts import ratelimit
    from portal.accounts.tables import RateLimitHit

    for _ in range(3):
        assert await ratelimit.hit("link-ip:192.0.2.1", limit=3)
    assert not await ratelimit.hit("link-ip:192.0.2.1", limit=3)
    move_clock(monkeypatch, ratelimit.WINDOW + dt.timedelta(seconds=1))
    assert await ratelimit.hit("link-ip:192.0.2.1", limit=3)  # the window has passed
    await ratelimit.prune()
    assert await RateLimitHit.count() == 1


async def test_the_background_worker_prunes_rate_limit_hits(world, monkeypatch, settings):
    from portal.accounts.tables import RateLimitHit
    from portal.mail.worker import OutboxWorker

    await RateLimitHit.insert(RateLimitHit(key="old", created_at=clock.now() - dt.timedelta(hours=2)))
    worker = OutboxWorker(settings, poll_seconds=0.05)
    worker.start()
    for _ in range(100):
        if await RateLimitHit.count() == 0:
            break
        await asyncio.sleep(0.02)
    await worker.stop()
    assert await RateLimitHit.count() == 0


async def test_https_installations_use_secure_host_only_cookies(settings, db, world):
    app = create_app(dataclasses.replace(settings, base_url="https://portal.example.com"))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://portal.example.com") as client:
        token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=5))
        await client.get("/healthz")
        assert client.cookies.get("__Host-csrftoken")
        response = await client.post(f"/p/acme/login/{token}", data={"_csrf_token": csrf_token(client)})
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "portal_session" in v)
    assert cookie.startswith("__Host-portal_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie


async def test_the_portal_offers_sign_out_everywhere(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    assert 'data-testid="logout-everywhere"' in (await http.get("/p/acme/")).text


async def test_staff_are_invited_to_the_studio_with_a_role(http, world):
    from portal.accounts.tables import StaffMember
    from tests.factories import make_staff

    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, "/studio/team", {"email": "max@acme.example", "name": "Max", "role": "admin"})
    assert response.status_code == 303
    member = await StaffMember.select().where(StaffMember.email == "max@acme.example").first()
    assert member["role"] == "admin" and member["workspace"] == world.workspace
    message = await OutboxMessage.select().where(OutboxMessage.to_address == "max@acme.example").first()
    link = next(w for w in message["text_body"].split() if "/studio/login/" in w).removeprefix("http://127.0.0.1:8000")
    newcomer = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    assert (await post_form(newcomer, link)).status_code == 303
    assert (await newcomer.get("/studio/")).status_code == 200
    # a plain member may not invite anyone
    member_id = await make_staff(world.workspace, "mia@acme.example", role="member")
    mia = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_staff(mia, world.workspace, member_id)
    refused = await post_form(mia, "/studio/team", {"email": "z@acme.example", "name": "", "role": "member"})
    assert refused.status_code == 403 and "Only owners and admins" in refused.text
    assert await StaffMember.count().where(StaffMember.email == "z@acme.example") == 0


async def test_removing_a_team_member_ends_their_sessions(http, world):
    from tests.factories import make_staff

    member_id = await make_staff(world.workspace, "sam@acme.example", role="member")
    sam_laptop = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    sam_phone = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_staff(sam_laptop, world.workspace, member_id)
    await sign_in_staff(sam_phone, world.workspace, member_id)
    await sign_in_staff(http, world.workspace, world.staff)
    assert await UserSession.count().where(UserSession.staff == member_id) == 2

    assert (await post_form(http, f"/studio/team/{member_id}/remove")).status_code == 303
    # Counted, not probed: load_session already refuses an inactive member, so a request
    # with Sam's old cookie would fail even if the rows were left behind.
    assert await UserSession.count().where(UserSession.staff == member_id) == 0
    assert (await sam_laptop.get("/studio/")).status_code == 303
    # Olivia, who removed him, stays signed in.
    assert await UserSession.count().where(UserSession.staff == world.staff) == 1
    assert (await http.get("/studio/")).status_code == 200
