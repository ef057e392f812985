"""The studio side of deliverables in Chromium: create, upload, put up for review; the lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_links

pytestmark = pytest.mark.e2e

ASSETS = Path(__file__).resolve().parents[2] / "portal" / "demo_assets"


def sign_in_owner(page: Page, live_server) -> None:
    page.goto(demo_links(live_server)["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{live_server.url}/studio/")


def check_staff_cycle(page: Page, live_server, screenshot) -> None:
    sign_in_owner(page, live_server)
    row = page.get_by_test_id("studio-projects").get_by_role("row").filter(has_text="Website redesign")
    row.get_by_role("link", name="Website redesign").click()
    table = page.get_by_test_id("studio-deliverables")
    expect(table).to_contain_text("Sitemap draft")  # staff see drafts
    screenshot("list")
    form = page.get_by_test_id("create-deliverable")
    form.get_by_label("Title").fill("Launch banner")
    form.get_by_role("button", name="Create draft").click()
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Draft")
    upload = page.get_by_test_id("upload-form")
    upload.get_by_label("File").set_input_files(str(ASSETS / "key-visual-v2.png"))
    upload.get_by_label("Note for the client (optional)").fill("Wide version for the homepage.")
    upload.get_by_role("button", name="Upload").click()
    expect(page.locator("figure img")).to_be_visible()
    page.get_by_test_id("mark-ready").click()
    expect(page.get_by_test_id("ready-done")).to_contain_text("1 client emailed")
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Ready for review")
    screenshot("ready")
    page.get_by_role("link", name="All deliverables").click()
    page.get_by_role("link", name="Style guide").click()
    expect(page.get_by_test_id("locked-note")).to_be_visible()
    expect(page.get_by_test_id("upload-form")).to_have_count(0)
    expect(page.get_by_test_id("approval-record")).to_contain_text("alice@northwind.example")
    screenshot("locked")


@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 900})
def test_staff_put_a_new_deliverable_up_for_review(page: Page, fresh_db, screenshot):
    check_staff_cycle(page, fresh_db, screenshot)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812}, java_script_enabled=False)
def test_staff_put_a_new_deliverable_up_for_review_on_a_phone_without_javascript(page: Page, fresh_db, screenshot):
    check_staff_cycle(page, fresh_db, screenshot)
    # Our page fits (wide tables and the project's tab strip scroll inside their own frame, which
    # itself fits; the studio's top bar is not ours).
    overflowing = page.evaluate(
        "() => Array.from(document.querySelectorAll('main *'))"
        ".filter(e => !e.closest('.table-wrap') && !(e.parentElement && e.parentElement.closest('.tabs'))"
        " && e.getBoundingClientRect().right > 376).map(e => e.outerHTML.slice(0, 80))"
    )
    assert overflowing == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_form_error_shows_beside_the_field_with_and_without_javascript(browser, fresh_db, javascript):
    """A form's 422 answer is swapped in like a page: the error sits in the form."""
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 375, "height": 812})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" and "422" not in message.text else None)
    sign_in_owner(page, fresh_db)
    page.get_by_role("link", name="Website redesign").first.click()
    form = page.get_by_test_id("create-deliverable")
    expect(form).to_be_visible()
    list_url = page.url
    assert list_url.endswith("/deliverables")
    form.get_by_label("Description (optional)").fill("Kept after the error")
    form.get_by_role("button", name="Create draft").click()
    title = page.get_by_test_id("create-deliverable").get_by_label("Title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("create-deliverable")).to_contain_text("title")
    expect(page.get_by_test_id("create-deliverable").get_by_label("Description (optional)")).to_have_value("Kept after the error")
    expect(page.locator("#flash-error")).to_be_hidden()
    if javascript:
        assert page.url == list_url  # the address bar stays on the page, not the POST action
        expect(title).to_be_focused()
    context.close()
