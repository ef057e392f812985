"""Security hardening: each test reproduces one way in that a review found, as an attacker.

- a member reading a sign-in link in the outbox and becoming the owner or a client;
- an admin demoting, then removing, the owner;
- the framework's schema listing every route;
- huge ids in paths giving 500s;
- answers without the security headers (router 404/405, static files) or cacheable;
- a CSRF token taken from another session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import httpx
import pytest

from portal.accounts.tables import StaffMember
from portal.accounts.tokens import issue_token
from portal.app import create_app
from portal.audit.tables import AuditEvent
from portal.mail.outbox import enqueue_email
from portal.mail.tables import OutboxMessage
from portal.mail.worker import deliver_due
from portal.web.bounds import MAX_ID
from tests.factories import make_deliverable, make_file, make_invoice, make_staff
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff

PARAM = re.compile(r"\{(\w+):(\w+)\}")


def other_client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=http._transport, base_url=str(http.base_url))


# 1. Personal links in the outbox


async def _queue_link_emails(settings, workspace: int) -> dict[str, tuple[int, str]]:
    """One email of each kind that carries a personal link: kind -> (outbox id, token)."""
    found = {}
    for kind, path in (("login_link", "/p/acme/login/"), ("invite", "/p/acme/login/"), ("staff_invite", "/studio/login/")):
        token = f"secret-{kind}-token-0123456789abcdef"
        context = {"link_url": f"{settings.base_url}{path}{token}", "minutes": 15, "days": 7, "recipient_name": "Alice",
                   "project_name": "Northwind website", "inviter_name": "Olivia", "expires_on": None, "role": "member"}
        message_id = await enqueue_email(settings, workspace_id=workspace, to="alice@northwind.example",
                                         template=kind, context=context)
        found[kind] = (message_id, token)
    return found


async def test_a_member_reads_no_link_in_the_outbox(http, settings, world):
    emails = await _queue_link_emails(settings, world.workspace)
    member = await make_staff(world.workspace, "mia@acme.example", role="member", name="Mia Member")
    await sign_in_staff(http, world.workspace, member)

    assert (await http.get("/studio/outbox")).status_code == 403
    assert 'href="/studio/outbox"' not in (await http.get("/studio/")).text
    for message_id, token in emails.values():
        for headers in ({}, {"HX-Request": "true"}):
            response = await http.get(f"/studio/outbox/{message_id}", headers=headers)
            assert response.status_code == 403
            assert token not in response.text
        retry = await http.post(f"/studio/outbox/{message_id}/retry", headers={"x-csrftoken": csrf_token(http)})
        assert retry.status_code == 403


@pytest.mark.parametrize("status", ["pending", "logged", "failed"])
async def test_owners_see_the_email_but_never_its_personal_link(http, settings, world, status):
    emails = await _queue_link_emails(settings, world.workspace)
    if status == "logged":
        await deliver_due(settings, "w")  # no SMTP_URL: logged and kept
    else:
        await OutboxMessage.update({OutboxMessage.status: status}).where(OutboxMessage.id > 0)
    await sign_in_staff(http, world.workspace, world.staff)
    listing = await http.get("/studio/outbox")
    assert listing.status_code == 200
    for kind, (message_id, token) in emails.items():
        detail = await http.get(f"/studio/outbox/{message_id}")
        assert detail.status_code == 200, kind
        assert 'data-testid="body"' in detail.text, kind  # the message is there...
        assert token not in detail.text, kind  # ...without the link
        assert "only the recipient can use it" in detail.text, kind
        assert token not in listing.text
    # The row itself still holds the link: the worker must be able to send it.
    row = await OutboxMessage.select(OutboxMessage.text_body).where(OutboxMessage.id == emails["invite"][0]).first()
    assert emails["invite"][1] in row["text_body"]


async def test_an_admin_sees_the_outbox_too(http, settings, world):
    emails = await _queue_link_emails(settings, world.workspace)
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin")
    await sign_in_staff(http, world.workspace, admin)
    message_id, token = emails["login_link"]
    detail = await http.get(f"/studio/outbox/{message_id}")
    assert detail.status_code == 200 and token not in detail.text


# 2. Owners are protected


async def _role(member_id: int) -> tuple[str, bool]:
    row = await StaffMember.select(StaffMember.role, StaffMember.active).where(StaffMember.id == member_id).first()
    return row["role"], row["active"]


async def test_an_admin_cannot_demote_or_remove_the_owner(http, world):
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin", name="Ada Admin")
    await sign_in_staff(http, world.workspace, admin)

    demote = await post_form(http, f"/studio/team/{world.staff}/role", {"role": "member"})
    assert demote.status_code == 403 and "Only an owner" in demote.text
    # The old way in: re-inviting the owner's email with another role.
    reinvite = await post_form(http, "/studio/team", {"email": "olivia@acme.example", "name": "", "role": "member"})
    assert reinvite.status_code == 403 and "Only an owner" in reinvite.text
    remove = await post_form(http, f"/studio/team/{world.staff}/remove")
    assert remove.status_code == 403 and "Only an owner" in remove.text
    promote_self = await post_form(http, f"/studio/team/{admin}/role", {"role": "owner"})
    assert promote_self.status_code == 403
    invite_owner = await post_form(http, "/studio/team", {"email": "eve@evil.example", "name": "", "role": "owner"})
    assert invite_owner.status_code == 403

    assert await _role(world.staff) == ("owner", True)
    assert await _role(admin) == ("admin", True)
    assert not await StaffMember.exists().where(StaffMember.email == "eve@evil.example")
    # The admin's page offers no control over the owner.
    team = (await http.get("/studio/team")).text
    assert f'/studio/team/{world.staff}/role' not in team and f'/studio/team/{world.staff}/remove' not in team


async def test_an_admin_manages_members_and_every_change_is_audited(http, world):
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin")
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, admin)

    assert (await post_form(http, f"/studio/team/{member}/role", {"role": "admin"})).status_code == 303
    assert await _role(member) == ("admin", True)
    assert (await post_form(http, f"/studio/team/{member}/remove")).status_code == 303
    assert await _role(member) == ("admin", False)

    events = await AuditEvent.select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.target_id, AuditEvent.detail).where(
        AuditEvent.action.is_in(["staff_role_changed", "staff_removed"])
    ).order_by(AuditEvent.id)
    assert [(e["action"], e["actor_id"], e["target_id"]) for e in events] == [
        ("staff_role_changed", admin, member), ("staff_removed", admin, member)]
    change = json.loads(events[0]["detail"])
    assert change["old_role"] == "member" and change["role"] == "admin"


async def test_the_last_owner_can_be_neither_demoted_nor_removed(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    demote_self = await post_form(http, f"/studio/team/{world.staff}/role", {"role": "admin"})
    assert demote_self.status_code == 409 and "at least one owner" in demote_self.text
    assert 'data-testid="team-list"' in demote_self.text  # the team page again, with the reason
    assert await _role(world.staff) == ("owner", True)

    # With a second owner, an owner may step down; the remaining one is then the last.
    second = await make_staff(world.workspace, "otto@acme.example", role="owner")
    assert (await post_form(http, f"/studio/team/{world.staff}/role", {"role": "admin"})).status_code == 303
    assert await _role(world.staff) == ("admin", True)
    other = other_client(http)
    await sign_in_staff(other, world.workspace, second)
    assert (await post_form(other, f"/studio/team/{second}/role", {"role": "member"})).status_code == 409
    assert (await post_form(other, f"/studio/team/{second}/remove")).status_code == 409  # yourself
    assert await _role(second) == ("owner", True)


async def test_an_owner_removes_another_owner(http, world):
    second = await make_staff(world.workspace, "otto@acme.example", role="owner")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"/studio/team/{second}/remove")).status_code == 303
    assert await _role(second) == ("owner", False)
    assert await AuditEvent.exists().where(AuditEvent.action == "staff_removed", AuditEvent.target_id == second)


# 3. No framework schema


@pytest.mark.parametrize("path", ["/schema", "/schema/openapi.json", "/schema/openapi.yaml", "/schema/swagger",
                                  "/schema/redoc", "/schema/elements", "/schema/rapidoc"])
async def test_the_framework_schema_routes_are_404(http, world, path):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get(path)
    assert response.status_code == 404
    assert "/studio/" not in response.text


# 4. Huge ids


def _integer_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if ":int}" not in route.path:
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            found.append((method, route.path))
    return found


@pytest.mark.parametrize("huge", [99999999999999999999999, 2**63, MAX_ID + 1, -1])
async def test_huge_ids_are_404_on_every_integer_route(app, http, settings, world, huge):
    ids = {"project_id": world.project_a, "number": 1,
           "deliverable_id": await make_deliverable(settings, world.workspace, world.project_a, "Logo"),
           "file_id": await make_file(settings, world.workspace, world.project_a, "Brief.png"),
           "invoice_id": await make_invoice(world.workspace, world.project_a, "INV-1")}
    routes = _integer_routes(app)
    assert len(routes) >= 20, routes
    await sign_in_client(http, world.workspace, world.alice)
    staff = other_client(http)
    await sign_in_staff(staff, world.workspace, world.staff)
    for method, path in routes:
        client = http if path.startswith("/p/") else staff
        int_params = [name for name, kind in PARAM.findall(path) if kind == "int"]
        for target in int_params:  # one parameter huge at a time, the others real
            def value(match: re.Match, target=target) -> str:
                name, kind = match.groups()
                if kind == "str":
                    return "acme" if name == "workspace_slug" else "x"
                return str(huge) if name == target else str(ids.get(name, 1))

            url = PARAM.sub(value, path)
            response = await client.request(method, url, headers={"x-csrftoken": csrf_token(client)})
            assert response.status_code == 404, (method, url, response.status_code)


# 5. Headers on every answer


SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


async def test_security_headers_on_404_405_errors_and_static_files(http, world):
    answers = {
        "router 404": await http.get("/no/such/page"),
        "405": await http.post("/healthz"),
        "static": await http.get("/static/css/app.css"),
        "static 404": await http.get("/static/no-such-file.css"),
        "vendored": await http.get("/static/vendor/pdfjs/pdf.worker.min.mjs"),
        "portal 404": await http.get("/p/no-such-workspace/"),
        "page": await http.get("/studio/login"),
        "favicon": await http.get("/favicon.ico"),
    }
    assert answers["router 404"].status_code == 404
    assert answers["405"].status_code == 405
    assert answers["static"].status_code == 200 and answers["vendored"].status_code == 200
    assert answers["favicon"].status_code == 200 and answers["favicon"].headers["content-type"] == "image/png"
    for name, response in answers.items():
        for header in SECURITY_HEADERS:
            assert header in response.headers, (name, header)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in response.headers  # plain http installation
    assert answers["static"].headers["content-type"].startswith("text/css")
    assert answers["vendored"].headers["content-type"].startswith("text/javascript")
    assert "max-age" in answers["static"].headers["cache-control"]


async def test_static_files_answer_304_to_their_etag_and_refuse_walking_out(http):
    first = await http.get("/static/js/app.js?v=4")
    assert "immutable" in first.headers["cache-control"]
    again = await http.get("/static/js/app.js?v=4", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for path in ("/static/../portal/settings.py", "/static/%2e%2e/pyproject.toml", "/static/vendor/../../README.md"):
        response = await http.get(path)
        assert response.status_code == 404, path
        assert "PORTAL_" not in response.text


async def test_https_installations_send_hsts_with_its_setting(settings, db, world):
    for seconds, expected in ((31536000, "max-age=31536000"), (600, "max-age=600"), (0, None)):
        app = create_app(dataclasses.replace(settings, base_url="https://portal.example.com", hsts_seconds=seconds))
        transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="https://portal.example.com") as client:
            for path in ("/studio/login", "/nope", "/static/css/app.css"):
                assert (await client.get(path)).headers.get("strict-transport-security") == expected, (seconds, path)


async def test_signed_in_pages_and_fragments_are_never_stored(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    staff = other_client(http)
    await sign_in_staff(staff, world.workspace, world.staff)
    for client, url in ((http, "/p/acme/"), (http, f"/p/acme/projects/{world.project_a}"), (http, f"/p/acme/projects/{world.project_a}/files"),
                        (staff, "/studio/"), (staff, "/studio/team")):
        for headers in ({}, {"HX-Request": "true"}):
            response = await client.get(url, headers=headers)
            assert response.status_code == 200, url
            assert response.headers["cache-control"] == "no-store", (url, headers)


# 6. CSRF bound to the session


async def test_a_csrf_token_of_another_session_is_refused(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    attacker = other_client(http)
    await sign_in_client(attacker, world.workspace, world.carol)
    url = "/p/acme/logout-everywhere"
    # The attacker's own valid token, and its anonymous cookie pair, do not work for alice.
    for forged in (csrf_token(attacker), csrf_token(other_client(http))):
        response = await http.post(url, data={"_csrf_token": forged})
        assert response.status_code == 403
        response = await http.post(url, headers={"x-csrftoken": forged})
        assert response.status_code == 403
    assert (await http.get("/p/acme/")).status_code == 200  # still signed in: nothing happened
    # On plain http an attacker can plant cookies: a CSRF cookie and token pair of their
    # own, valid together, next to alice's session cookie. It must not be accepted.
    anonymous = other_client(http)
    await anonymous.get("/p/acme/login")
    pair_cookie, pair_token = anonymous.cookies.get("csrftoken"), csrf_token(anonymous)
    assert pair_cookie and pair_token
    planted = other_client(http)
    planted.cookies.set("portal_session", http.cookies.get("portal_session"))
    planted.cookies.set("csrftoken", pair_cookie)
    for attempt in ({"data": {"_csrf_token": pair_token}}, {"headers": {"x-csrftoken": pair_token}}):
        response = await planted.post(url, **attempt)
        assert response.status_code == 403
    assert (await http.get("/p/acme/")).status_code == 200
    # Alice's own token works.
    response = await http.post(url, data={"_csrf_token": csrf_token(http)})
    assert response.status_code == 303


async def test_signing_in_retires_the_tokens_of_the_page_before(http, world):
    await http.get("/p/acme/login")
    before = csrf_token(http)
    assert before
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=5))
    assert (await http.post(f"/p/acme/login/{token}", data={"_csrf_token": before})).status_code == 303
    assert csrf_token(http) != before
    assert (await http.post("/p/acme/logout", data={"_csrf_token": before})).status_code == 403
    page = await http.get("/p/acme/")
    assert f'value="{csrf_token(http)}"' in page.text  # the page carries the new one
