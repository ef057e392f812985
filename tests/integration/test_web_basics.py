"""Cross-cutting HTTP behaviour: health, headers, errors, CSRF, sign-in and sign-out."""

from __future__ import annotations

import datetime as dt

from portal.accounts.tables import LoginToken, UserSession
from portal.accounts.tokens import issue_token
from portal.workspaces.tables import Workspace
from tests.fixtures import csrf_token, post_form, sign_in_client


async def test_healthz_checks_the_database(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_pages_carry_security_headers(http, world):
    response = await http.get("/p/acme/login")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_unknown_pages_get_a_generic_404_page(http, world):
    response = await http.get("/p/acme/no-such-page")
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.text and "Page not found" in response.text
    assert "Traceback" not in response.text


async def test_unknown_workspace_is_404(http, world):
    assert (await http.get("/p/nobody/")).status_code == 404


async def test_machine_routes_answer_json_errors(http):
    response = await http.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_posts_without_the_csrf_token_are_refused(http, world):
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=5))
    await http.get("/healthz")
    assert csrf_token(http)
    response = await http.post(f"/p/acme/login/{token}", data={})
    assert response.status_code == 403
    assert await UserSession.count() == 0
    # The link still works afterwards: nothing was consumed.
    assert (await post_form(http, f"/p/acme/login/{token}")).status_code == 303


async def test_opening_a_link_consumes_nothing_and_the_post_signs_in(http, world):
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=5))
    for _ in range(3):
        page = await http.get(f"/p/acme/login/{token}")
        assert page.status_code == 200 and 'data-testid="continue"' in page.text
    assert await LoginToken.count().where(LoginToken.used_at.is_null()) == 1
    response = await post_form(http, f"/p/acme/login/{token}")
    assert response.status_code == 303 and response.headers["location"] == "/p/acme/"
    cookie = response.headers["set-cookie"]
    assert "portal_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert token not in response.headers["location"]
    again = await post_form(http, f"/p/acme/login/{token}")
    assert again.status_code == 410


async def test_a_link_of_one_workspace_does_not_open_another(http, world):
    from tests.factories import make_workspace

    await make_workspace("other", "Other")
    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=5))
    assert (await post_form(http, f"/p/other/login/{token}")).status_code == 410
    assert await UserSession.count() == 0


async def test_sign_out_ends_the_session_on_the_server(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    stolen = http.cookies.get("portal_session")
    response = await post_form(http, "/p/acme/logout")
    assert response.status_code == 303
    assert await UserSession.count() == 0
    http.cookies.set("portal_session", stolen)
    assert (await http.get("/p/acme/")).status_code == 303


async def test_a_disabled_portal_shows_a_friendly_page(http, world):
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    response = await http.get("/p/acme/")
    assert response.status_code == 503
    assert 'data-testid="portal-unavailable"' in response.text
    assert "help@acme.example" in response.text
