"""Preview as client in Chromium: the owner opens the portal as alice sees it, read-only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_deliverables_studio import sign_in_owner
from tests.e2e.test_quality import serious_violations

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 375])
def test_the_owner_previews_the_portal_as_a_client(browser, fresh_db, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    failed: list[str] = []
    page.on("console", lambda message: failed.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    sign_in_owner(page, fresh_db)
    page.goto(f"{fresh_db.url}/studio/projects")
    page.get_by_role("link", name="Website redesign").first.click()
    page.get_by_role("link", name="Client access").click()
    page.get_by_test_id("preview").first.click()
    bar = page.get_by_test_id("preview-bar")
    expect(bar).to_contain_text("Nothing here can be changed")
    expect(page.locator("fieldset.preview-frame")).to_have_attribute("disabled", "")
    page.get_by_role("link", name="Deliverables").first.click()
    expect(page).to_have_url(re.compile(r"/studio/preview/\d+/projects/\d+/deliverables$"))
    expect(bar).to_be_visible()
    # every button in the client's page is disabled: nothing can be approved or sent
    enabled = page.locator("fieldset.preview-frame button:enabled")
    expect(enabled).to_have_count(0)
    # axe takes every element inside a disabled fieldset for unfocusable, so it reports
    # the phone's scrolling tab strip; browsers do focus links there: prove it by keyboard.
    reached = False
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.tabs')"):
            reached = True
            break
    assert reached, "the tab strip cannot be reached by keyboard"
    violations = [v for v in serious_violations(page) if not v.startswith("scrollable-region-focusable")]
    assert violations == []
    overflowing = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")
    assert not overflowing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"preview-deliverables-{width}.png"), full_page=True)
    assert failed == []
    context.close()
