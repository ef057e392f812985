"""Reviewing deliverables in Chromium, with and without JavaScript, on the demo data.

Alice (Northwind) approves the homepage mockup after a confirmation step, and a
change request without a comment shows an error and changes nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_links

pytestmark = pytest.mark.e2e

NO_JS = pytest.mark.browser_context_args(java_script_enabled=False)
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def sign_in_alice(page: Page, live_server) -> None:
    page.goto(demo_links(live_server)["alice@northwind.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{live_server.url}/p/demo/")


def open_deliverable(page: Page, title: str, project: str = "Website redesign") -> None:
    page.get_by_role("link", name=re.compile(project)).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name="Deliverables").click()
    expect(page.get_by_test_id("deliverables-tab")).to_be_visible()
    page.get_by_test_id("deliverable-card").filter(has_text=title).get_by_role("link").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def check_approve_with_confirmation(page: Page, live_server, screenshot) -> None:
    sign_in_alice(page, live_server)
    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name="Deliverables").click()
    tab = page.get_by_test_id("deliverables-tab")
    expect(tab.get_by_test_id("deliverable-card")).to_have_count(3)  # never the draft or the work in progress
    expect(tab).not_to_contain_text("Sitemap draft")
    expect(tab).not_to_contain_text("Checkout flow")
    screenshot("tab-desktop")
    page.set_viewport_size(PHONE)
    screenshot("tab-phone")
    tab.get_by_test_id("deliverable-card").filter(has_text="Homepage mockup").get_by_role("link").click()
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Ready for review")
    image = page.get_by_test_id("viewer-image").locator("img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    confirm = page.get_by_test_id("confirm-approve")
    expect(confirm).to_be_hidden()  # approving takes a second, deliberate step
    page.get_by_test_id("approve").click()
    expect(confirm).to_be_visible()
    screenshot("confirm-phone")
    confirm.click()
    expect(page.get_by_test_id("decision-done")).to_be_visible()
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Approved")
    expect(page.get_by_test_id("approval-summary")).to_have_text(re.compile(r"^Approved by Alice Andrews on \d+ \w+ \d{4}, version \d+\.$"))
    expect(page.get_by_test_id("locked-note")).to_have_count(0)  # one banner says it, not two
    expect(page.get_by_test_id("approval-sha256")).to_be_hidden()  # the evidence waits behind a toggle
    page.get_by_test_id("approval-evidence").locator("summary").click()
    expect(page.get_by_test_id("approval-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    # An approval without a comment leaves no empty bubble in the thread.
    assert page.eval_on_selector_all("[data-testid=thread-item]", "items => items.filter(i => i.children.length < 2).length") == 0
    expect(page.get_by_test_id("review-actions")).to_have_count(0)
    screenshot("approved-phone")
    page.set_viewport_size(DESKTOP)
    screenshot("approved-desktop")


def check_change_request_needs_a_comment(page: Page, live_server, screenshot) -> None:
    sign_in_alice(page, live_server)
    open_deliverable(page, "Intro video")
    page.get_by_test_id("request-changes").click()
    expect(page.get_by_test_id("comment-error")).to_have_text("Please tell us what should change.")
    expect(page.get_by_test_id("comment")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Ready for review")
    screenshot("comment-required")
    page.get_by_test_id("comment").fill("Can the logo fade in a little slower?")
    page.get_by_test_id("request-changes").click()
    expect(page.get_by_test_id("decision-done")).to_be_visible()
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Changes requested")
    expect(page.get_by_test_id("feedback-thread")).to_contain_text("Can the logo fade in a little slower?")


def test_alice_approves_a_deliverable_after_confirming(page: Page, fresh_db, screenshot):
    check_approve_with_confirmation(page, fresh_db, screenshot)


@NO_JS
def test_alice_approves_a_deliverable_without_javascript(page: Page, fresh_db, screenshot):
    check_approve_with_confirmation(page, fresh_db, screenshot)


def test_a_change_request_needs_a_comment(page: Page, fresh_db, screenshot):
    check_change_request_needs_a_comment(page, fresh_db, screenshot)


@NO_JS
def test_a_change_request_needs_a_comment_without_javascript(page: Page, fresh_db, screenshot):
    check_change_request_needs_a_comment(page, fresh_db, screenshot)


def test_the_pdf_is_drawn_in_the_page_and_the_video_plays(page: Page, fresh_db, screenshot):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in_alice(page, fresh_db)
    page.set_viewport_size(DESKTOP)
    open_deliverable(page, "Style guide")
    pages = page.get_by_test_id("pdf-page")
    expect(pages).to_have_count(2)
    expect(pages.first).to_have_attribute("data-rendered", "true")
    # Something was drawn: the top of page one is the brand blue, not blank white.
    assert pages.first.evaluate("c => Array.from(c.getContext('2d').getImageData(10, 10, 1, 1).data).slice(0, 3)") != [255, 255, 255]
    screenshot("pdf-desktop")
    page.set_viewport_size(PHONE)
    screenshot("pdf-phone")
    page.get_by_role("link", name="All deliverables").click()
    page.get_by_test_id("deliverable-card").filter(has_text="Intro video").get_by_role("link").click()
    video = page.get_by_test_id("viewer-video").locator("video")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")
    assert video.evaluate("v => v.duration") == pytest.approx(3, abs=0.2)
    screenshot("video-phone")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


@NO_JS
def test_without_javascript_the_pdf_is_a_download_link(page: Page, fresh_db):
    sign_in_alice(page, fresh_db)
    open_deliverable(page, "Style guide")
    link = page.get_by_test_id("viewer-pdf").get_by_test_id("download")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "northwind-brand-guidelines.pdf"
    expect(page.get_by_test_id("pdf-page")).to_have_count(0)
