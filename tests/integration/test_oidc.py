"""Sign in with Google, against a real OpenID provider (oidc-provider-mock in a thread).

The test plays the browser: it follows our redirect to the provider, picks the user on
the provider's authorization form (a POST), and brings the provider's redirect back to
our callback. Wrong nonces and audiences are real ID tokens signed by the provider.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import socket
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread

from portal.accounts.tables import ClientUser, StaffMember, UserSession
from portal.app import create_app
from portal.audit.tables import AuditEvent
from portal.projects.tables import ProjectAccess
from tests.factories import make_workspace
from tests.fixtures import csrf_token

CLIENT_ID = "portal-test-client"


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
async def google(settings, db, provider, monkeypatch):
    """An HTTP client to an app configured for the provider (plain http allowed in tests)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    configured = dataclasses.replace(
        settings, google_client_id=CLIENT_ID, google_client_secret="portal-test-secret",
        google_discovery_url=f"{provider}/.well-known/openid-configuration",
    )
    transport = httpx.ASGITransport(app=create_app(configured), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


async def put_user(provider: str, sub: str, **claims) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.put(f"{provider}/users/{sub}", json=claims)
        assert response.status_code == 204, response.text


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def flow_in_cookie(client: httpx.AsyncClient) -> dict:
    payload = client.cookies.get("portal_oidc").split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def go_through_google(client: httpx.AsyncClient, sub: str, start: str = "/p/acme/auth/google",
                            tamper=None) -> httpx.Response:
    """Our redirect -> the provider's form (choose ``sub``) -> our callback; its response."""
    started = await client.get(start)
    assert started.status_code == 302, started.text
    authorize = started.headers["location"]
    if tamper:
        authorize = tamper(authorize)
    async with httpx.AsyncClient() as browser_at_provider:
        chosen = await browser_at_provider.post(authorize, data={"sub": sub})
    assert chosen.status_code == 302, chosen.text
    return await client.get(chosen.headers["location"])


async def audit(action: str) -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == action)


async def assert_no_session(client: httpx.AsyncClient) -> None:
    assert await UserSession.count() == 0
    assert client.cookies.get("portal_session") is None
    assert (await client.get("/p/acme/")).status_code == 303


async def test_the_redirect_carries_state_nonce_and_an_s256_challenge(google, world, provider):
    response = await google.get("/p/acme/auth/google")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(f"{provider}/oauth2/authorize?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    flow = flow_in_cookie(google)
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["scope"] == "openid email profile"
    assert query["redirect_uri"] == "http://127.0.0.1:8000/p/acme/auth/google/callback"
    assert query["state"] == flow["state"] and len(flow["state"]) >= 20
    assert query["nonce"] == flow["nonce"] and len(flow["nonce"]) >= 20
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(flow["code_verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=600" in cookie


async def test_an_invited_client_signs_in_and_is_linked_by_issuer_and_subject(google, world, provider):
    await put_user(provider, "g-alice", email="Alice@Northwind.example", email_verified=True, name="Alice")
    response = await go_through_google(google, "g-alice")
    assert response.status_code == 303 and response.headers["location"] == "/p/acme/"
    home = await google.get("/p/acme/")
    assert home.status_code == 200 and "Alice Andrews" in home.text
    assert google.cookies.get("portal_oidc") is None  # the flow is single-use
    alice = await ClientUser.select().where(ClientUser.id == world.alice).first()
    assert (alice["oidc_issuer"], alice["oidc_subject"]) == (provider, "g-alice")
    [event] = await audit("login_google")
    assert event["target_id"] == world.alice and event["actor_email"] == "alice@northwind.example"

    # Next time the link decides, not the email (which may change at Google).
    signed_out = await google.post("/p/acme/logout", headers={"x-csrftoken": csrf_token(google)})
    assert signed_out.status_code == 303 and (await google.get("/p/acme/")).status_code == 303
    await put_user(provider, "g-alice", email="alice.andrews@other.example", email_verified=True)
    again = await go_through_google(google, "g-alice")
    assert again.status_code == 303 and (await google.get("/p/acme/")).status_code == 200


async def test_an_uninvited_email_is_refused(google, world, provider):
    await put_user(provider, "g-mallory", email="mallory@evil.example", email_verified=True)
    response = await go_through_google(google, "g-mallory")
    assert response.status_code == 403
    assert "This Google account (mallory@evil.example) has not been invited" in " ".join(response.text.split())
    await assert_no_session(google)
    [event] = await audit("login_failed")
    assert json.loads(event["detail"])["reason"] == "not_invited"
    assert await ClientUser.count().where(ClientUser.oidc_subject == "g-mallory") == 0


async def test_an_invited_client_without_a_live_grant_is_refused(google, world, provider):
    await ProjectAccess.delete().where(ProjectAccess.client_user == world.alice)
    await put_user(provider, "g-alice-2", email="alice@northwind.example", email_verified=True)
    assert (await go_through_google(google, "g-alice-2")).status_code == 403
    await assert_no_session(google)
    assert (await ClientUser.select(ClientUser.oidc_subject).where(ClientUser.id == world.alice).first())[
        "oidc_subject"] is None


async def test_a_wrong_nonce_is_refused(google, world, provider):
    await put_user(provider, "g-alice-3", email="alice@northwind.example", email_verified=True)
    # The provider signs a token for another nonce, as with a code taken from another browser.
    response = await go_through_google(google, "g-alice-3", tamper=lambda url: with_query(url, nonce="x" * 27))
    assert response.status_code == 403 and "could not be verified" in response.text
    await assert_no_session(google)
    [event] = await audit("login_failed")
    detail = json.loads(event["detail"])
    assert detail["reason"] == "invalid_id_token" and "nonce" in detail["detail"]


async def test_a_wrong_audience_is_refused(google, world, provider):
    # The provider puts this user's claims last: a genuinely signed token for another client.
    await put_user(provider, "g-alice-4", email="alice@northwind.example", email_verified=True, aud="another-app")
    response = await go_through_google(google, "g-alice-4")
    assert response.status_code == 403
    await assert_no_session(google)
    detail = json.loads((await audit("login_failed"))[0]["detail"])
    assert detail["reason"] == "invalid_id_token" and "aud" in detail["detail"]


async def test_an_unverified_email_is_refused(google, world, provider):
    await put_user(provider, "g-alice-5", email="alice@northwind.example", email_verified=False)
    response = await go_through_google(google, "g-alice-5")
    assert response.status_code == 403 and "not verified" in response.text
    await assert_no_session(google)


async def test_a_callback_with_another_state_is_refused(google, world, provider):
    await put_user(provider, "g-alice-6", email="alice@northwind.example", email_verified=True)
    response = await go_through_google(google, "g-alice-6", tamper=lambda url: with_query(url, state="forged-state"))
    assert response.status_code == 400
    await assert_no_session(google)


async def test_an_invitation_linked_to_another_account_is_not_relinked(google, world, provider):
    await ClientUser.update({ClientUser.oidc_issuer: provider, ClientUser.oidc_subject: "g-original"}).where(
        ClientUser.id == world.alice
    )
    await put_user(provider, "g-intruder", email="alice@northwind.example", email_verified=True)
    response = await go_through_google(google, "g-intruder")
    assert response.status_code == 403 and "already linked to another Google account" in response.text
    await assert_no_session(google)
    alice = await ClientUser.select(ClientUser.oidc_subject).where(ClientUser.id == world.alice).first()
    assert alice["oidc_subject"] == "g-original"


async def test_a_client_of_another_workspace_is_refused_here(google, world, provider):
    await make_workspace(slug="other", name="Other Agency")
    await put_user(provider, "g-alice-7", email="alice@northwind.example", email_verified=True)
    assert (await go_through_google(google, "g-alice-7", start="/p/other/auth/google")).status_code == 403
    assert await UserSession.count() == 0


async def test_staff_sign_in_to_the_studio_and_strangers_do_not(google, world, provider):
    await put_user(provider, "g-stranger", email="stranger@acme.example", email_verified=True)
    refused = await go_through_google(google, "g-stranger", start="/studio/auth/google")
    assert refused.status_code == 403 and "has not been invited to the studio" in " ".join(refused.text.split())
    assert await UserSession.count() == 0

    await put_user(provider, "g-olivia", email="olivia@acme.example", email_verified=True)
    response = await go_through_google(google, "g-olivia", start="/studio/auth/google")
    assert response.status_code == 303 and response.headers["location"] == "/studio/"
    assert (await google.get("/studio/")).status_code == 200
    olivia = await StaffMember.select(StaffMember.oidc_subject).where(StaffMember.id == world.staff).first()
    assert olivia["oidc_subject"] == "g-olivia"


async def test_a_portal_flow_cannot_finish_in_the_studio(google, world, provider):
    await put_user(provider, "g-olivia-2", email="olivia@acme.example", email_verified=True)
    started = await google.get("/p/acme/auth/google")
    query = parse_qs(urlsplit(started.headers["location"]).query)
    callback = f"/studio/auth/google/callback?code=anything&state={query['state'][0]}"
    assert (await google.get(callback)).status_code == 400
    assert await UserSession.count() == 0


async def test_the_button_shows_only_when_configured(http, google, world):
    assert "Continue with Google" not in (await http.get("/p/acme/login")).text
    assert (await http.get("/p/acme/auth/google")).status_code == 404
    assert (await http.get("/studio/auth/google/callback?code=a&state=b")).status_code == 404
    page = (await google.get("/p/acme/login")).text
    assert 'href="/p/acme/auth/google"' in page and "Continue with Google" in page
    assert 'href="/studio/auth/google"' in (await google.get("/studio/login")).text


async def test_an_unreachable_provider_gets_a_clear_page(settings, world, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    nowhere = dataclasses.replace(settings, google_client_id=CLIENT_ID,
                                  google_discovery_url=f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    transport = httpx.ASGITransport(app=create_app(nowhere))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        response = await client.get("/p/acme/auth/google")
    assert response.status_code == 502 and "not available right now" in response.text


async def test_google_sign_in_on_a_custom_domain_comes_back_to_it(settings, db, provider, world, monkeypatch):
    """The callback is on the domain the client is on, and so is the session."""
    from portal.workspaces.tables import Workspace

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    domain = "portal.acme-clients.test"
    await Workspace.update({Workspace.custom_domain: domain, Workspace.domain_status: "verified"}).where(
        Workspace.id == world.workspace)
    configured = dataclasses.replace(
        settings, google_client_id=CLIENT_ID, google_client_secret="portal-test-secret",
        google_discovery_url=f"{provider}/.well-known/openid-configuration",
    )
    await put_user(provider, "g-alice-domain", email="alice@northwind.example", email_verified=True)
    transport = httpx.ASGITransport(app=create_app(configured), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{domain}") as client:
        started = await client.get("/auth/google")
        query = {key: values[0] for key, values in parse_qs(urlsplit(started.headers["location"]).query).items()}
        assert query["redirect_uri"] == f"http://{domain}/auth/google/callback"
        response = await go_through_google(client, "g-alice-domain", start="/auth/google")
        assert response.status_code == 303 and response.headers["location"] == "/"
        home = await client.get("/")
        assert home.status_code == 200 and "Alice Andrews" in home.text
