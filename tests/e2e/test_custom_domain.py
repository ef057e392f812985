"""A custom domain in the browser: the owner sets and verifies it on a phone, and alice
signs in and works on it (Chromium resolves the domain to the test server)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import CNAME_TARGET, demo_links

pytestmark = pytest.mark.e2e

DOMAIN = "portal.brightline-clients.test"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


#: Chromium's note on plain-http origins other than localhost (the custom domain here; HTTPS
#: through Caddy in production), which ignore the Cross-Origin-Opener-Policy header.
HTTP_ONLY_NOTE = "The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy"


def watch(page: Page) -> list[str]:
    failed: list[str] = []
    page.on("console", lambda message: failed.append(message.text)
            if message.type == "error" and not message.text.startswith(HTTP_ONLY_NOTE) else None)
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    return failed


@pytest.mark.browser_context_args(**PHONE)
def test_the_owner_sets_and_verifies_a_domain_on_a_phone(page: Page, fresh_db, dns_server, screenshot):
    dns_server.clear(DOMAIN)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    links = demo_links(fresh_db)
    failed = watch(page)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    page.goto(f"{fresh_db.url}/studio/settings/portal")
    page.get_by_label("Your subdomain").fill(DOMAIN.upper())
    page.get_by_test_id("save-domain").click()
    expect(page.get_by_test_id("cname-name")).to_have_text(DOMAIN)
    expect(page.get_by_test_id("cname-target")).to_have_text(CNAME_TARGET)
    page.get_by_test_id("copy-target").click()
    expect(page.get_by_test_id("copy-target")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == CNAME_TARGET

    page.get_by_test_id("verify-domain").click()  # no record yet
    expect(page.get_by_test_id("domain-status")).to_contain_text(f"No DNS record for {DOMAIN} yet.")
    expect(page.get_by_test_id("domain-status")).to_have_attribute("data-status", "pending")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("pending-375")

    dns_server.cname(DOMAIN, CNAME_TARGET)
    page.get_by_test_id("verify-domain").click()
    expect(page.get_by_test_id("domain-status")).to_have_attribute("data-status", "verified")
    expect(page.get_by_test_id("notice")).to_have_text("Domain verified: your portal answers there now.")
    expect(page.get_by_test_id("domain-status").get_by_role("link")).to_have_attribute("href", f"http://{DOMAIN}/")

    page.get_by_test_id("remove-domain").click()
    page.get_by_test_id("confirm-remove-domain").click()
    expect(page.get_by_test_id("notice")).to_have_text("Custom domain removed.")
    expect(page.get_by_test_id("domain-status")).to_have_count(0)
    assert failed == []


def test_alice_signs_in_and_works_on_the_custom_domain(playwright, browser_type_launch_args, fresh_db, dns_server, smtp):
    port = urlsplit(fresh_db.url).port
    demo_links(fresh_db)
    dns_server.cname(DOMAIN, CNAME_TARGET)
    fresh_db.cli("domain", "set", "demo", DOMAIN)
    assert "verified" in fresh_db.cli("domain", "verify", "demo")
    args = [*browser_type_launch_args["args"], f"--host-resolver-rules=MAP {DOMAIN}:80 127.0.0.1:{port}"]
    browser = playwright.chromium.launch(**{**browser_type_launch_args, "args": args})
    try:
        page = browser.new_page()
        failed = watch(page)
        page.goto(f"http://{DOMAIN}/")
        expect(page).to_have_url(f"http://{DOMAIN}/login")
        page.get_by_label("Email address").fill("alice@northwind.example")
        page.get_by_test_id("send-link").click()
        expect(page.get_by_test_id("link-sent")).to_be_visible()
        message = smtp[0].wait_for("alice@northwind.example", timeout=30)
        body = message.get_body(preferencelist=("plain",)).get_content()
        link = next(word for word in body.split() if f"http://{DOMAIN}/login/" in word)
        page.goto(link)
        page.get_by_test_id("continue").click()
        expect(page).to_have_url(f"http://{DOMAIN}/")
        page.get_by_role("link", name="Website redesign").first.click()
        assert urlsplit(page.url).netloc == DOMAIN and not urlsplit(page.url).path.startswith("/p/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Website redesign")
        page.goto(f"http://{DOMAIN}/studio/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("not")  # the portal's own 404
        assert failed == [f"404 http://{DOMAIN}/studio/",
                          "Failed to load resource: the server responded with a status of 404 (Not Found)"]
    finally:
        browser.close()
