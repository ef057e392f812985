"""Files, Billing and Feedback in a real browser, with and without JavaScript (demo data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.demo import ASSETS
from tests.e2e.conftest import demo_links, run_db, sign_in_with

pytestmark = pytest.mark.e2e

NO_JS = pytest.mark.browser_context_args(java_script_enabled=False)
UNICODE_NAME = "Café menu – draft.pdf"


def open_project_tab(page: Page, live_server, tab: str) -> None:
    """Sign in as alice, open "Website redesign" and click one of its tabs."""
    sign_in_with(page, demo_links(live_server)["alice@northwind.example"])
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name=tab).click()


def both_widths(page: Page, screenshot, name: str, fits: str = "html") -> None:
    """Screenshots at phone and desktop width; at 375 px, ``fits`` must not scroll sideways."""
    page.set_viewport_size({"width": 375, "height": 812})
    screenshot(f"{name}-375")
    assert page.evaluate("s => document.querySelector(s).scrollWidth", fits) <= 375
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(f"{name}-1280")


def add_unicode_file() -> None:
    async def work():
        from portal.files.tables import ProjectFile
        from portal.projects.tables import Project
        from portal.settings import Settings
        from tests.factories import make_file

        project = await Project.select(Project.id, Project.workspace).where(Project.name == "Website redesign").first()
        await make_file(Settings.from_env(), project["workspace"], project["id"], UNICODE_NAME,
                        (ASSETS / "brand-guidelines.pdf").read_bytes() + b"\n% unicode copy\n")
        return await ProjectFile.count()

    run_db(work)


def check_download(page: Page, live_server, screenshot) -> None:
    open_project_tab(page, live_server, "Files")
    files = page.get_by_test_id("file-list")
    expect(files.get_by_test_id("file")).to_have_count(2)
    expect(files).to_contain_text("Northwind brand guidelines.pdf")
    expect(files).to_contain_text("Content inventory.csv")
    expect(files).not_to_contain_text("working file")  # unshared
    both_widths(page, screenshot, "files")

    card = files.get_by_test_id("file").filter(has_text="Northwind brand guidelines.pdf")
    with page.expect_download() as info:
        card.get_by_test_id("file-download").click()
    download = info.value
    assert download.suggested_filename == "Northwind brand guidelines.pdf"
    assert Path(download.path()).read_bytes() == (ASSETS / "brand-guidelines.pdf").read_bytes()

    add_unicode_file()
    page.reload()
    with page.expect_download() as info:
        page.get_by_test_id("file").filter(has_text=UNICODE_NAME).get_by_test_id("file-download").click()
    assert info.value.suggested_filename == UNICODE_NAME  # from filename*, not the ASCII fallback

    # Images get a thumbnail, served inline (the Spring campaign shares one).
    page.get_by_role("link", name="All projects").click()
    page.get_by_role("link", name=re.compile("Spring campaign")).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name="Files").click()
    thumbnail = page.get_by_test_id("file").filter(has_text="Key visual round 1.png").get_by_test_id("file-thumbnail")
    expect(thumbnail).to_be_visible()
    thumbnail.scroll_into_view_if_needed()  # a lazy image loads once it is near the viewport
    # the image really decodes (served inline, allowed by the CSP, not blocked by nosniff)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    expect(page.get_by_test_id("file-list")).not_to_contain_text("internal review")
    both_widths(page, screenshot, "files-images")


def test_alice_downloads_a_shared_file(page: Page, fresh_db, screenshot):
    check_download(page, fresh_db, screenshot)


@NO_JS
def test_alice_downloads_a_shared_file_without_javascript(page: Page, fresh_db, screenshot):
    check_download(page, fresh_db, screenshot)


def check_feedback(page: Page, live_server, screenshot) -> None:
    open_project_tab(page, live_server, "Feedback")
    messages = page.get_by_test_id("feedback-messages")
    expect(messages.get_by_test_id("feedback-message")).to_have_count(1)  # the demo's "Store locator"
    page.get_by_label("Subject", exact=True).fill("Opening hours")
    page.get_by_label("Message", exact=True).fill("Please add our Sunday opening hours to the footer.\nThanks!")
    page.get_by_test_id("feedback-submit").click()
    expect(page.get_by_test_id("feedback-sent")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/feedback\?sent=1$"))
    newest = messages.get_by_test_id("feedback-message").first
    expect(newest).to_contain_text("Opening hours")
    expect(newest).to_contain_text("Sunday opening hours")
    expect(newest.get_by_test_id("feedback-status")).to_have_text("Received")
    expect(messages.get_by_test_id("feedback-message")).to_have_count(2)
    both_widths(page, screenshot, "feedback")

    async def inbox_tasks():
        from portal.projects.tables import Task

        return await Task.select(Task.title, Task.assignee.email.as_alias("lead")).where(Task.kind == "inbox").order_by(Task.id)

    tasks = run_db(inbox_tasks)
    assert tasks[-1] == {"title": "Opening hours", "lead": "owner@brightline.example"}


def test_alice_sends_feedback(page: Page, fresh_db, screenshot):
    check_feedback(page, fresh_db, screenshot)


@NO_JS
def test_alice_sends_feedback_without_javascript(page: Page, fresh_db, screenshot):
    check_feedback(page, fresh_db, screenshot)


def check_invoice(page: Page, live_server, screenshot) -> None:
    open_project_tab(page, live_server, "Billing")
    rows = page.get_by_test_id("invoice-row")
    expect(rows).to_have_count(2)  # Website redesign: one paid, one overdue
    overdue = rows.filter(has_text="Overdue")
    expect(overdue).to_contain_text("$4,500.00")
    both_widths(page, screenshot, "billing")

    overdue.get_by_test_id("invoice-link").click()
    invoice = page.get_by_test_id("invoice")
    expect(invoice.get_by_test_id("invoice-status")).to_have_text("Overdue")
    expect(page).to_have_url(re.compile(r"/billing/\d+$"))
    lines = invoice.get_by_test_id("invoice-line")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("Homepage design (days)")
    expect(lines.first).to_contain_text("$3,000.00")
    expect(lines.nth(1)).to_contain_text("Design system set-up")
    expect(invoice.get_by_test_id("invoice-total")).to_have_text("$4,500.00")
    expect(invoice.get_by_test_id("pay-offline")).to_contain_text("support@brightline.example")
    expect(invoice.get_by_test_id("pay-button")).to_have_count(0)
    both_widths(page, screenshot, "invoice")
    page.emulate_media(media="print")
    screenshot("invoice-print")
    expect(page.get_by_test_id("project-tabs")).to_be_hidden()
    page.emulate_media(media="screen")


def test_alice_opens_an_invoice(page: Page, fresh_db, screenshot):
    check_invoice(page, fresh_db, screenshot)


@NO_JS
def test_alice_opens_an_invoice_without_javascript(page: Page, fresh_db, screenshot):
    check_invoice(page, fresh_db, screenshot)


def test_the_owner_works_the_inbox_and_shares_a_file(page: Page, fresh_db, screenshot):
    links = demo_links(fresh_db)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    page.goto(f"{fresh_db.url}/studio/inbox")
    item = page.get_by_test_id("inbox-item").filter(has_text="Store locator")
    expect(item).to_contain_text("Alice Andrews")
    item.get_by_test_id("inbox-set-in_progress").click()
    expect(page.get_by_test_id("inbox-item").filter(has_text="Store locator").get_by_test_id("inbox-status")).to_have_text("In progress")
    both_widths(page, screenshot, "studio-inbox", fits="#main")

    async def project_id():
        from portal.projects.tables import Project

        return (await Project.select(Project.id).where(Project.name == "Website redesign").first())["id"]

    page.goto(f"{fresh_db.url}/studio/projects/{run_db(project_id)}/files")
    row = page.get_by_test_id("studio-file").filter(has_text="Homepage mockup (working file).png")
    row.get_by_test_id("toggle-share").click()
    expect(page.get_by_test_id("studio-file").filter(has_text="Homepage mockup (working file).png")).to_contain_text("Shared")
    page.get_by_label("File", exact=True).set_input_files(str(ASSETS / "logo.png"))
    page.get_by_label("Share with the client now").check()
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("studio-file").filter(has_text="logo.png")).to_contain_text("Shared")
    both_widths(page, screenshot, "studio-files", fits="#main")
