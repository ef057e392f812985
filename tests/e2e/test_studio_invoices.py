"""Studio invoices in Chromium: create a draft for a demo project, add two taxed lines,
send it (the email arrives over real SMTP), mark it paid by hand as the owner; the
client's Billing tab then shows it Paid. With JavaScript at 1280 px, without at 375 px."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import empty_all_tables
from tests.e2e.conftest import Inbox, demo_links, run_db, sign_in_with
from tests.e2e.test_quality import serious_violations

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots/billing")


def keep(shot: Path, name: str) -> None:
    """A copy of a screenshot for the reviewers under /tmp/shots/billing."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / f"{name}.png")


def fits(page: Page, width: int) -> list[str]:
    """What sticks out of the page sideways (tables and tab strips scroll inside their own box)."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    return page.evaluate(
        "(width) => Array.from(document.querySelectorAll('main *'))"
        ".filter(e => !e.closest('.table-wrap, .tabs') && e.getBoundingClientRect().right > width + 1)"
        ".map(e => e.outerHTML.slice(0, 80))", width,
    )


def check_invoice_cycle(page: Page, browser: Browser, server, inbox: Inbox, screenshot, size: str, width: int,
                        javascript: bool) -> None:
    run_db(empty_all_tables)
    links = demo_links(server)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{server.url}/studio/")
    checked = {}

    def look(name: str) -> None:
        keep(screenshot(name), f"{name}-{size}")
        # axe runs in the page: only with JavaScript on (the 1280 px run); the phone run checks the fit.
        checked[name] = (fits(page, width), serious_violations(page) if javascript else [])

    page.get_by_role("link", name="Invoices").first.click()
    expect(page.get_by_test_id("studio-invoices")).to_contain_text("BL-")  # the demo's invoices
    look("invoices")
    page.goto(f"{server.url}/studio/settings/billing")
    expect(page.get_by_test_id("next-number")).to_have_text("INV-0001")
    look("billing-settings")

    page.goto(f"{server.url}/studio/projects")
    page.get_by_role("link", name="Website redesign").first.click()
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="Billing").click()
    form = page.get_by_test_id("create-invoice")
    look("project-billing")
    form.get_by_role("button", name="Create draft invoice").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Draft invoice created")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice INV-0001")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Draft")

    for count, (description, quantity, price, rate) in enumerate((("Homepage design (days)", "2", "1250.00", "20"),
                                                                  ("Hosting set-up", "1", "300.00", "10")), start=1):
        lines = page.get_by_test_id("line-form")
        lines.get_by_label("Description").fill(description)
        lines.get_by_label("Quantity").fill(quantity)
        lines.get_by_label("Unit price (USD)").fill(price)
        lines.get_by_label("Tax rate (%)").fill(rate)
        lines.get_by_role("button", name="Add line").click()
        expect(page.get_by_test_id("studio-line")).to_have_count(count)  # the new page, not the last one's flash
        expect(page.get_by_test_id("flash")).to_contain_text("Line added")
    # A bad quantity: the error shows beside the field and nothing is added.
    lines = page.get_by_test_id("line-form")
    lines.get_by_label("Description").fill("Oops")
    lines.get_by_label("Quantity").fill("-1")
    lines.get_by_label("Unit price (USD)").fill("10.00")
    lines.get_by_role("button", name="Add line").click()
    expect(page.get_by_test_id("line-form").get_by_label("Quantity")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("line-form")).to_contain_text("cannot be negative")
    expect(page.get_by_test_id("studio-line")).to_have_count(2)
    expect(page.get_by_test_id("invoice-subtotal")).to_have_text("$2,800.00")
    expect(page.get_by_test_id("invoice-tax")).to_have_text("$530.00")
    expect(page.get_by_test_id("invoice-total")).to_have_text("$3,330.00")
    look("invoice-draft")

    page.get_by_test_id("send-invoice").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Invoice sent. 1 client emailed.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Sent")
    expect(page.get_by_test_id("read-only-note")).to_be_visible()
    expect(page.get_by_test_id("line-form")).to_have_count(0)
    invoice_url = page.url
    invoice_id = invoice_url.rstrip("/").rsplit("/", 1)[1]

    message = inbox.wait_for("alice@northwind.example", "INV-0001")
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(server.url)}/p/demo/projects/\d+/billing/{invoice_id}", text).group(0)
    assert link in message.get_body(preferencelist=("html",)).get_content()
    assert "$3,330.00" in text

    paid = page.get_by_test_id("paid-form")
    paid.get_by_label("Note (optional, staff only)").fill("Bank transfer, ref 4711")
    paid.get_by_role("button", name="Mark as paid").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Payment recorded")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("paid-note")).to_have_text("Bank transfer, ref 4711")
    expect(page.get_by_test_id("void")).to_have_count(0)  # a paid invoice cannot be voided
    look("invoice-paid")

    client = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    client_page = client.new_page()
    sign_in_with(client_page, links["alice@northwind.example"])
    client_page.goto(link)
    expect(client_page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(client_page.get_by_test_id("invoice-tax")).to_have_text("$530.00")
    expect(client_page.get_by_test_id("invoice-total")).to_have_text("$3,330.00")
    expect(client_page.locator("main")).not_to_contain_text("ref 4711")
    SHOTS.mkdir(parents=True, exist_ok=True)
    client_page.screenshot(path=str(SHOTS / f"client-invoice-{size}.png"), full_page=True)
    client_page.get_by_role("link", name="All invoices").click()
    row = client_page.get_by_test_id("invoice-row").filter(has_text="INV-0001")
    expect(row.get_by_test_id("invoice-status")).to_have_text("Paid")
    client.close()

    for name, (overflow, violations) in checked.items():
        assert overflow == [], (name, overflow)
        assert violations == [], (name, violations)


@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 900})
def test_an_invoice_from_draft_to_paid_with_javascript(page: Page, browser: Browser, mail_server, smtp, screenshot):
    check_invoice_cycle(page, browser, mail_server, smtp[0], screenshot, "1280", 1280, javascript=True)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812}, java_script_enabled=False)
def test_an_invoice_from_draft_to_paid_on_a_phone_without_javascript(page: Page, browser: Browser, mail_server, smtp,
                                                                      screenshot):
    check_invoice_cycle(page, browser, mail_server, smtp[0], screenshot, "375", 375, javascript=False)
