"""Paying an invoice in Chromium: hosted Checkout on the fake Stripe without JavaScript, embedded with it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, demo_links, sign_in_with
from tests.stripe_support import PUBLISHABLE, SECRET, WEBHOOK

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
#: Stands in for Stripe.js (js.stripe.com is not reachable from the tests): it mounts a marker
#: carrying the client secret the page gave it, so the test sees what Stripe.js would receive.
STRIPE_JS_STAND_IN = """
window.Stripe = function (key) {
  return {
    createEmbeddedCheckoutPage: function (options) {
      return options.fetchClientSecret().then(function (secret) {
        return { mount: function (box) {
          var marker = document.createElement("p");
          marker.setAttribute("data-testid", "stripe-mounted");
          marker.setAttribute("data-key", key);
          marker.textContent = secret;
          box.appendChild(marker);
        } };
      });
    }
  };
};
"""


def connect_demo(server, stripe_fake, checkout: str) -> str:
    """The demo workspace, its Stripe account on the fake (events posted to the server at once);
    alice's sign-in link."""
    link = demo_links(server)["alice@northwind.example"]
    stripe_fake.add_account(SECRET, webhook_secret=WEBHOOK, webhook_url=f"{server.url}/webhooks/stripe/demo",
                            publishable_key=PUBLISHABLE)
    stripe_fake.delivery = "now"
    output = server.cli("stripe", "set", "demo", "--secret-key", SECRET, "--publishable-key", PUBLISHABLE,
                        "--webhook-secret", WEBHOOK, "--checkout", checkout)
    assert SECRET not in output and WEBHOOK not in output
    return link


def open_overdue_invoice(page: Page, link: str) -> None:
    sign_in_with(page, link)
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name="Billing").click()
    row = page.get_by_test_id("invoice-row").filter(has=page.get_by_test_id("invoice-status").filter(has_text="Overdue"))
    row.get_by_test_id("invoice-link").click()
    expect(page.get_by_test_id("invoice").get_by_test_id("invoice-status")).to_have_text("Overdue")


def watch_console(page: Page) -> list[str]:
    failed: list[str] = []
    page.on("console", lambda message: failed.append(message.text) if message.type == "error" else None)
    # A request the browser abandoned itself (net::ERR_ABORTED: the page moved on, as a
    # favicon still loading when a form is sent) is not a failure; any error answer still
    # counts below, and any other network failure here.
    page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}")
            if request.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda response: failed.append(f"{response.url}: {response.status}")
            if response.status >= 400 else None)
    return failed


@pytest.mark.browser_context_args(java_script_enabled=False, **PHONE)
def test_alice_pays_an_overdue_invoice_on_hosted_checkout_without_javascript(page: Page, fresh_db, stripe_fake, smtp,
                                                                             screenshot):
    link = connect_demo(fresh_db, stripe_fake, "embedded")  # without JavaScript: Stripe's own page anyway
    failed = watch_console(page)
    open_overdue_invoice(page, link)
    expect(page.get_by_test_id("pay-button")).to_have_text("Pay $4,500.00")
    screenshot("invoice-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("pay-button").click()
    expect(page).to_have_url(re.compile(re.escape(stripe_fake.url) + r"/pay/cs_"))
    expect(page.get_by_test_id("total")).to_have_text("USD 4500.00")
    page.get_by_test_id("pay").click()  # the fake completes the session and posts the signed event first

    expect(page.get_by_test_id("payment-received")).to_contain_text("$4,500.00")
    assert "/billing/" in page.url and "/paid?session_id=cs_" in page.url
    screenshot("payment-received-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_test_id("back-to-invoice").click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("paid-note")).to_contain_text("Nothing left to pay")
    expect(page.get_by_test_id("pay-button")).to_have_count(0)

    receipt = smtp[0].wait_for("alice@northwind.example", "Receipt")
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "$4,500.00" in text and SECRET not in receipt.as_string()
    assert [session["ui_mode"] for session in stripe_fake.sessions.values()][-1] == "hosted_page"
    assert failed == []


@pytest.mark.browser_context_args(**PHONE)
def test_with_javascript_pay_opens_embedded_checkout_with_stripes_origins_on_that_page_only(page: Page, fresh_db,
                                                                                             stripe_fake, screenshot):
    link = connect_demo(fresh_db, stripe_fake, "embedded")
    failed = watch_console(page)
    page.route("https://js.stripe.com/v3/", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=STRIPE_JS_STAND_IN))
    open_overdue_invoice(page, link)
    invoice_page = page.context.request.get(page.url)
    assert invoice_page.ok and "js.stripe.com" not in invoice_page.headers["content-security-policy"]

    with page.expect_response(re.compile(r"/billing/\d+/pay$")) as paid:
        page.get_by_test_id("pay-button").click()
    response = paid.value
    policy = dict(part.split(" ", 1) for part in response.headers["content-security-policy"].split("; "))
    assert policy["script-src"] == "'self' https://js.stripe.com"
    assert policy["frame-src"] == "https://js.stripe.com https://checkout.stripe.com"
    assert response.request.post_data and "mode=embedded" in response.request.post_data

    session = list(stripe_fake.sessions.values())[-1]
    assert session["ui_mode"] == "embedded_page"
    mounted = page.get_by_test_id("stripe-mounted")
    expect(mounted).to_have_text(session["client_secret"])
    expect(mounted).to_have_attribute("data-key", PUBLISHABLE)
    expect(page.get_by_role("heading", name=re.compile("Pay invoice"))).to_contain_text("$4,500.00")
    screenshot("embedded-checkout-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert failed == []



@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_owner_sets_up_payments_on_a_phone(browser, fresh_db, stripe_fake, javascript):
    """Settings -> Payments: bad keys are refused beside their fields (with JavaScript too), good ones are
    saved and masked, Test connection names the Stripe account, Remove asks first."""
    context = browser.new_context(java_script_enabled=javascript, **PHONE)
    page = context.new_page()

    def screenshot(name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"payment-settings-{'js' if javascript else 'nojs'}-{name}.png"),
                        full_page=True, caret="initial")

    failed = watch_console(page)
    links = demo_links(fresh_db)
    stripe_fake.add_account(SECRET, webhook_secret=WEBHOOK, webhook_url=None, name="Brightline Studio Ltd",
                            publishable_key=PUBLISHABLE)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    page.goto(f"{fresh_db.url}/studio/settings/payments")
    expect(page.get_by_test_id("payments-off")).to_be_visible()
    expect(page.get_by_test_id("webhook-url")).to_have_text(f"{fresh_db.url}/webhooks/stripe/demo")

    form = page.get_by_test_id("keys-form")
    form.get_by_label("Secret key").fill("sk_nope")
    form.get_by_label("Publishable key").fill(PUBLISHABLE)
    form.get_by_test_id("save-keys").click()
    expect(page.get_by_test_id("form-error")).to_have_text("Please fix the marked fields. Nothing was saved.")
    expect(page.locator("#error-secret_key")).to_contain_text("sk_test_")
    expect(page.locator("#error-webhook_secret")).to_contain_text("whsec_")
    expect(page.get_by_label("Publishable key")).to_have_value(PUBLISHABLE)  # what was typed stays
    expect(page.get_by_label("Secret key")).to_have_value("")  # a secret is never sent back
    screenshot("errors-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_label("Secret key").fill(SECRET)
    page.get_by_label("Webhook signing secret").fill(WEBHOOK)
    page.get_by_test_id("save-keys").click()
    expect(page.get_by_test_id("payments-connected")).to_be_visible()
    expect(page.get_by_text("Stored encrypted: sk_test_••••1234")).to_be_visible()
    page.get_by_test_id("test-connection").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Brightline Studio Ltd")
    screenshot("connected-375")
    assert SECRET not in page.content() and WEBHOOK not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("remove-keys").click()
    expect(page.get_by_test_id("payments-connected")).to_be_visible()  # nothing removed yet: it asks first
    page.get_by_test_id("confirm-remove-keys").click()
    expect(page.get_by_test_id("payments-off")).to_be_visible()
    # The refused form's answer is a 422, which Chromium reports; nothing else failed.
    refused = [f"{fresh_db.url}/studio/settings/payments: 422",
               "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    assert sorted(failed) == sorted(refused), failed
    context.close()
