"""Sign in with Google in Chromium: our server (two workers) and a real OpenID provider.

The shared ``live_server`` has no Google settings, so this module starts its own server
subprocess with GOOGLE_* pointing at oidc-provider-mock (running in a thread here).
Two worker processes: the flow must not depend on one process's memory.
"""

from __future__ import annotations

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Page, expect

from tests.conftest import empty_all_tables
from tests.e2e.conftest import run_db, start_server

pytestmark = pytest.mark.e2e

ALICE = User(sub="google-alice", claims={"email": "alice@northwind.example", "email_verified": True, "name": "Alice"})
MALLORY = User(sub="google-mallory", claims={"email": "mallory@evil.example", "email_verified": True})


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread(user_claims=[ALICE, MALLORY]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def google_server(schema, provider):
    """A portal server configured for the provider, on a free port."""
    env = {
        "GOOGLE_CLIENT_ID": "portal-e2e", "GOOGLE_CLIENT_SECRET": "portal-e2e-secret",
        "GOOGLE_DISCOVERY_URL": f"{provider}/.well-known/openid-configuration",
        "AUTHLIB_INSECURE_TRANSPORT": "1",  # the provider speaks plain http in tests only
    }
    with start_server("google", env, workers=2) as server:
        yield server


@pytest.fixture
def demo(google_server, page: Page):
    run_db(empty_all_tables)
    google_server.cli("demo")
    # The provider's page loads a CDN stylesheet; there is no network here.
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    return google_server


def choose_at_provider(page: Page, sub: str) -> None:
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_role("button", name=sub).click()


def test_alice_continues_with_google_into_her_portal(page: Page, demo, screenshot):
    page.goto(f"{demo.url}/p/demo/login")
    screenshot("login")
    page.get_by_test_id("continue-with-google").click()
    choose_at_provider(page, ALICE.sub)
    expect(page).to_have_url(f"{demo.url}/p/demo/")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Alice Andrews")
    expect(page.get_by_test_id("project-list")).to_contain_text("Website redesign")
    screenshot("home")


@pytest.mark.browser_context_args(java_script_enabled=False)
def test_it_works_without_javascript(page: Page, demo):
    page.goto(f"{demo.url}/p/demo/login")
    page.get_by_role("link", name="Continue with Google").click()
    choose_at_provider(page, ALICE.sub)
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Alice Andrews")


@pytest.mark.parametrize("width", [375, 1280])
def test_an_uninvited_google_account_gets_a_clear_refusal(page: Page, demo, screenshot, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{demo.url}/p/demo/login")
    screenshot("login")
    page.get_by_test_id("continue-with-google").click()
    choose_at_provider(page, MALLORY.sub)
    refused = page.get_by_test_id("google-refused")
    expect(refused).to_contain_text("This Google account (mallory@evil.example) has not been invited")
    screenshot("refused")
    page.get_by_test_id("back-to-login").click()
    expect(page).to_have_url(f"{demo.url}/p/demo/login")
    page.goto(f"{demo.url}/p/demo/")
    expect(page).to_have_url(f"{demo.url}/p/demo/login")  # no session was created
