"""Invite links: a new invite voids the older ones for that person and project."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest

from portal.accounts.magic import process_sign_in_requests
from portal.accounts.tables import LoginToken
from portal.accounts.tokens import issue_token
from portal.app import create_app
from portal.mail.tables import OutboxMessage
from portal.projects.tables import ProjectAccess
from tests.factories import make_project
from tests.fixtures import post_form, sign_in_staff

BASE = "http://127.0.0.1:8000"
ALICE = "alice@northwind.example"


@pytest.fixture
async def roomy_http(settings, db):
    """A client against an app whose rate limits do not get in the way."""
    app = create_app(dataclasses.replace(settings, rate_limit_per_ip=1000, rate_limit_per_email=1000))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def browser(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser (no cookies) on the same app."""
    return httpx.AsyncClient(transport=http._transport, base_url=BASE)


async def latest_link(to: str, marker: str = "/p/acme/login/") -> str:
    """The link in the newest email to ``to``, as a path."""
    message = await OutboxMessage.select(OutboxMessage.text_body).where(OutboxMessage.to_address == to).order_by(
        OutboxMessage.id, ascending=False
    ).first()
    return next(w for w in message["text_body"].split() if marker in w).removeprefix(BASE)


async def invite(http: httpx.AsyncClient, project: int, email: str) -> str:
    response = await post_form(http, f"/studio/projects/{project}/access", {"email": email, "name": "", "expires_on": ""})
    assert response.status_code == 303, response.text
    return await latest_link(email)


async def resend(http: httpx.AsyncClient, project: int, email: str) -> str:
    grant = await ProjectAccess.select(ProjectAccess.id).where(
        ProjectAccess.project == project, ProjectAccess.client_user.email == email
    ).first()
    response = await post_form(http, f"/studio/projects/{project}/access/{grant['id']}/resend")
    assert response.status_code == 303, response.text
    return await latest_link(email)


async def assert_refused(link: str, http: httpx.AsyncClient) -> None:
    client = browser(http)
    page = await client.get(link)
    assert page.status_code == 410 and "This link can no longer be used" in page.text
    assert 'data-testid="continue"' not in page.text
    assert (await post_form(client, link)).status_code == 410


async def assert_signs_in(link: str, http: httpx.AsyncClient) -> None:
    client = browser(http)
    page = await client.get(link)
    assert page.status_code == 200 and 'data-testid="continue"' in page.text
    assert (await post_form(client, link)).status_code == 303
    assert (await client.get("/p/acme/")).status_code == 200


async def test_resending_an_invite_voids_the_earlier_link(roomy_http, world):
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    first = await invite(roomy_http, world.project_a, ALICE)
    second = await resend(roomy_http, world.project_a, ALICE)
    assert first != second
    await assert_refused(first, roomy_http)
    await assert_signs_in(second, roomy_http)
    tokens = await LoginToken.select(LoginToken.project_id).where(LoginToken.client_user == world.alice)
    assert [t["project_id"] for t in tokens] == [world.project_a] * 2


async def test_inviting_again_voids_the_earlier_link_too(roomy_http, world):
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    first = await invite(roomy_http, world.project_a, ALICE)
    second = await invite(roomy_http, world.project_a, ALICE)
    await assert_refused(first, roomy_http)
    await assert_signs_in(second, roomy_http)


async def test_an_invite_to_another_project_leaves_the_first_one_valid(roomy_http, world):
    project_c = await make_project(world.workspace, world.org_a, "Northwind app", lead=world.staff)
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    first = await invite(roomy_http, world.project_a, ALICE)
    other = await invite(roomy_http, project_c, ALICE)
    assert (await browser(roomy_http).get(other)).status_code == 200
    await assert_signs_in(first, roomy_http)
    await assert_signs_in(other, roomy_http)  # each link is single use, not voided by the other
    ids = await LoginToken.select(LoginToken.project_id).where(LoginToken.purpose == "invite").order_by(LoginToken.id)
    assert [t["project_id"] for t in ids] == [world.project_a, project_c]


async def test_another_clients_invite_to_the_same_project_is_left_alone(roomy_http, world):
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    alice_link = await invite(roomy_http, world.project_a, ALICE)
    await invite(roomy_http, world.project_a, "dave@northwind.example")
    await resend(roomy_http, world.project_a, "dave@northwind.example")
    await assert_signs_in(alice_link, roomy_http)


async def test_login_links_and_invites_do_not_void_each_other(roomy_http, world, settings):
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    invite_link = await invite(roomy_http, world.project_a, ALICE)
    await post_form(browser(roomy_http), "/p/acme/login", {"email": ALICE})
    await process_sign_in_requests(settings)
    login_link = await latest_link(ALICE)
    assert login_link != invite_link
    assert (await browser(roomy_http).get(invite_link)).status_code == 200
    assert (await browser(roomy_http).get(login_link)).status_code == 200
    # and a new invite leaves the login link alone
    await resend(roomy_http, world.project_a, ALICE)
    await assert_refused(invite_link, roomy_http)
    await assert_signs_in(login_link, roomy_http)


async def test_a_new_staff_invite_voids_the_older_one(roomy_http, world):
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    links = []
    for _ in range(2):
        response = await post_form(roomy_http, "/studio/team", {"email": "max@acme.example", "name": "Max", "role": "member"})
        assert response.status_code == 303
        links.append(await latest_link("max@acme.example", "/studio/login/"))
    first, second = links
    newcomer = browser(roomy_http)
    assert (await newcomer.get(first)).status_code == 410
    assert (await post_form(newcomer, first)).status_code == 410
    assert (await newcomer.get(second)).status_code == 200
    assert (await post_form(newcomer, second)).status_code == 303
    assert (await newcomer.get("/studio/")).status_code == 200


async def test_issue_token_refuses_bad_input_with_value_errors(world):
    lifetime = dt.timedelta(minutes=5)
    with pytest.raises(ValueError):
        await issue_token(workspace_id=world.workspace, lifetime=lifetime)
    with pytest.raises(ValueError):
        await issue_token(workspace_id=world.workspace, staff_id=world.staff, client_user_id=world.alice, lifetime=lifetime)
    with pytest.raises(ValueError):
        await issue_token(workspace_id=world.workspace, client_user_id=world.alice, purpose="reset", lifetime=lifetime)
    with pytest.raises(ValueError):  # a login link names no project
        await issue_token(workspace_id=world.workspace, client_user_id=world.alice, project_id=world.project_a,
                          lifetime=lifetime)
    assert await LoginToken.count() == 0


async def test_resend_is_offered_only_to_people_who_have_not_accepted(roomy_http, world):
    await sign_in_staff(roomy_http, world.workspace, world.staff)
    await invite(roomy_http, world.project_a, "dave@northwind.example")
    await ProjectAccess.update({ProjectAccess.accepted_at: dt.datetime.now(dt.UTC)}).where(
        ProjectAccess.client_user.email == ALICE)
    page = (await roomy_http.get(f"/studio/projects/{world.project_a}/access")).text
    rows = page.split('data-testid="access-row"')[1:]
    by_person = {("dave" if "dave@northwind.example" in row else "alice"): row for row in rows}
    assert 'data-testid="resend"' in by_person["dave"]
    assert 'data-testid="resend"' not in by_person["alice"]
