"""The studio's dashboard, inbox and activity in Chromium: a client's approval reaches the owner's
dashboard; the owner replies to a feedback message from the inbox; alice sees the reply.

Once with JavaScript at 1280 px, once without at 375 px (nothing scrolls sideways there).
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS, demo_links

pytestmark = pytest.mark.e2e

REPLY = "Yes: a map of every shop goes into the next version. We will show you on Friday."


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"studio-dashboard-{name}.png"), full_page=True)


def fits(page: Page, width: int) -> None:
    """Nothing in the page's main part is wider than the screen (tables become cards; tab strips scroll)."""
    overflowing = page.evaluate(
        "w => Array.from(document.querySelectorAll('main *'))"
        ".filter(e => !e.closest('.table-wrap, .tabs') && e.getBoundingClientRect().right > w + 1)"
        ".map(e => e.outerHTML.slice(0, 80))", width,
    )
    assert overflowing == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def accessible(page: Page) -> None:
    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]})
    serious = [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], page.url


def check(browser: Browser, live_server, *, javascript: bool, width: int) -> None:
    viewport = {"width": width, "height": 900}
    links = demo_links(live_server)
    label = f"{width}{'' if javascript else '-nojs'}"
    errors: list[str] = []

    # Alice approves the homepage mockup that waits for her review.
    alice = browser.new_context(java_script_enabled=javascript, viewport=viewport).new_page()
    alice.goto(links["alice@northwind.example"])
    alice.get_by_test_id("continue").click()
    alice.get_by_role("link", name=re.compile("Website redesign")).click()
    alice.get_by_test_id("project-tabs").get_by_role("link", name="Deliverables").click()
    alice.get_by_test_id("deliverable-card").filter(has_text="Homepage mockup").get_by_role("link").click()
    alice.get_by_test_id("approve").click()
    alice.get_by_test_id("confirm-approve").click()
    expect(alice.get_by_test_id("deliverable-status")).to_have_text("Approved")

    # The owner sees it on the dashboard, with the feedback waiting and the deliverables still out.
    owner = browser.new_context(java_script_enabled=javascript, viewport=viewport).new_page()
    # The deliberate empty reply answers 422: Chromium logs that one.
    owner.on("console", lambda m: errors.append(m.text) if m.type == "error" and "422" not in m.text else None)
    owner.goto(links["owner@brightline.example"])
    owner.get_by_test_id("continue").click()
    expect(owner).to_have_url(f"{live_server.url}/studio/")
    recent = owner.get_by_test_id("dash-recent-item").first
    expect(recent).to_contain_text("Alice Andrews")
    expect(recent).to_contain_text("approved a deliverable: Homepage mockup")
    expect(owner.get_by_test_id("dash-feedback")).to_contain_text("Store locator")
    expect(owner.get_by_test_id("dash-waiting")).to_contain_text("Intro video")
    expect(owner.get_by_test_id("dash-waiting")).not_to_contain_text("Homepage mockup")
    expect(owner.get_by_test_id("studio-projects")).to_contain_text("Website redesign")
    fits(owner, width)
    if javascript:
        accessible(owner)
    shot(owner, f"dashboard-{label}")
    recent.get_by_role("link").click()
    expect(owner.get_by_test_id("deliverable-title")).to_contain_text("Homepage mockup")

    # The Activity page lists it too, filterable to clients only.
    owner.get_by_role("navigation", name="Studio").get_by_role("link", name="Activity").click()
    owner.get_by_label("Who").select_option("clients")
    owner.get_by_test_id("activity-filter").click()
    expect(owner).to_have_url(re.compile(r"/studio/activity\?.*actor=clients"))
    expect(owner.get_by_test_id("activity-row").first).to_contain_text("Approved a deliverable")
    fits(owner, width)
    if javascript:
        accessible(owner)
    shot(owner, f"activity-{label}")

    # The inbox: the owner opens alice's message and replies.
    owner.get_by_role("navigation", name="Studio").get_by_role("link", name="Inbox").click()
    item = owner.get_by_test_id("inbox-item").filter(has_text="Store locator")
    expect(item).to_contain_text("Alice Andrews")
    fits(owner, width)
    if javascript:
        accessible(owner)
    shot(owner, f"inbox-{label}")
    item.get_by_test_id("inbox-open").click()
    owner.get_by_test_id("reply-submit").click()  # empty first: the error shows beside the field
    expect(owner.locator("#error-body")).to_have_text("Write your reply.")
    owner.get_by_label("Your reply").fill(REPLY)
    owner.get_by_test_id("reply-submit").click()
    expect(owner.get_by_test_id("inbox-reply")).to_contain_text(REPLY)
    owner.get_by_label("Assigned to").select_option(index=0)  # Nobody
    owner.get_by_test_id("assign-submit").click()
    expect(owner.get_by_test_id("inbox-assignee")).to_contain_text("Not assigned")
    fits(owner, width)
    if javascript:
        accessible(owner)
    shot(owner, f"inbox-task-{label}")

    # The project's Feedback tab in the studio.
    owner.get_by_role("link", name="Website redesign").first.click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Website redesign")
    expect(owner.get_by_role("navigation", name="Project sections").locator("[aria-current=page]")).to_have_text("Feedback")
    expect(owner.get_by_test_id("inbox-item")).to_contain_text("1 reply")
    fits(owner, width)
    shot(owner, f"project-feedback-{label}")

    # Alice sees the reply on her Feedback tab.
    alice.get_by_test_id("project-tabs").get_by_role("link", name="Feedback").click()
    reply = alice.get_by_test_id("feedback-reply")
    expect(reply).to_contain_text(REPLY)
    fits(alice, width)
    shot(alice, f"portal-feedback-{label}")
    assert errors == []


def test_the_owner_sees_an_approval_and_replies_to_feedback(browser: Browser, fresh_db):
    check(browser, fresh_db, javascript=True, width=1280)


def test_the_same_on_a_phone_without_javascript(browser: Browser, fresh_db):
    check(browser, fresh_db, javascript=False, width=375)
