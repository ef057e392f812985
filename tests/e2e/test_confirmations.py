"""Destructive studio actions ask first: revoking a client's access, removing a team member."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_links

pytestmark = pytest.mark.e2e


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812}, java_script_enabled=False)
def test_revoke_and_remove_ask_before_they_act(page: Page, fresh_db, screenshot):
    links = demo_links(fresh_db)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    page.get_by_role("link", name="Projects").first.click()
    page.get_by_role("link", name="Website redesign").first.click()
    page.get_by_role("link", name="Client access").click()

    row = page.get_by_test_id("access-row").filter(has_text="alice@northwind.example")
    row.get_by_test_id("revoke").click()
    expect(row.get_by_test_id("revoke-form")).to_contain_text("Revoke Alice Andrews's access to Website redesign?")
    expect(row).to_contain_text("Active")  # nothing happened yet
    screenshot("revoke-confirm-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    row.get_by_test_id("confirm-revoke").click()
    expect(page.get_by_test_id("access-row").filter(has_text="alice@northwind.example")).to_contain_text("Revoked")

    page.goto(f"{fresh_db.url}/studio/team")
    member = page.get_by_role("row").filter(has=page.get_by_test_id("remove-member")).first
    name = member.locator("td").first.inner_text().split("\n")[0]
    member.get_by_test_id("remove-member").click()
    expect(member.get_by_test_id("remove-member-form")).to_contain_text(re.compile(rf"Remove {re.escape(name)}"))
    expect(member).to_contain_text("Active")
    member.get_by_test_id("confirm-remove-member").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("Removed")
